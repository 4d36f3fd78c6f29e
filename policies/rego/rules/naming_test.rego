package charter.rules.naming_test

import rego.v1

import data.charter.rules.fixtures_test.base
import data.charter.rules.fixtures_test.field
import data.charter.rules.fixtures_test.paths
import data.charter.rules.fixtures_test.product
import data.charter.rules.naming

test_base_is_clean if {
	count(naming.deny_invalid_product_id) == 0 with input as base
	count(naming.deny_domain_mismatch) == 0 with input as base
	count(naming.deny_field_not_snake_case) == 0 with input as base
	count(naming.deny_duplicate_field) == 0 with input as base
}

# invalid_product_id

test_invalid_product_id_camel_case if {
	paths(naming.deny_invalid_product_id) == {"id"} with input as product({"id": "inventory.StockAdjustments", "domain": "inventory"})
}

test_invalid_product_id_without_domain if {
	paths(naming.deny_invalid_product_id) == {"id"} with input as product({"id": "order_events"})
}

test_invalid_product_id_two_dots if {
	paths(naming.deny_invalid_product_id) == {"id"} with input as product({"id": "orders.order.events"})
}

test_valid_product_id_kebab_domain if {
	count(naming.deny_invalid_product_id) == 0 with input as product({"id": "customer-engagement.web_sessions", "domain": "customer-engagement"})
}

test_invalid_product_id_settings_pattern if {
	# a central team that allows camelCase product names
	count(naming.deny_invalid_product_id) == 0 with input as product({"id": "inventory.StockAdjustments", "domain": "inventory"})
		with data.charter.settings as {"naming": {"product_pattern": `^[a-z][a-z0-9-]*\.[A-Za-z][A-Za-z0-9_]*$`}}
}

# domain_mismatch

test_domain_mismatch if {
	findings := naming.deny_domain_mismatch with input as product({"id": "orders.stock_reservations", "domain": "inventory"})
	paths(findings) == {"id"}
	some f in findings
	contains(f.msg, "`inventory`")
}

test_domain_match if {
	count(naming.deny_domain_mismatch) == 0 with input as product({"id": "inventory.stock_reservations", "domain": "inventory"})
}

test_domain_mismatch_ignores_id_without_dot if {
	# reported by invalid_product_id instead
	count(naming.deny_domain_mismatch) == 0 with input as product({"id": "orders"})
}

# field_not_snake_case

test_field_not_snake_case if {
	fields := array.concat(base.fields, [field("returnReason", {}), field("Region", {}), field("2nd_line", {})])
	paths(naming.deny_field_not_snake_case) == {"fields[5].name", "fields[6].name", "fields[7].name"} with input as product({"fields": fields})
}

test_field_snake_case if {
	fields := array.concat(base.fields, [field("return_reason", {}), field("line2", {})])
	count(naming.deny_field_not_snake_case) == 0 with input as product({"fields": fields})
}

test_field_not_snake_case_reports_each_occurrence if {
	fields := [field("returnReason", {}), field("order_id", {}), field("returnReason", {})]
	paths(naming.deny_field_not_snake_case) == {"fields[0].name", "fields[2].name"} with input as product({"fields": fields})
}

test_field_not_snake_case_empty_schema if {
	count(naming.deny_field_not_snake_case) == 0 with input as product({"fields": []})
}

test_field_pattern_from_settings if {
	fields := [field("ORDER_ID", {})]
	count(naming.deny_field_not_snake_case) == 0 with input as product({"fields": fields})
		with data.charter.settings as {"naming": {"field_pattern": `^[A-Za-z][A-Za-z0-9_]*$`}}
}

# A pattern without `^` and `$` must still match each name whole: here each name holds
# one match, but `ab1` is not all of it.
test_field_pattern_unanchored_matches_whole_names if {
	fields := [field("ab1", {}), field("cd", {})]
	paths(naming.deny_field_not_snake_case) == {"fields[0].name"} with input as product({"fields": fields})
		with data.charter.settings as {"naming": {"field_pattern": `[a-z]+`}}
}

test_field_pattern_default_without_settings if {
	fields := [field("returnReason", {}), field("ok_name", {})]
	paths(naming.deny_field_not_snake_case) == {"fields[0].name"} with input as product({"fields": fields})
		with data.charter.settings as {}
}

# duplicate_field

test_duplicate_field if {
	fields := [field("order_id", {}), field("amount", {}), field("order_id", {})]
	paths(naming.deny_duplicate_field) == {"fields[2].name"} with input as product({"fields": fields})
}

test_no_duplicate_field if {
	count(naming.deny_duplicate_field) == 0 with input as base
}

# Fields as Charter reads them (each with its table and path) take the direct path.
test_duplicate_field_in_one_table if {
	fields := [
		field("order_id", {"table": "orders", "path": "order_id"}),
		field("order_id", {"table": "lines", "path": "order_id"}),
		field("order_id", {"table": "orders", "path": "order_id"}),
	]
	paths(naming.deny_duplicate_field) == {"fields[2].name"} with input as product({"fields": fields})
}

test_same_column_in_two_tables_is_no_duplicate if {
	fields := [field("order_id", {"table": "orders", "path": "order_id"}), field("order_id", {"table": "lines", "path": "order_id"})]
	count(naming.deny_duplicate_field) == 0 with input as product({"fields": fields})
}

# One field without a path: the others' paths and its name are compared.
test_duplicate_field_with_an_empty_path if {
	fields := [field("a", {"table": "t", "path": "a"}), field("b", {"table": "t", "path": "b"}), field("a", {"table": "t", "path": ""})]
	paths(naming.deny_duplicate_field) == {"fields[2].name"} with input as product({"fields": fields})
}

test_product_pattern_default_without_settings if {
	count(naming.deny_invalid_product_id) == 0 with input as base with data.charter.settings as {}
	count(naming.deny_invalid_product_id) == 1 with input as product({"id": "orders.OrderEvents"}) with data.charter.settings as {}
}
