package charter.rules.sizes_test

import rego.v1

import data.charter.rules.sizes

# Only the first rule is tested: its lines are covered, the second rule's are not.
test_too_many_fields if {
	fields := [{"name": sprintf("f%d", [i])} | some i in numbers.range(1, 201)]
	count(sizes.deny_too_many_fields) == 1 with input as {"fields": fields}
}
