package charter.rules.versioning_test

import rego.v1

import data.charter.rules.fixtures_test.base
import data.charter.rules.fixtures_test.paths
import data.charter.rules.fixtures_test.product
import data.charter.rules.versioning

test_base_is_clean if {
	count(versioning.deny_invalid_semver) == 0 with input as base
	count(versioning.deny_unknown_status) == 0 with input as base
	count(versioning.warn_missing_status) == 0 with input as base
}

# invalid_semver

test_invalid_semver if {
	every version in ["v2", "2", "1.2", "v1.2.3", "1.2.3.4", "01.2.3", "1.02.3", "1.0.0-01", "1.0.0-", "1.0.0+", "latest", "", 2] {
		paths(versioning.deny_invalid_semver) == {"version"} with input as product({"version": version})
	}
}

test_valid_semver if {
	every version in ["0.3.0", "1.2.3", "10.20.30", "2.0.0-rc.1", "1.0.0+build.5", "1.0.0-alpha.beta", "1.0.0-0A.is.legal", "1.0.0+001"] {
		count(versioning.deny_invalid_semver) == 0 with input as product({"version": version})
	}
}

# unknown_status

test_unknown_status if {
	findings := versioning.deny_unknown_status with input as product({"status": "live"})
	paths(findings) == {"status"}
	some f in findings
	contains(f.msg, "`live`")
}

test_known_statuses if {
	every status in ["draft", "active", "deprecated", "retired"] {
		count(versioning.deny_unknown_status) == 0 with input as product({"status": status})
	}
}

test_statuses_from_settings if {
	count(versioning.deny_unknown_status) == 0 with input as product({"status": "live"})
		with data.charter.settings as {"versioning": {"statuses": ["live"]}}
}

# missing_status

test_missing_status if {
	paths(versioning.warn_missing_status) == {"status"} with input as product({"status": null})
	count(versioning.deny_unknown_status) == 0 with input as product({"status": null})
}

test_status_declared if {
	count(versioning.warn_missing_status) == 0 with input as product({"status": "draft"})
}

test_statuses_default_without_settings if {
	count(versioning.deny_unknown_status) == 1 with input as product({"status": "live"}) with data.charter.settings as {}
	count(versioning.deny_unknown_status) == 0 with input as base with data.charter.settings as {}
}
