package charter.mesh.lineage_test

import rego.v1

import data.charter.mesh.lineage

# a → b → c → a is a cycle; d reads a but is not on it; e is its own upstream.
products := [
	{"id": "a", "lineage": {"upstream": ["b"], "downstream": []}},
	{"id": "b", "lineage": {"upstream": ["c"], "downstream": []}},
	{"id": "c", "lineage": {"upstream": ["a", "raw.events"], "downstream": []}},
	{"id": "d", "lineage": {"upstream": ["a"], "downstream": []}},
	{"id": "e", "lineage": {"upstream": ["e"], "downstream": []}},
]

cyclic(findings) := {f.product | some f in findings}

# Without Charter's index (another engine, a hand-written input) every product is checked.
test_cycle_without_the_index if {
	cyclic(lineage.deny_lineage_cycle) == {"a", "b", "c", "e"} with data.charter.products as products
}

# With it, only the indexed products are checked, and the rule still decides.
test_cycle_with_the_index if {
	cyclic(lineage.deny_lineage_cycle) == {"a", "b", "c", "e"} with data.charter.products as products
		with data.charter.lineage.on_cycle as {"a", "b", "c", "e"}
}

test_the_index_is_not_trusted_blindly if {
	cyclic(lineage.deny_lineage_cycle) == {"a"} with data.charter.products as products
		with data.charter.lineage.on_cycle as {"a", "d"}
}

test_an_empty_index_checks_nothing if {
	count(lineage.deny_lineage_cycle) == 0 with data.charter.products as products
		with data.charter.lineage.on_cycle as set()
}
