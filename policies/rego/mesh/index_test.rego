package charter.mesh.index_test

import rego.v1

import data.charter.mesh.identity
import data.charter.mesh.lineage
import data.charter.mesh.pii

# `a` reads a deprecated `b` and an unknown `ghost`, and copies `b`'s PII `email` unmarked;
# `b` is declared twice; `c` does not list `a`, which names it downstream.
products := [
	{"id": "a", "status": "active", "source": {"file": "a.yaml"}, "fields": [{"name": "email", "pii": false}], "lineage": {"upstream": ["b", "raw.x", "ghost"], "downstream": ["c"]}},
	{"id": "b", "status": "deprecated", "source": {"file": "b.yaml"}, "fields": [{"name": "email", "pii": true}], "lineage": {"upstream": [], "downstream": []}},
	{"id": "b", "status": "active", "source": {"file": "b2.yaml"}, "fields": [{"name": "phone", "pii": true}], "lineage": {"upstream": [], "downstream": []}},
	{"id": "c", "status": "active", "source": {"file": "c.yaml"}, "fields": [], "lineage": {"upstream": [], "downstream": []}},
]

# What Charter supplies at `data.charter.index.contracts` for these products.
index := {"a": {0}, "b": {1, 2}, "c": {3}}

findings := {
	"identity": identity.deny_duplicate_product_id,
	"unresolved": lineage.deny_unresolved_reference,
	"deprecated": lineage.warn_deprecated_upstream,
	"backlink": lineage.warn_missing_backlink,
	"pii": pii.deny_unmarked_upstream_pii,
}

products_of(found) := {area: sort([f.product | some f in found[area]; f.product]) | some area in object.keys(found)}

test_every_rule_finds_what_it_should if {
	found := findings with data.charter.products as products
	count(found.identity) == 2
	products_of(found) == {"identity": [], "unresolved": ["a"], "deprecated": ["a"], "backlink": ["a"], "pii": ["a"]}
}

# The index is a shortcut: the rules find the same with and without it.
test_the_index_changes_no_finding if {
	without := findings with data.charter.products as products
	given := findings with data.charter.products as products with data.charter.index.contracts as index
	without == given
}

# No duplicate at all: the identity rule stops before building any identity.
test_no_duplicate_no_finding if {
	count(identity.deny_duplicate_product_id) == 0 with data.charter.products as [p | some i, p in products; i != 2]
}
