//! The shape of the source tree, checked so it stays true:
//!
//! - crates point one way: a crate depends on, and names, only crates before it in [`CRATES`]
//!   (its `[dependencies]` and its code outside tests; dev-dependencies are free);
//! - inside a crate, top-level modules point one way too: a module names only modules before it
//!   in the crate's [`MODULE_ORDER`] line;
//! - no import cycles between the files of a crate;
//! - no source file with more than [`MAX_CODE_LINES`] lines of code (the lines before its
//!   `#[cfg(test)]` module) unless [`LONG_FILES`] says why.
//!
//! A file's imports are what its code names through `crate::`, `super::` and `use` groups of
//! them; a module and its own submodules may name each other (containment, not a cycle).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace's crates by folder, lowest first: each may depend only on crates before it.
/// The domain (`shared`) and the API client at the bottom; the daemon's crates from storage up
/// to its process wiring (`server`); the CLIs' own crate and the two CLIs; tests and benchmarks
/// on top.
const CRATES: &[&str] = &[
    "shared", "client", "storage", "audit", "edge", "auth", "node", "proxy", "web", "server", "cli", "tsh", "tctl",
    "tests", "bench",
];

/// Per crate, its top-level modules lowest first: a module may name only modules before it.
/// Every top-level module of a listed crate must be listed.
const MODULE_ORDER: &[(&str, &[&str])] = &[
    (
        "shared",
        &[
            "current",
            "names",
            "duration",
            "pattern",
            "yaml",
            "identity",
            "template",
            "labels",
            "rolemap",
            "resource",
            "rbac",
            "api",
            "ssh_algorithms",
            "ssh_cert",
            "endorse",
            "proxy_header",
            "tls_cert",
            "totp",
            "tunnel",
        ],
    ),
    ("client", &["client", "credentials"]),
    ("storage", &["conformance", "records", "sqlite", "postgres"]),
    ("audit", &["events", "files", "queue", "read"]),
    ("edge", &["admission", "guarded", "client_addr", "listen", "limits", "ssh_config"]),
    (
        "auth",
        &[
            "sealed",
            "pkcs11",
            "keys",
            "password",
            "refusal",
            "tunnel_status",
            "base",
            "tokens",
            "certs",
            "rotation",
            "lockout",
            "login",
            "sessions",
            "trust",
            "nodes",
            "resources",
        ],
    ),
    ("node", &["inbound", "session", "sftp", "sshd", "cache", "identity", "renew", "service"]),
    ("proxy", &["dial", "tunnel", "relay"]),
    ("web", &["ratelimit", "leaf", "answer", "session", "terminal", "trust_routes", "ui", "handlers"]),
    ("server", &["config", "process"]),
    ("cli", &["pipe", "profile", "table"]),
    ("tsh", &["stdio", "handler", "forward", "ssh", "cli", "context", "clusters", "login", "multi", "nodes", "scp"]),
    ("tctl", &["cli", "output", "connect", "authcmd", "resources", "tokens", "trust", "users"]),
    ("tests", &["browser", "fixtures", "forwarder", "postgres"]),
];

/// The source roots checked: every crate's `src`.
fn roots() -> Vec<String> {
    CRATES.iter().map(|c| format!("{c}/src")).collect()
}

/// The most lines of code a file may hold before it should be split.
const MAX_CODE_LINES: usize = 600;

/// Files allowed past [`MAX_CODE_LINES`], each with the reason.
const LONG_FILES: &[(&str, &str)] = &[];

/// A module path inside one crate: `["node", "sshd", "policy"]`; empty for the crate root.
type ModPath = Vec<String>;

