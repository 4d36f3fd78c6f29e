package charter.rules.quality_test

import rego.v1

import data.charter.rules.fixtures_test.base
import data.charter.rules.fixtures_test.field
import data.charter.rules.fixtures_test.paths
import data.charter.rules.fixtures_test.product
import data.charter.rules.quality

check(name, kind, threshold) := {"field": name, "assertion": "a", "kind": kind, "threshold": threshold}

test_base_is_clean if {
	count(quality.deny_missing_checks) == 0 with input as base
	count(quality.deny_threshold_out_of_range) == 0 with input as base
	count(quality.deny_unknown_field) == 0 with input as base
	count(quality.deny_primary_key_not_null) == 0 with input as base
}

# missing_checks

test_missing_checks if {
	paths(quality.deny_missing_checks) == {"quality"} with input as product({"quality": []})
}

test_one_check_is_enough if {
	count(quality.deny_missing_checks) == 0 with input as product({"quality": [check(null, "row_count", null)]})
}

# threshold_out_of_range

test_threshold_out_of_range if {
	checks := [check("order_id", "not_null", 1.5), check("amount", "range", 0.5), check("amount", "range", -0.1)]
	paths(quality.deny_threshold_out_of_range) == {"quality[0].threshold", "quality[2].threshold"} with input as product({"quality": checks})
}

test_threshold_bounds_are_in_range if {
	checks := [check("order_id", "not_null", 0), check("order_id", "not_null", 1), check("amount", "range", null)]
	count(quality.deny_threshold_out_of_range) == 0 with input as product({"quality": checks})
}

# unknown_field

test_unknown_field if {
	checks := array.concat(base.quality, [check("net_revenue_eur", "range", null)])
	findings := quality.deny_unknown_field with input as product({"quality": checks})
	paths(findings) == {"quality[3].field"}
	some f in findings
	contains(f.msg, "`net_revenue_eur`")
}

# Fields as Charter reads them (each with its table and path) take the direct path.
test_unknown_field_of_a_table if {
	fields := [field("order_id", {"table": "orders", "path": "order_id"}), field("line_id", {"table": "lines", "path": "line_id"})]
	checks := [
		{"field": "order_id", "table": "orders", "assertion": "a", "kind": "not_null", "threshold": 1.0},
		{"field": "order_id", "table": "lines", "assertion": "b", "kind": "not_null", "threshold": 1.0},
		{"field": "line_id", "assertion": "c", "kind": "not_null", "threshold": 1.0},
	]
	paths(quality.deny_unknown_field) == {"quality[1].field"} with input as product({"fields": fields, "quality": checks})
}

test_check_without_field_is_fine if {
	count(quality.deny_unknown_field) == 0 with input as product({"quality": [check(null, "row_count", null)]})
}

# primary_key_not_null

test_primary_key_not_null if {
	fields := [field("return_id", {"primary_key": true, "nullable": false}), field("order_id", {})]
	checks := [check("order_id", "not_null", null), check("return_id", "unique", null)]
	paths(quality.deny_primary_key_not_null) == {"fields[0].primary_key"} with input as product({"fields": fields, "quality": checks})
}

test_primary_key_not_null_without_checks if {
	paths(quality.deny_primary_key_not_null) == {"fields[0].primary_key"} with input as product({"quality": []})
}

test_composite_primary_key if {
	fields := [field("order_date", {"primary_key": true}), field("region", {"primary_key": true})]
	checks := [check("order_date", "not_null", null)]
	paths(quality.deny_primary_key_not_null) == {"fields[1].primary_key"} with input as product({"fields": fields, "quality": checks})
	count(quality.deny_primary_key_not_null) == 0 with input as product({"fields": fields, "quality": array.concat(checks, [check("region", "not_null", null)])})
}
