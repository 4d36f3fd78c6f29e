package charter.rules.sla_test

import rego.v1

import data.charter.rules.fixtures_test.base
import data.charter.rules.fixtures_test.paths
import data.charter.rules.fixtures_test.product
import data.charter.rules.sla

test_base_is_clean if {
	count(sla.deny_missing_freshness) == 0 with input as base
	count(sla.deny_missing_availability) == 0 with input as base
	count(sla.deny_availability_too_low) == 0 with input as base
}

# missing_freshness

test_missing_freshness if {
	paths(sla.deny_missing_freshness) == {"sla.freshness"} with input as product({"sla": {"freshness": null}})
}

test_missing_freshness_no_sla_at_all if {
	paths(sla.deny_missing_freshness) == {"sla.freshness"} with input as object.remove(base, ["sla"])
}

test_freshness_declared if {
	count(sla.deny_missing_freshness) == 0 with input as product({"sla": {"availability": null}})
}

# missing_availability

test_missing_availability if {
	paths(sla.deny_missing_availability) == {"sla.availability"} with input as product({"sla": {"availability": null}})
}

test_missing_availability_is_not_too_low if {
	count(sla.deny_availability_too_low) == 0 with input as product({"sla": {"availability": null}})
}

test_availability_declared if {
	count(sla.deny_missing_availability) == 0 with input as product({"sla": {"freshness": null}})
}

# availability_too_low

test_availability_too_low if {
	findings := sla.deny_availability_too_low with input as product({"sla": {"availability": 95}})
	paths(findings) == {"sla.availability"}
}

test_availability_at_the_minimum if {
	count(sla.deny_availability_too_low) == 0 with input as product({"sla": {"availability": 99.0}})
	count(sla.deny_availability_too_low) == 1 with input as product({"sla": {"availability": 98.99}})
}

test_availability_minimum_from_settings if {
	count(sla.deny_availability_too_low) == 1 with input as base
		with data.charter.settings as {"sla": {"min_availability": 99.95}}
}

test_sla_default_without_settings if {
	count(sla.deny_availability_too_low) == 1 with input as product({"sla": {"availability": 98.5}}) with data.charter.settings as {}
	count(sla.deny_availability_too_low) == 0 with input as base with data.charter.settings as {}
}
