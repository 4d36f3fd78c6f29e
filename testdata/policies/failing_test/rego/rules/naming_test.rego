package charter.rules.naming_test

import rego.v1

import data.charter.rules.naming

test_uppercase_id_is_denied if {
	count(naming.deny_uppercase_id) == 1 with input as {"id": "Sales.Orders"}
}

# Wrong on purpose: a lowercase id raises nothing.
test_lowercase_id_is_denied if {
	ids := naming.deny_uppercase_id with input as {"id": "sales.orders"}
	count(ids) == 1
}

todo_ids_with_digits if {
	count(naming.deny_uppercase_id) == 0 with input as {"id": "sales.orders2"}
}
