# Lineage across the repository: references resolve, the graph has no cycles, and both
# ends of an edge agree.
package charter.mesh.lineage

ids := {p.id | some p in data.charter.products}

# Per product id, the indices of its contracts in `data.charter.products` (one, unless
# the id is duplicated): the rules below look contracts up here instead of scanning
# every product for every id. Charter supplies it at `data.charter.index.contracts`;
# without it (another engine, a hand-written test) it is built here.
contracts := data.charter.index.contracts

contracts := by_id if not data.charter.index.contracts

by_id[p.id] contains i if {
	some i, p in data.charter.products
}

# Upstream edges between products of this repository. Grouped by id, so two contracts
# with one id (a duplicate, reported by `identity`) merge their edges instead of failing.
upstream_graph[id] := {u |
	some i in at
	some u in data.charter.products[i].lineage.upstream
	u in ids
} if {
	some id, at in contracts
}

# The ids that can lie on a cycle. Charter supplies the members of the upstream graph's
# cycles at `data.charter.lineage.on_cycle` (strongly connected components, found in
# linear time), so the reachability check below runs only for them; without it (another
# engine, a hand-written test) every product is checked.
cycle_candidates := data.charter.lineage.on_cycle

cycle_candidates := ids if not data.charter.lineage.on_cycle

external_patterns := object.get(data.charter.settings, ["lineage", "external_sources"], ["raw.**"])

external(name) if {
	some pattern in external_patterns
	glob.match(pattern, ["."], name)
}

# METADATA
# title: Lineage names an unknown product
# description: >-
#   Every upstream and downstream reference must be a product in the repository, or an
#   external source the central settings list (`lineage.external_sources`, e.g. `raw.*`).
# custom:
#   severity: error
#   remediation: Fix the reference's spelling, add the missing product, or ask the central team to list the external source.
deny_unresolved_reference contains {"msg": msg, "product": p.id, "path": sprintf("lineage.%s[%d]", [direction, i])} if {
	# Most references resolve: find the few that do not over all of them at once, and
	# look at single products only when there are some.
	count(unresolved) > 0
	some p in data.charter.products
	some direction in ["upstream", "downstream"]
	some i, ref in p.lineage[direction]
	unresolved[ref]
	msg := sprintf("%s reference `%s` is neither a product of this repository nor a known external source", [direction, ref])
}

# The references, in either direction, to neither a product nor a known external source.
unresolved := {ref |
	some ref in ({r | some p in data.charter.products; some r in p.lineage.upstream} | {r | some p in data.charter.products; some r in p.lineage.downstream}) - ids
	not external(ref)
}

# METADATA
# title: Lineage cycle
# description: A product that is, through its upstreams, its own upstream cannot be built or reasoned about.
# custom:
#   severity: error
#   remediation: Remove the upstream edge that closes the cycle.
deny_lineage_cycle contains {"msg": msg, "product": id, "path": "lineage.upstream"} if {
	some id in cycle_candidates
	ups := upstream_graph[id]
	id in graph.reachable(upstream_graph, ups)
	msg := sprintf("product `%s` is its own upstream through its lineage", [id])
}

# METADATA
# title: Downstream does not list its upstream back
# description: >-
#   When a product names a downstream consumer, the consumer's contract should name the
#   product as an upstream: lineage declared at one end only is usually stale.
# custom:
#   severity: warning
#   remediation: Add the product to the consumer's `lineage.upstream`, or remove the stale downstream.
warn_missing_backlink contains {"msg": msg, "product": p.id, "path": sprintf("lineage.downstream[%d]", [i])} if {
	some p in data.charter.products
	some i, down in p.lineage.downstream
	some j in object.get(contracts, down, set())
	consumer := data.charter.products[j]
	not p.id in consumer.lineage.upstream
	msg := sprintf("downstream `%s` does not list `%s` as an upstream", [down, p.id])
}

# METADATA
# title: Reads a retired or deprecated product
# description: An active product should not depend on an upstream that is being retired.
# custom:
#   severity: warning
#   remediation: Move to the upstream's replacement before it is retired.
warn_deprecated_upstream contains {"msg": msg, "product": p.id, "path": sprintf("lineage.upstream[%d]", [i])} if {
	count(retiring) > 0
	some p in data.charter.products
	object.get(p, "status", null) == "active"
	some i, up in p.lineage.upstream
	retiring[up]
	some j in object.get(contracts, up, set())
	status := object.get(data.charter.products[j], "status", null)
	status in {"deprecated", "retired"}
	msg := sprintf("upstream `%s` is %s", [up, status])
}

# The ids of the products (of some contract) being retired: most upstreams are not.
retiring := {p.id | some p in data.charter.products; object.get(p, "status", null) in {"deprecated", "retired"}}
