# Ownership: every product has an accountable owner that can be reached.
package charter.rules.ownership

import rego.v1

# METADATA
# title: No owner
# description: >-
#   Every product names the team accountable for it: who fixes it when it breaks,
#   who answers access requests, who is paged.
# custom:
#   severity: error
#   remediation: Add `spec.owner` (e.g. `team-orders@acme.example`), or in ODCS a team member with role `Owner`.
deny_missing_owner contains {"msg": "the product has no owner", "path": "owner"} if {
	object.get(input, "owner", null) == null
}

# METADATA
# title: Owner is not an email nor a team handle
# description: >-
#   The owner must be reachable: an email address, or a team handle such as
#   `team-payments` or `@team-payments` (the central `ownership.owner_pattern`),
#   not a person's login.
# custom:
#   severity: error
#   remediation: Use the owning team's address (e.g. `team-billing@acme.example`) or handle (`@team-billing`).
deny_invalid_owner contains {"msg": msg, "path": "owner"} if {
	owner := input.owner
	owner != null
	pattern := object.get(data.charter.settings, ["ownership", "owner_pattern"], `^(?:[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}|@?team-[a-z0-9]+(?:-[a-z0-9]+)*)$`)
	not regex.match(pattern, owner)
	msg := sprintf("owner `%v` is neither an email address nor a team handle", [owner])
}
