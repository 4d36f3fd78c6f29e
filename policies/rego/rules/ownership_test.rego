package charter.rules.ownership_test

import rego.v1

import data.charter.rules.fixtures_test.base
import data.charter.rules.fixtures_test.paths
import data.charter.rules.fixtures_test.product
import data.charter.rules.ownership

test_base_is_clean if {
	count(ownership.deny_missing_owner) == 0 with input as base
	count(ownership.deny_invalid_owner) == 0 with input as base
}

# missing_owner

test_missing_owner_null if {
	paths(ownership.deny_missing_owner) == {"owner"} with input as product({"owner": null})
}

test_missing_owner_absent_key if {
	paths(ownership.deny_missing_owner) == {"owner"} with input as object.remove(base, ["owner"])
}

test_missing_owner_not_invalid if {
	count(ownership.deny_invalid_owner) == 0 with input as product({"owner": null})
}

test_owner_present if {
	count(ownership.deny_missing_owner) == 0 with input as product({"owner": "@team-orders"})
}

# invalid_owner

test_invalid_owner_login if {
	findings := ownership.deny_invalid_owner with input as product({"owner": "bob"})
	paths(findings) == {"owner"}
	some f in findings
	contains(f.msg, "`bob`")
}

test_invalid_owner_examples if {
	every owner in ["@bob", "team-", "team_orders", "bob@localhost", "two words@acme.example", ""] {
		count(ownership.deny_invalid_owner) == 1 with input as product({"owner": owner})
	}
}

test_valid_owner_examples if {
	every owner in ["team-billing@acme.example", "jane.doe+data@acme.co.uk", "team-orders", "@team-customer-engagement"] {
		count(ownership.deny_invalid_owner) == 0 with input as product({"owner": owner})
	}
}

test_owner_pattern_from_settings if {
	count(ownership.deny_invalid_owner) == 0 with input as product({"owner": "bob"})
		with data.charter.settings as {"ownership": {"owner_pattern": `^[a-z]+$`}}
}

test_owner_pattern_default_without_settings if {
	count(ownership.deny_invalid_owner) == 1 with input as product({"owner": "bob"}) with data.charter.settings as {}
	count(ownership.deny_invalid_owner) == 0 with input as base with data.charter.settings as {}
}
