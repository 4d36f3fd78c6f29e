package charter.rules.retention_test

import rego.v1

import data.charter.rules.fixtures_test.base
import data.charter.rules.fixtures_test.field
import data.charter.rules.fixtures_test.paths
import data.charter.rules.fixtures_test.product
import data.charter.rules.retention

test_base_is_clean if {
	count(retention.deny_missing_retention) == 0 with input as base
	count(retention.deny_retention_too_long) == 0 with input as base
}

# missing_retention

test_missing_retention_with_pii if {
	paths(retention.deny_missing_retention) == {"retention"} with input as product({"retention": null})
}

test_missing_retention_without_pii_is_fine if {
	fields := [field("order_id", {"primary_key": true}), field("amount", {})]
	count(retention.deny_missing_retention) == 0 with input as product({"retention": null, "fields": fields})
}

test_retention_declared if {
	count(retention.deny_missing_retention) == 0 with input as base
}

# retention_too_long

test_retention_too_long if {
	r := {"period": {"text": "1825d", "seconds": 157680000}, "days": 1825}
	findings := retention.deny_retention_too_long with input as product({"retention": r, "classification": "confidential"})
	paths(findings) == {"retention.period"}
	some f in findings
	contains(f.msg, "1095")
}

test_retention_at_the_limit if {
	every class, days in {"public": 3650, "internal": 1825, "confidential": 1095, "restricted": 400} {
		r := {"period": {"text": sprintf("%dd", [days]), "seconds": days * 86400}, "days": days}
		count(retention.deny_retention_too_long) == 0 with input as product({"retention": r, "classification": class})
	}
}

test_retention_one_day_over_the_limit if {
	every class, days in {"public": 3651, "internal": 1826, "confidential": 1096, "restricted": 401} {
		r := {"period": {"text": sprintf("%dd", [days]), "seconds": days * 86400}, "days": days}
		count(retention.deny_retention_too_long) == 1 with input as product({"retention": r, "classification": class})
	}
}

test_retention_unknown_classification_is_not_judged if {
	r := {"period": {"text": "9999d", "seconds": 863913600}, "days": 9999}
	count(retention.deny_retention_too_long) == 0 with input as product({"retention": r, "classification": "secret"})
	count(retention.deny_retention_too_long) == 0 with input as product({"retention": r, "classification": null})
}

test_retention_limits_from_settings if {
	count(retention.deny_retention_too_long) == 1 with input as base
		with data.charter.settings as {"retention": {"max_days": {"confidential": 30}}}
}

test_retention_limits_default_without_settings if {
	r := {"period": {"text": "1825d", "seconds": 157680000}, "days": 1825}
	count(retention.deny_retention_too_long) == 1 with input as product({"retention": r, "classification": "confidential"})
		with data.charter.settings as {}
	count(retention.deny_retention_too_long) == 0 with input as product({"retention": r, "classification": "internal"})
		with data.charter.settings as {}
}
