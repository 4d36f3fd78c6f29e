package charter.rules.pii_test

import rego.v1

import data.charter.rules.fixtures_test.base
import data.charter.rules.fixtures_test.field
import data.charter.rules.fixtures_test.paths
import data.charter.rules.fixtures_test.product
import data.charter.rules.pii

test_base_is_clean if {
	count(pii.deny_masking_required) == 0 with input as base
	count(pii.deny_masking_method_unknown) == 0 with input as base
	count(pii.warn_unmarked_pii) == 0 with input as base
}

# masking_required

test_masking_required if {
	fields := [field("session_id", {}), field("ip_address", {"pii": true})]
	paths(pii.deny_masking_required) == {"fields[1].masking"} with input as product({"fields": fields})
}

test_masking_required_not_for_non_pii if {
	fields := [field("session_id", {}), field("user_agent", {})]
	count(pii.deny_masking_required) == 0 with input as product({"fields": fields})
}

test_masking_present if {
	every method in ["hash", "redact", "nullify", "last4"] {
		count(pii.deny_masking_required) == 0 with input as product({"fields": [field("ip_address", {"pii": true, "masking": method})]})
	}
}

# masking_method_unknown

test_masking_method_unknown if {
	fields := [field("customer_id", {"pii": true, "masking": "hash"}), field("device_fingerprint", {"pii": true, "masking": "scramble"})]
	findings := pii.deny_masking_method_unknown with input as product({"fields": fields})
	paths(findings) == {"fields[1].masking"}
	some f in findings
	contains(f.msg, "`scramble`")
}

test_masking_method_unknown_not_when_missing if {
	count(pii.deny_masking_method_unknown) == 0 with input as product({"fields": [field("ip_address", {"pii": true})]})
}

test_masking_methods_from_settings if {
	fields := [field("device_fingerprint", {"pii": true, "masking": "scramble"})]
	count(pii.deny_masking_method_unknown) == 0 with input as product({"fields": fields})
		with data.charter.settings as {"pii": {"masking_methods": ["scramble"]}}
	paths(pii.deny_masking_method_unknown) == {"fields[0].masking"} with input as product({"fields": [field("x", {"pii": true, "masking": "hash"})]})
		with data.charter.settings as {"pii": {"masking_methods": ["scramble"]}}
}

# unmarked_pii

test_unmarked_pii if {
	fields := [
		field("send_id", {}),
		field("email", {}),
		field("customer_phone_number", {}),
		field("ip_address", {}),
		field("date_of_birth", {}),
		field("Shipping_Address", {}),
		field("first_name", {}),
		field("passport_no", {}),
		field("iban", {}),
		field("phone2", {}),
	]
	paths(pii.warn_unmarked_pii) == {sprintf("fields[%d].pii", [i]) | some i in numbers.range(1, 9)} with input as product({"fields": fields})
}

test_unmarked_pii_no_false_positives if {
	fields := [
		field("shipment_id", {}), field("zip_code", {}), field("postal_code", {}), field("description", {}),
		field("tip_amount", {}), field("ipo_date", {}), field("email_campaigns_count", {"transform": "aggregate"}),
		field("warehouse_name", {}), field("addressee_count", {}), field("sku", {}),
	]
	count(pii.warn_unmarked_pii) == 0 with input as product({"fields": fields})
}

test_unmarked_pii_not_when_marked if {
	fields := [field("email", {"pii": true, "masking": "hash"}), field("phone", {"pii": true, "masking": "last4"})]
	count(pii.warn_unmarked_pii) == 0 with input as product({"fields": fields})
}

test_unmarked_pii_not_when_transformed if {
	count(pii.warn_unmarked_pii) == 0 with input as product({"fields": [field("email_sha256", {"transform": "hash"})]})
}

test_unmarked_pii_only_the_unmarked_one if {
	# the same name marked once and unmarked once: only the unmarked field is reported
	fields := [field("email", {"pii": true, "masking": "hash"}), field("email", {})]
	paths(pii.warn_unmarked_pii) == {"fields[1].pii"} with input as product({"fields": fields})
}

test_unmarked_pii_pattern_from_settings if {
	paths(pii.warn_unmarked_pii) == {"fields[0].pii"} with input as product({"fields": [field("licence_plate", {})]})
		with data.charter.settings as {"pii": {"name_pattern": `(?:^|_)licence_plate(?:$|_)`}}
}

test_unmarked_pii_default_without_settings if {
	paths(pii.warn_unmarked_pii) == {"fields[0].pii"} with input as product({"fields": [field("email", {})]})
		with data.charter.settings as {}
}

test_masking_methods_default_without_settings if {
	count(pii.deny_masking_method_unknown) == 0 with input as base with data.charter.settings as {}
	count(pii.deny_masking_method_unknown) == 1 with input as product({"fields": [field("x", {"pii": true, "masking": "scramble"})]})
		with data.charter.settings as {}
}
