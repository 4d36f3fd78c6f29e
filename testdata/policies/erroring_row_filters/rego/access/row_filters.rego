# Fail-closed fixture (engine/tests/fail_closed.rs): a row-filter rule that fails at
# evaluation time for every request, each way a different kind of runtime error.
package charter.access

import rego.v1

# Conflicting values: two complete definitions of `mode` that both hold.
mode := "numeric" if input.principal.id
mode := "text" if input.principal.id

# A runtime type error: a principal id (a string) in arithmetic.
row_filters contains {"column": column, "op": "=", "value": value} if {
	kind := mode
	some column in input.product.column_names
	value := input.principal.id + kind
}
