//! The shape of the harness, checked: every module belongs to a layer, imports only from
//! its own layer or the ones below it, and no modules import each other in a loop. Read
//! from the source (`use crate::…`, `super::…` and child-module paths, test modules left
//! out), so the check needs nothing beyond the standard library.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers from the bottom up; a module may import from its own layer and those before.
pub const LAYERS: [&str; 7] = [
    "model", "analysis", "sys", "store", "pipeline", "present", "app",
];

/// A module of the crate by its path (`["pipeline", "engine", "wall"]`), and its code
/// before its test module.
struct Module {
    path: Vec<String>,
    file: PathBuf,
    code: String,
}

fn modules(src: &Path) -> Vec<Module> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("reading the source tree") {
            let path = entry.expect("reading the source tree").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(src).ok()?.with_extension("");
            let mut path: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if path.last().is_some_and(|l| l == "mod") {
                path.pop();
            }
            if path == ["lib"] || path == ["main"] || path == ["layers"] {
                return None;
            }
            let text = std::fs::read_to_string(&file).expect("reading a source file");
            let code = text
                .lines()
                .take_while(|l| !l.starts_with("#[cfg(test)]"))
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            Some(Module { path, file, code })
        })
        .collect()
}

/// Lower-case path segments after `start` in `code`: `crate::a::b::C` gives `[a, b]`.
fn paths_after<'c>(code: &'c str, start: &'c str) -> impl Iterator<Item = Vec<String>> + 'c {
    code.match_indices(start).filter_map(move |(at, _)| {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            return None;
        }
        let mut segments = Vec::new();
        let mut rest = &code[at + start.len()..];
        while let Some(next) = rest.strip_prefix("::") {
            let name: String = next
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if name.is_empty() || next[name.len()..].starts_with(|c: char| c.is_alphanumeric()) {
                break;
            }
            rest = &next[name.len()..];
            segments.push(name);
        }
        Some(segments)
    })
}

/// The modules each module imports, by path.
fn imports(modules: &[Module]) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let known: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    // The longest known module a path names (`crate::store::load` names `store`).
    let resolve = |path: Vec<String>| -> Option<Vec<String>> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| known.contains(p))
    };
    let mut graph = BTreeMap::new();
    for module in modules {
        let mut targets = BTreeSet::new();
        for path in paths_after(&module.code, "crate") {
            targets.extend(resolve(path));
        }
        let parent = &module.path[..module.path.len() - 1];
        for path in paths_after(&module.code, "super") {
            let mut full = parent.to_vec();
            let mut rest = path.as_slice();
            while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
                full.pop();
                rest = tail;
            }
            full.extend(rest.iter().cloned());
            targets.extend(resolve(full));
        }
        // Paths through a child module (`engine::wall::Sampling` in `pipeline`).
        for child in known.iter().filter(|k| k.len() == module.path.len() + 1) {
            if !child.starts_with(&module.path) {
                continue;
            }
            let name = child.last().expect("a child has a name");
            let through = format!("{name}::");
            let mentioned = module.code.match_indices(&through).any(|(at, _)| {
                !module.code[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            });
            if mentioned {
                targets.insert(child.clone());
            }
        }
        targets.remove(&module.path);
        targets.retain(|t| !t.is_empty());
        graph.insert(module.path.clone(), targets);
    }
    graph
}

/// The groups of modules that import each other in a loop (strongly connected components
/// of more than one module), by Tarjan's algorithm.
fn cycles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct State<'g> {
        graph: &'g BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'g Vec<String>, usize>,
        low: BTreeMap<&'g Vec<String>, usize>,
        stack: Vec<&'g Vec<String>>,
        on_stack: BTreeSet<&'g Vec<String>>,
        found: Vec<Vec<Vec<String>>>,
    }
    fn visit<'g>(s: &mut State<'g>, node: &'g Vec<String>) {
        let n = s.index.len();
        s.index.insert(node, n);
        s.low.insert(node, n);
        s.stack.push(node);
        s.on_stack.insert(node);
        for next in s.graph.get(node).into_iter().flatten() {
            let Some((next, _)) = s.graph.get_key_value(next) else {
                continue;
            };
            if !s.index.contains_key(next) {
                visit(s, next);
                let low = s.low[node].min(s.low[next]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(next) {
                let low = s.low[node].min(s.index[next]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut group = Vec::new();
            while let Some(member) = s.stack.pop() {
                s.on_stack.remove(member);
                group.push(member.clone());
                if member == node {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.found.push(group);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    fn name(path: &[String]) -> String {
        path.join("::")
    }

    #[test]
    fn layers_import_downward_only() {
        let modules = modules(&src());
        let rank = |path: &[String]| LAYERS.iter().position(|l| *l == path[0]);
        let mut problems = Vec::new();
        for module in &modules {
            if rank(&module.path).is_none() {
                problems.push(format!(
                    "{} belongs to no layer ({})",
                    module.file.display(),
                    LAYERS.join(", ")
                ));
            }
        }
        for (from, targets) in imports(&modules) {
            for to in targets {
                if let (Some(a), Some(b)) = (rank(&from), rank(&to))
                    && b > a
                {
                    problems.push(format!(
                        "{} ({}) imports {} ({}), a layer above it",
                        name(&from),
                        LAYERS[a],
                        name(&to),
                        LAYERS[b]
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn no_modules_import_each_other_in_a_loop() {
        let found = cycles(&imports(&modules(&src())));
        let text: Vec<String> = found
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|m| name(m))
                    .collect::<Vec<_>>()
                    .join(" ↔ ")
            })
            .collect();
        assert!(found.is_empty(), "import cycles:\n{}", text.join("\n"));
    }

    #[test]
    fn clap_appears_only_in_the_app_layer() {
        let outside: Vec<String> = modules(&src())
            .into_iter()
            .filter(|m| m.path[0] != "app" && m.code.contains("clap"))
            .map(|m| m.file.display().to_string())
            .collect();
        assert!(outside.is_empty(), "clap outside app/: {outside:?}");
    }

    #[test]
    fn the_checker_sees_imports_cycles_and_upward_paths() {
        let code = "use crate::store::{Seal, load};\nlet x = super::super::model::record::RunRecord::default();\n";
        let paths: Vec<Vec<String>> = paths_after(code, "crate").collect();
        assert_eq!(paths, [vec!["store".to_string()]]);
        let supers: Vec<Vec<String>> = paths_after(code, "super").collect();
        assert_eq!(supers[0], ["super", "model", "record"]);
        let a = vec!["a".to_string()];
        let b = vec!["b".to_string()];
        let c = vec!["c".to_string()];
        let graph = BTreeMap::from([
            (a.clone(), BTreeSet::from([b.clone()])),
            (b.clone(), BTreeSet::from([a.clone()])),
            (c.clone(), BTreeSet::from([a.clone()])),
        ]);
        assert_eq!(cycles(&graph), [vec![a, b]]);
    }
}
