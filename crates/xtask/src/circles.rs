//! `cargo run -p xtask -- circles`: import circles between the source files of each crate.
//!
//! A file imports another when it names an item through a `crate::` (or `self::`) path that leads
//! into the other's module, in a `use` or anywhere in its code. A child reaching up into its
//! parent (`super::`, or a `crate::` path to an ancestor) is Rust's ordinary nesting and is not
//! counted; a parent naming its child is. A circle is a set of files each reachable from every
//! other: none of them can be read, tested or moved without the rest.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use eyre::{Result, WrapErr};
use syn::visit::Visit;

/// One import circle: its files, and which names tie each edge.
#[derive(Debug, PartialEq, Eq)]
pub struct Circle {
    /// The files, as paths relative to the repository.
    pub files: Vec<String>,
    /// `(from, to, names)` for every edge inside the circle.
    pub edges: Vec<(String, String, Vec<String>)>,
}

/// The circles of every crate under `crates/`, and how many files were read.
pub fn find(root: &Path) -> Result<(Vec<Circle>, usize)> {
    let mut circles = Vec::new();
    let mut read = 0;
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .wrap_err("reading crates/")?
        .filter_map(|e| e.ok().map(|e| e.path().join("src")))
        .filter(|src| src.is_dir())
        .collect();
    crates.sort();
    for src in crates {
        let files = module_files(&src)?;
        read += files.len();
        let mut sources = BTreeMap::new();
        for (module, path) in &files {
            let text = std::fs::read_to_string(path)
                .wrap_err_with(|| format!("reading {}", path.display()))?;
            let shown = path
                .strip_prefix(root)
                .unwrap_or(path)
                .display()
                .to_string();
            sources.insert(module.clone(), (shown, text));
        }
        circles.extend(circles_in(&sources)?);
    }
    Ok((circles, read))
}

/// A crate's modules: module path (`["network", "attest"]`) to file. Binaries under `src/bin`
/// are crates of their own and are left out.
fn module_files(src: &Path) -> Result<BTreeMap<Vec<String>, PathBuf>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(src.to_path_buf(), Vec::<String>::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).wrap_err_with(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_dir() {
                if prefix.is_empty() && name == "bin" {
                    continue;
                }
                let mut module = prefix.clone();
                module.push(name);
                stack.push((path, module));
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut module = prefix.clone();
                if !(matches!(stem, "mod") || (prefix.is_empty() && matches!(stem, "lib" | "main")))
                {
                    module.push(stem.to_string());
                }
                out.insert(module, path);
            }
        }
    }
    Ok(out)
}

/// The circles among one crate's `sources` (module path to shown path and text).
fn circles_in(sources: &BTreeMap<Vec<String>, (String, String)>) -> Result<Vec<Circle>> {
    let modules: BTreeSet<&Vec<String>> = sources.keys().collect();
    // edges[from][to] = names
    let mut edges: BTreeMap<&Vec<String>, BTreeMap<&Vec<String>, BTreeSet<String>>> =
        BTreeMap::new();
    for (module, (shown, text)) in sources {
        let file = syn::parse_file(text).map_err(|e| {
            let at = e.span().start();
            eyre::eyre!("{shown}:{}:{}: {e}", at.line, at.column + 1)
        })?;
        let mut paths = Paths::default();
        paths.visit_file(&file);
        for path in paths.found {
            let Some(absolute) = absolute(module, &path, &modules) else {
                continue;
            };
            // The longest module the path leads into.
            let Some(target) = (0..=absolute.len())
                .rev()
                .map(|n| absolute[..n].to_vec())
                .find_map(|prefix| modules.get(&prefix).copied())
            else {
                continue;
            };
            if target == module || module.starts_with(target) {
                continue; // itself, or an ancestor
            }
            let name = absolute[target.len()..]
                .first()
                .cloned()
                .unwrap_or_else(|| "*".into());
            edges
                .entry(module)
                .or_default()
                .entry(target)
                .or_default()
                .insert(name);
        }
    }
    let components = strongly_connected(&modules, &edges);
    Ok(components
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|component| {
            let inside: BTreeSet<&Vec<String>> = component.iter().copied().collect();
            let mut circle_edges = Vec::new();
            for from in &component {
                for (to, names) in edges.get(from).into_iter().flatten() {
                    if inside.contains(to) {
                        circle_edges.push((
                            sources[*from].0.clone(),
                            sources[*to].0.clone(),
                            names.iter().cloned().collect(),
                        ));
                    }
                }
            }
            let mut files: Vec<String> = component.iter().map(|m| sources[*m].0.clone()).collect();
            files.sort();
            circle_edges.sort();
            Circle {
                files,
                edges: circle_edges,
            }
        })
        .collect())
}

