package charter.rules.access_test

import rego.v1

import data.charter.rules.access
import data.charter.rules.fixtures_test.base
import data.charter.rules.fixtures_test.paths
import data.charter.rules.fixtures_test.product

test_base_is_clean if {
	count(access.deny_missing_roles) == 0 with input as base
	count(access.deny_unknown_role) == 0 with input as base
	count(access.warn_missing_classification) == 0 with input as base
	count(access.deny_unknown_classification) == 0 with input as base
}

# missing_roles

test_missing_roles if {
	paths(access.deny_missing_roles) == {"access.roles"} with input as product({"access": {"roles": []}})
}

test_missing_roles_no_access_section if {
	paths(access.deny_missing_roles) == {"access.roles"} with input as object.remove(base, ["access"])
}

test_roles_declared if {
	count(access.deny_missing_roles) == 0 with input as product({"access": {"roles": ["analyst"]}})
}

# unknown_role

test_unknown_role if {
	findings := access.deny_unknown_role with input as product({"access": {"roles": ["marketing-analyst", "superuser"]}})
	paths(findings) == {"access.roles[1]"}
	some f in findings
	contains(f.msg, "`superuser`")
}

test_catalogue_roles_are_known if {
	roles := ["analyst", "data-scientist", "finance-analyst", "marketing-analyst", "ops-analyst", "support-agent", "pii-reader", "restricted-reader", "global-reader"]
	count(access.deny_unknown_role) == 0 with input as product({"access": {"roles": roles}})
}

test_role_catalogue_from_settings if {
	count(access.deny_unknown_role) == 0 with input as product({"access": {"roles": ["superuser"]}})
		with data.charter.settings as {"access": {"roles": ["superuser"]}}
}

# missing_classification

test_missing_classification if {
	paths(access.warn_missing_classification) == {"classification"} with input as product({"classification": null})
	count(access.deny_unknown_classification) == 0 with input as product({"classification": null})
}

test_classification_declared if {
	count(access.warn_missing_classification) == 0 with input as product({"classification": "public"})
}

# unknown_classification

test_unknown_classification if {
	paths(access.deny_unknown_classification) == {"classification"} with input as product({"classification": "secret"})
}

test_known_classifications if {
	every class in ["public", "internal", "confidential", "restricted"] {
		count(access.deny_unknown_classification) == 0 with input as product({"classification": class})
	}
}

test_role_catalogue_default_without_settings if {
	count(access.deny_unknown_role) == 0 with input as base with data.charter.settings as {}
	count(access.deny_unknown_role) == 1 with input as product({"access": {"roles": ["analyst", "superuser"]}})
		with data.charter.settings as {}
}
