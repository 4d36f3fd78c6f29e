package charter.rules.naming

import rego.v1

# METADATA
# title: Product id not lowercase
# description: Product ids are lowercase, so that they compare equal everywhere.
# custom:
#   remediation: Rename the product in lowercase.
deny_uppercase_id contains {"msg": msg, "path": "id"} if {
	input.id != lower(input.id)
	msg := sprintf("product id `%s` is not lowercase", [input.id])
}