/// Where `path`, named in `module`, leads: `crate::`, `self::` and `super::` paths, and paths that
/// start with a child module's name; `None` for anything else (other crates, local items).
fn absolute(
    module: &[String],
    path: &[String],
    modules: &BTreeSet<&Vec<String>>,
) -> Option<Vec<String>> {
    let mut rest = path;
    let mut base: Vec<String> = match rest.first()?.as_str() {
        "crate" => {
            rest = &rest[1..];
            Vec::new()
        }
        "self" => {
            rest = &rest[1..];
            module.to_vec()
        }
        "super" => {
            let mut base = module.to_vec();
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
            base
        }
        child => {
            let mut child_module = module.to_vec();
            child_module.push(child.to_string());
            if !modules.contains(&child_module) {
                return None;
            }
            module.to_vec()
        }
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

type Graph<'a> = BTreeMap<&'a Vec<String>, BTreeMap<&'a Vec<String>, BTreeSet<String>>>;

/// Tarjan's strongly connected components.
fn strongly_connected<'a>(
    nodes: &BTreeSet<&'a Vec<String>>,
    edges: &Graph<'a>,
) -> Vec<Vec<&'a Vec<String>>> {
    struct State<'a> {
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on_stack: BTreeSet<&'a Vec<String>>,
        out: Vec<Vec<&'a Vec<String>>>,
    }
    fn visit<'a>(v: &'a Vec<String>, edges: &Graph<'a>, s: &mut State<'a>) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in edges.get(v).into_iter().flat_map(|m| m.keys().copied()) {
            if !s.index.contains_key(w) {
                visit(w, edges, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in nodes {
        if !s.index.contains_key(*v) {
            visit(v, edges, &mut s);
        }
    }
    s.out
}

/// Every path a file names, as segments, with `use` trees expanded.
#[derive(Default)]
struct Paths {
    found: Vec<Vec<String>>,
}

impl Paths {
    fn tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.found.push(segments(prefix, &n.ident)),
            syn::UseTree::Rename(r) => self.found.push(segments(prefix, &r.ident)),
            syn::UseTree::Glob(_) => self.found.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.tree(prefix, item);
                }
            }
        }
    }
}

fn segments(prefix: &[String], last: &syn::Ident) -> Vec<String> {
    let mut path = prefix.to_vec();
    if last != "self" {
        path.push(last.to_string());
    }
    path
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.found
            .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    // Paths inside macro calls (`tracing::info!`, `format!`) are token streams, not parsed: an
    // import made only there is missed, which errs towards reporting fewer circles, never more.
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_of(files: &[(&str, &str)]) -> BTreeMap<Vec<String>, (String, String)> {
        files
            .iter()
            .map(|(module, text)| {
                let path: Vec<String> = module
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                (path, (format!("src/{module}.rs"), (*text).to_string()))
            })
            .collect()
    }

    #[test]
    fn a_circle_through_a_parent_naming_its_child_is_found() {
        let sources = crate_of(&[
            ("", "mod dispatch; mod network;"),
            (
                "dispatch",
                "use crate::network::Assignment; pub fn request() {}",
            ),
            (
                "network",
                "pub mod attest; pub struct Assignment; use attest::now;",
            ),
            (
                "network/attest",
                "pub fn now() { crate::dispatch::request() }",
            ),
        ]);
        let circles = circles_in(&sources).expect("parses");
        assert_eq!(circles.len(), 1);
        assert_eq!(
            circles[0].files,
            ["src/dispatch.rs", "src/network.rs", "src/network/attest.rs"]
        );
        assert!(circles[0].edges.contains(&(
            "src/network/attest.rs".into(),
            "src/dispatch.rs".into(),
            vec!["request".into()]
        )));
    }

    #[test]
    fn a_sibling_reached_through_super_counts() {
        let sources = crate_of(&[
            ("", "mod net;"),
            ("net", "mod a; mod b;"),
            ("net/a", "use super::b::B; pub struct A;"),
            (
                "net/b",
                "pub struct B; fn f() -> super::a::A { super::a::A }",
            ),
        ]);
        let circles = circles_in(&sources).expect("parses");
        assert_eq!(circles.len(), 1, "{circles:?}");
        assert_eq!(circles[0].files, ["src/net/a.rs", "src/net/b.rs"]);
    }

    #[test]
    fn a_child_using_its_parent_and_a_chain_of_siblings_are_no_circle() {
        let sources = crate_of(&[
            ("", "mod a; mod b; mod node; pub const X: u8 = 1;"),
            ("a", "use crate::b::{B, other};"),
            ("b", "pub struct B; pub fn other() {}"),
            ("node", "mod follow; use follow::go; pub const C: u8 = 0;"),
            ("node/follow", "use super::C; use crate::X; pub fn go() {}"),
        ]);
        assert_eq!(circles_in(&sources).expect("parses"), Vec::new());
    }

    #[test]
    fn a_file_that_does_not_parse_is_named_with_its_line() {
        let sources = crate_of(&[("", "fn ok() {}\nfn broken( {")]);
        let error = circles_in(&sources)
            .expect_err("does not parse")
            .to_string();
        assert!(error.starts_with("src/.rs:2:"), "{error}");
    }
}
