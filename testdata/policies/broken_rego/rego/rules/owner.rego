package charter.rules.owner

import rego.v1

# METADATA
# title: Missing owner
# description: Every product names its owner.
# custom:
#   remediation: Add `spec.owner`.
deny_missing_owner contains msg if {
	input.owner == null
	msg := concat(", ", ["no owner", input.id]
}