fn module_path(root: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(root).unwrap_or(file).with_extension("");
    let mut parts: ModPath = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    // Binaries under src/bin/ are crates of their own.
    if parts.first().is_some_and(|p| p == "bin") {
        return vec![format!("bin:{}", parts.join("/"))];
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code: everything before its test module, without comments.
fn code_of(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

/// Module paths a piece of code names; `super::` is resolved from `here`, the file's module.
fn references(code: &str, here: &ModPath) -> Vec<ModPath> {
    // `super` is the parent of the file's module, whether the file is `x.rs` or `x/mod.rs`.
    let parent_of = |ups: usize| -> Option<ModPath> { here.len().checked_sub(ups).map(|n| here[..n].to_vec()) };
    let mut out = Vec::new();
    let text = code;
    let mut i = 0;
    while let Some(pos) = text[i..].find("crate::").map(|p| p + i) {
        let before = text[..pos].chars().last();
        i = pos + "crate::".len();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `tether_crate::` or similar
        }
        out.extend(paths_at(&text[i..], &[]));
    }
    let mut i = 0;
    while let Some(pos) = text[i..].find("super::").map(|p| p + i) {
        let before = text[..pos].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            i = pos + 1;
            continue;
        }
        let mut ups = 0;
        let mut j = pos;
        while text[j..].starts_with("super::") {
            ups += 1;
            j += "super::".len();
        }
        i = j;
        if let Some(base) = parent_of(ups) {
            out.extend(paths_at(&text[j..], &base));
        }
    }
    out
}

/// The paths written at the start of `rest` (after `crate::` or `super::`), with `{a, b::c}`
/// groups expanded one level, each prefixed by `base`.
fn paths_at(rest: &str, base: &[String]) -> Vec<ModPath> {
    let ident = |s: &str| -> Vec<String> {
        let mut parts = Vec::new();
        for seg in s.split("::") {
            let seg: String = seg.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if seg.is_empty() {
                break;
            }
            parts.push(seg);
        }
        parts
    };
    let with_base = |p: Vec<String>| -> ModPath { base.iter().cloned().chain(p).collect() };
    if let Some(group) = rest.strip_prefix('{') {
        let inner = group.split('}').next().unwrap_or_default();
        return inner.split(',').map(ident).filter(|p| !p.is_empty() && p[0] != "self").map(with_base).collect();
    }
    // `a::b::{c, d}`: the prefix is enough to find the module.
    vec![with_base(ident(rest))]
}

struct Crate {
    files: BTreeMap<ModPath, PathBuf>,
    edges: BTreeMap<ModPath, BTreeSet<ModPath>>,
}

fn load(root: &Path) -> Crate {
    let mut paths = Vec::new();
    rust_files(root, &mut paths);
    let files: BTreeMap<ModPath, PathBuf> = paths.iter().map(|p| (module_path(root, p), p.clone())).collect();
    let mut edges = BTreeMap::new();
    for (module, path) in &files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut targets = BTreeSet::new();
        for r in references(&code_of(&text), module) {
            // The longest prefix that is a file of this crate.
            let found = (1..=r.len()).rev().map(|n| r[..n].to_vec()).find(|p| files.contains_key(p));
            if let Some(target) = found {
                let related = target.starts_with(module) || module.starts_with(&target);
                if !related {
                    targets.insert(target);
                }
            }
        }
        edges.insert(module.clone(), targets);
    }
    Crate { files, edges }
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct State<'a> {
        edges: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        found: Vec<Vec<ModPath>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a ModPath) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

fn name(m: &ModPath) -> String {
    if m.is_empty() { "crate".into() } else { m.join("::") }
}

#[test]
fn no_import_cycles_between_files() {
    let mut problems = Vec::new();
    for root in &roots() {
        let dir = tether_tests::workspace_root().join(root);
        assert!(dir.is_dir(), "{} is missing: update CRATES in tests/tests/layout.rs", dir.display());
        let krate = load(&dir);
        for component in cycles(&krate.edges) {
            let members: BTreeSet<&ModPath> = component.iter().collect();
            let mut lines = vec![format!("{root}: {}", component.iter().map(name).collect::<Vec<_>>().join(" <-> "))];
            for a in &component {
                for b in krate.edges.get(a).into_iter().flatten().filter(|b| members.contains(b)) {
                    lines.push(format!("    {} imports {}", name(a), name(b)));
                }
            }
            problems.push(lines.join("\n"));
        }
    }
    assert!(problems.is_empty(), "import cycles between files:\n{}", problems.join("\n"));
}

