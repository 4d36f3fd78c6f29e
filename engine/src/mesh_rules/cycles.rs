//! The products that lie on a cycle of upstream edges, found in linear time.
//!
//! `deny_lineage_cycle` (`rego/mesh/lineage.rego`) asks, for a product, whether it is
//! reachable from its own upstreams. Asked of every product that costs a walk over its
//! ancestors each, which is quadratic on a mesh of long chains. Charter hands the rule
//! this index (`data.charter.lineage.on_cycle`) so it asks only of the products that can
//! be on a cycle; the rule still decides, and without the index it checks every product.

use std::collections::{BTreeSet, HashMap};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// The ids of the products that lie on a cycle of upstream edges between products of
/// the repository: the members of a strongly connected component of two or more ids,
/// and every id that names itself as an upstream. Contracts that share an id are one
/// node with their edges merged, as in the rule's `upstream_graph`.
///
/// `products` yields each contract's id and upstream references.
pub(crate) fn on_cycle<'a>(products: &[(&'a str, &'a [String])]) -> BTreeSet<&'a str> {
    let mut graph: DiGraph<&str, ()> = DiGraph::new();
    let mut nodes: HashMap<&str, NodeIndex> = HashMap::new();
    for &(id, _) in products {
        nodes.entry(id).or_insert_with(|| graph.add_node(id));
    }
    let mut on_cycle = BTreeSet::new();
    for &(id, upstreams) in products {
        let from = nodes[id];
        for upstream in upstreams {
            if let Some(&to) = nodes.get(upstream.as_str()) {
                graph.update_edge(from, to, ());
                if from == to {
                    on_cycle.insert(graph[from]);
                }
            }
        }
    }
    for component in tarjan_scc(&graph) {
        if component.len() > 1 {
            on_cycle.extend(component.into_iter().map(|node| graph[node]));
        }
    }
    on_cycle
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(id: &'static str, upstream: &[&str]) -> (&'static str, Vec<String>) {
        (id, upstream.iter().map(|u| (*u).to_owned()).collect())
    }

    fn cyclic(mesh: &[(&'static str, Vec<String>)]) -> Vec<String> {
        let products: Vec<(&str, &[String])> =
            mesh.iter().map(|(id, up)| (*id, up.as_slice())).collect();
        on_cycle(&products).into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn finds_the_members_of_every_cycle_and_nothing_else() {
        let mesh = [
            contract("a", &["b"]),
            contract("b", &["c"]),
            contract("c", &["a", "raw.events"]),
            contract("d", &["a"]),
            contract("e", &["e"]),
            contract("f", &[]),
            contract("g", &["f", "h"]),
            contract("h", &["f"]),
        ];
        assert_eq!(cyclic(&mesh), ["a", "b", "c", "e"]);
    }

    #[test]
    fn contracts_with_one_id_merge_their_edges() {
        // Neither contract of `x` closes a cycle alone; together they do.
        let mesh = [
            contract("x", &["y"]),
            contract("y", &[]),
            contract("x", &[]),
        ];
        assert!(cyclic(&mesh).is_empty());
        let mesh = [
            contract("x", &["y"]),
            contract("y", &["z"]),
            contract("z", &[]),
            contract("z", &["x"]),
        ];
        assert_eq!(cyclic(&mesh), ["x", "y", "z"]);
    }
}
