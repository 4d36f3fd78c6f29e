# Row filters of access decisions: the predicates a query must AND into its WHERE clause.
#
# `row_filters` is a set of objects the engine turns into SQL:
#     {"column": "region", "op": "=", "value": "eu", "reason": "..."}
# `op` is `=`, `<>`, `in` or `not in` (the value a list for the last two). Rules never
# write SQL: the engine quotes the column and escapes every value. A filter with any
# other key is refused (the request is denied), never read as something it does not say.
#
# input:
#     principal: {id, roles, groups, attributes}   attributes: string -> string
#     product:   {id, domain, owner, classification, status, tags, roles,
#                 columns: [{name, type, pii, masking, classification, tags}],
#                 column_names: the set of the column names}
#     columns:   names of the columns the query reads (allowed or masked)
#     purpose:   string or null
#
# Evaluated only for products with a column in data.charter.settings.access_decisions.row_filter_columns.
package charter.access

import rego.v1

# A product with the filter's column, read by a principal with the filter's attribute
# and none of its exempt roles, sees only the rows of that attribute's value.
row_filters contains filter if {
	some rule in object.get(data.charter.settings, ["access_decisions", "attribute_filters"], [])
	rule.column in input.product.column_names
	value := object.get(input.principal.attributes, rule.attribute, null)
	is_string(value)
	not exempt(rule)
	filter := {
		"column": rule.column,
		"op": "=",
		"value": value,
		"reason": sprintf("rows limited to the principal's `%s`", [rule.attribute]),
	}
}

exempt(rule) if {
	some role in object.get(rule, "exempt_roles", [])
	role in input.principal.roles
}