#[test]
fn no_source_file_past_the_size_limit_without_a_reason() {
    let mut long = Vec::new();
    for root in &roots() {
        let dir = tether_tests::workspace_root().join(root);
        for (_, path) in load(&dir).files {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().lines().count();
            let rel = path.strip_prefix(tether_tests::workspace_root()).unwrap_or(&path).display().to_string();
            if code > MAX_CODE_LINES && !LONG_FILES.iter().any(|(f, _)| *f == rel) {
                long.push(format!("{rel}: {code} lines of code"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_CODE_LINES} lines of code: split them on their seams, or add them to LONG_FILES with the reason:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checker_sees_a_cycle_and_ignores_containment() {
    let m = |s: &str| -> ModPath { if s.is_empty() { vec![] } else { s.split("::").map(String::from).collect() } };
    // `a.rs` naming `crate::b::X` and `b.rs` naming `crate::a::{Y, Z}`.
    assert_eq!(references("use crate::b::X;", &m("a")), vec![m("b::X")]);
    assert_eq!(references("use crate::{a::Y, c};", &m("b")), vec![m("a::Y"), m("c")]);
    // `super::` from `x/y.rs` is `x`; from `x/mod.rs` it is the crate root.
    assert_eq!(references("super::z::W", &m("x::y")), vec![m("x::z::W")]);
    assert_eq!(references("super::z::W", &m("x")), vec![m("z::W")]);
    assert_eq!(references("tether_crate::a", &m("b")), Vec::<ModPath>::new());
    let edges: BTreeMap<ModPath, BTreeSet<ModPath>> =
        [(m("a"), BTreeSet::from([m("b")])), (m("b"), BTreeSet::from([m("a")])), (m("c"), BTreeSet::from([m("a")]))]
            .into_iter()
            .collect();
    let found = cycles(&edges);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].iter().collect::<BTreeSet<_>>(), BTreeSet::from([&m("a"), &m("b")]));
}

/// The workspace crates (by folder) a crate's manifest lists under `[dependencies]`.
fn manifest_deps(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if let Some(name) = line.strip_prefix("tether-").and_then(|l| l.split(['.', ' ', '=']).next())
            && in_deps
        {
            out.push(name.to_string());
        }
    }
    out
}

/// The workspace crates (by folder) a piece of code names as `tether_NAME`.
fn named_crates(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut i = 0;
    while let Some(pos) = code[i..].find("tether_").map(|p| p + i) {
        let before = code[..pos].chars().last();
        i = pos + "tether_".len();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = code[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if CRATES.contains(&name.as_str()) {
            out.insert(name);
        }
    }
    out
}

/// Crate-direction problems: `crate` depending on or naming a crate not before it.
fn crate_direction_problems(krate: &str, manifest: &str, code_by_file: &[(String, String)]) -> Vec<String> {
    let rank = |c: &str| CRATES.iter().position(|x| *x == c);
    let Some(mine) = rank(krate) else { return vec![format!("{krate}: not in CRATES")] };
    let mut problems = Vec::new();
    for dep in manifest_deps(manifest) {
        if rank(&dep).is_none_or(|r| r >= mine) {
            problems.push(format!("{krate}/Cargo.toml depends on tether-{dep}, which is not below it"));
        }
    }
    for (file, code) in code_by_file {
        for named in named_crates(code) {
            if named != krate && rank(&named).is_none_or(|r| r >= mine) {
                problems.push(format!("{file} names tether_{named}, which is not below {krate}"));
            }
        }
    }
    problems
}

/// Module-direction problems inside one crate: an edge from a module to one not before it.
fn module_direction_problems(krate: &str, order: &[&str], loaded: &Crate) -> Vec<String> {
    let rank = |m: &str| order.iter().position(|x| *x == m);
    let mut problems = Vec::new();
    for module in loaded.files.keys() {
        if let Some(top) = module.first().filter(|t| !t.starts_with("bin:"))
            && rank(top).is_none()
        {
            problems.push(format!("{krate}: module {top} is not in its MODULE_ORDER line"));
        }
    }
    for (from, targets) in &loaded.edges {
        let Some(a) = from.first() else { continue };
        for to in targets {
            let Some(b) = to.first() else { continue };
            if a == b {
                continue;
            }
            if let (Some(ra), Some(rb)) = (rank(a), rank(b))
                && rb >= ra
            {
                problems.push(format!("{krate}: {} imports {}, which is not below {a}", name(from), name(to)));
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

fn crate_sources(krate: &str) -> (String, Vec<(String, String)>) {
    let root = tether_tests::workspace_root();
    let manifest = std::fs::read_to_string(root.join(krate).join("Cargo.toml")).unwrap_or_default();
    let mut paths = Vec::new();
    rust_files(&root.join(krate).join("src"), &mut paths);
    // Test modules in files of their own (`tests.rs`, `tests/`) may use dev-dependencies.
    let is_test = |p: &Path| p.components().any(|c| c.as_os_str() == "tests" || c.as_os_str() == "tests.rs");
    let code = paths
        .iter()
        .filter(|p| !is_test(p.strip_prefix(root.join(krate).join("src")).unwrap_or(p)))
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap_or(p).display().to_string();
            (rel, code_of(&std::fs::read_to_string(p).unwrap_or_default()))
        })
        .collect();
    (manifest, code)
}

#[test]
fn crates_depend_only_on_crates_below_them() {
    let mut problems = Vec::new();
    for krate in CRATES {
        let (manifest, code) = crate_sources(krate);
        assert!(!manifest.is_empty(), "{krate}/Cargo.toml is missing: update CRATES in tests/tests/layout.rs");
        problems.extend(crate_direction_problems(krate, &manifest, &code));
    }
    assert!(problems.is_empty(), "imports pointing up the crate order (CRATES):\n{}", problems.join("\n"));
}

#[test]
fn modules_import_only_modules_below_them() {
    let mut problems = Vec::new();
    for (krate, order) in MODULE_ORDER {
        let loaded = load(&tether_tests::workspace_root().join(krate).join("src"));
        problems.extend(module_direction_problems(krate, order, &loaded));
    }
    assert!(problems.is_empty(), "imports pointing up a MODULE_ORDER line:\n{}", problems.join("\n"));
}

#[test]
fn the_direction_checks_catch_an_injected_violation() {
    // The real storage crate, with one line added that names the auth crate above it.
    let (manifest, mut code) = crate_sources("storage");
    assert!(crate_direction_problems("storage", &manifest, &code).is_empty());
    code.push(("storage/src/injected.rs".into(), "use tether_auth::AuthService;".into()));
    let found = crate_direction_problems("storage", &manifest, &code);
    assert_eq!(found, ["storage/src/injected.rs names tether_auth, which is not below storage"]);
    let manifest = format!("{manifest}\n[dependencies]\ntether-web.workspace = true\n");
    assert!(
        crate_direction_problems("storage", &manifest, &[])
            .contains(&"storage/Cargo.toml depends on tether-web, which is not below it".to_string())
    );

    // The real auth crate, with `tunnel_status` (low) made to import `trust` (above it).
    let mut loaded = load(&tether_tests::workspace_root().join("auth/src"));
    let order = MODULE_ORDER.iter().find(|(k, _)| *k == "auth").map(|(_, o)| *o).unwrap();
    assert!(module_direction_problems("auth", order, &loaded).is_empty());
    loaded.edges.entry(vec!["tunnel_status".into()]).or_default().insert(vec!["trust".into()]);
    assert_eq!(
        module_direction_problems("auth", order, &loaded),
        ["auth: tunnel_status imports trust, which is not below tunnel_status"]
    );
}
