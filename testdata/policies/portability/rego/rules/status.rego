package charter.rules.status

import rego.v1

# METADATA
# title: Unknown status
# description: A product's status is one of the lifecycle statuses.
# custom:
#   remediation: Use draft, active, deprecated or retired.
deny_unknown_status contains {"msg": msg, "path": "status"} if {
	not input.status in {"draft", "active", "deprecated", "retired"}
	msg := "unknown status"
}

# METADATA
# title: Owner not a string
# description: The owner is a team handle or an email address.
# custom:
#   remediation: Write the owner as a string.
deny_owner_not_string contains {"msg": "the owner is not a string", "path": "owner"} if {
	not is_string(input.spec.owner)
}

# METADATA
# title: Portable
# description: The portable form, for comparison.
# custom:
#   remediation: Nothing to do.
deny_portable contains "no version" if {
	not is_string(object.get(input, "version", null))
}
