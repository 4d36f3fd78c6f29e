# Access: a product says who may read it, in terms the platform knows, and how
# sensitive it is.
package charter.rules.access

import rego.v1

# METADATA
# title: No access roles
# description: A product must declare the roles that may query it; without them only its owning team can read it.
# custom:
#   severity: error
#   remediation: Add `spec.access.roles` (e.g. `[analyst]`), or ODCS `roles` entries, with roles from the central catalogue.
deny_missing_roles contains {"msg": "the product declares no access roles", "path": "access.roles"} if {
	count(object.get(input, ["access", "roles"], [])) == 0
}

# METADATA
# title: Role not in the catalogue
# description: Every access role must come from the central role catalogue (`access.roles` in the settings); an unknown role grants nothing, or the wrong thing.
# custom:
#   severity: error
#   remediation: Use a role of the catalogue (analyst, data-scientist, finance-analyst...), or have the central team add the role.
deny_unknown_role contains {"msg": msg, "path": sprintf("access.roles[%d]", [i])} if {
	count(input.access.roles) > 0
	catalogue := {r | some r in object.get(data.charter.settings, ["access", "roles"], ["analyst", "data-scientist", "finance-analyst", "marketing-analyst", "ops-analyst", "support-agent", "pii-reader", "restricted-reader", "global-reader"])}
	some i, role in input.access.roles
	not catalogue[role]
	msg := sprintf("role `%v` is not in the role catalogue", [role])
}

# Roles that may only write (ODCS `access: write`) come from the same catalogue.
deny_unknown_role contains {"msg": msg, "path": sprintf("access.write_roles[%d]", [i])} if {
	write_roles := object.get(input.access, "write_roles", [])
	count(write_roles) > 0
	catalogue := {r | some r in object.get(data.charter.settings, ["access", "roles"], ["analyst", "data-scientist", "finance-analyst", "marketing-analyst", "ops-analyst", "support-agent", "pii-reader", "restricted-reader", "global-reader"])}
	some i, role in write_roles
	not catalogue[role]
	msg := sprintf("role `%v` is not in the role catalogue", [role])
}

# METADATA
# title: No classification
# description: >-
#   A product should declare its classification (public, internal, confidential,
#   restricted): who may read it and how long it may be kept depend on it.
# custom:
#   severity: warning
#   remediation: Add `spec.classification` (or an ODCS top-level custom property `classification`).
warn_missing_classification contains {"msg": "the product declares no classification", "path": "classification"} if {
	object.get(input, "classification", null) == null
}

# METADATA
# title: Unknown classification
# description: The classification must be one the central settings know (`access.classifications`), or the access and retention rules cannot apply.
# custom:
#   severity: error
#   remediation: Use one of public, internal, confidential, restricted.
deny_unknown_classification contains {"msg": msg, "path": "classification"} if {
	class := input.classification
	class != null
	known := {c | some c in object.get(data.charter.settings, ["access", "classifications"], ["public", "internal", "confidential", "restricted"])}
	not known[class]
	msg := sprintf("classification `%v` is not one of: %s", [class, concat(", ", sort(known))])
}
