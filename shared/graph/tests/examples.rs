//! The graph of every example definition holds together: each state is a node, each edge
//! joins two plain nodes that exist (never a container, which dagre cannot route to), each
//! nested node sits in a container or branch, and the machine starts once.

use std::collections::HashSet;

use serde_json::Value;
use waymark_graph::{build, state_id, NodeKind};

fn state_names(def: &Value, out: &mut Vec<String>) {
    let Some(states) = def.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, s) in states {
        out.push(name.clone());
        for b in s
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            state_names(b, out);
        }
        for p in [s.get("ItemProcessor"), s.get("Iterator")]
            .into_iter()
            .flatten()
        {
            state_names(p, out);
        }
    }
}

#[test]
fn every_example_has_a_whole_graph() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut checked = 0;
    for dir in std::fs::read_dir(root).unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if !path.to_string_lossy().ends_with(".asl.json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            waymark_asl::parse::parse_text(&text, &Default::default())
                .unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
            let def: Value = serde_json::from_str(&text).unwrap();
            let g = build(&def).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let ids: HashSet<&str> = g.nodes.iter().map(|n| n.id.as_str()).collect();
            assert_eq!(ids.len(), g.nodes.len(), "{}: ids repeat", path.display());
            let mut names = Vec::new();
            state_names(&def, &mut names);
            for name in &names {
                assert!(
                    ids.contains(state_id(name).as_str()),
                    "{}: {name}",
                    path.display()
                );
            }
            let compound: HashSet<&str> = g
                .nodes
                .iter()
                .filter(|n| matches!(n.kind, NodeKind::Container | NodeKind::Branch))
                .map(|n| n.id.as_str())
                .collect();
            for e in &g.edges {
                for end in [&e.from, &e.to] {
                    assert!(ids.contains(end.as_str()), "{}: {end}", path.display());
                    assert!(
                        !compound.contains(end.as_str()),
                        "{}: edge to {end}",
                        path.display()
                    );
                }
            }
            for n in &g.nodes {
                if let Some(p) = &n.parent {
                    assert!(
                        compound.contains(p.as_str()),
                        "{}: {} in {p}",
                        path.display(),
                        n.id
                    );
                }
            }
            assert_eq!(g.edges.iter().filter(|e| e.from == "start").count(), 1);
            assert!(g.edges.iter().any(|e| e.to == "end"), "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} examples found");
}
