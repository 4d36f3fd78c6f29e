package charter.rules.sizes

import rego.v1

# METADATA
# title: Too many fields
# description: A product has at most 200 fields.
# custom:
#   remediation: Split the product.
deny_too_many_fields contains msg if {
	count(input.fields) > 200
	msg := sprintf("%d fields, at most 200", [count(input.fields)])
}

# METADATA
# title: No fields
# description: A product has fields.
# custom:
#   remediation: Describe the product's schema.
warn_no_fields contains msg if {
	count(input.fields) == 0
	msg := "the product has no fields"
}
