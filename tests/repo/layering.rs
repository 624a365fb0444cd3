//! Dependencies point one way: every `crate::…` path in `src/` must be one its module's
//! row in `docs/architecture.md` allows. The table in the doc is the rule; this test
//! reads it, so the doc and the code cannot drift apart.

use crate::repo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules every module may use: `testkit` exists only in test builds, where the tests
/// beside each module use it (the kiosk binary cannot, it is not compiled in).
const ALWAYS: &[&str] = &["testkit"];

/// `module → modules it may use`, from the "may use" table of docs/architecture.md.
/// `all` allows everything.
fn allowed() -> BTreeMap<String, Option<BTreeSet<String>>> {
    let doc = std::fs::read_to_string(repo().join("docs/architecture.md")).expect("docs/architecture.md");
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Modules (`src/`)"))
        .expect("a section `## Modules (`src/`)…` in docs/architecture.md");
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 3, "table row with three cells: {line}");
        let module = cells[0].trim_matches('`').to_string();
        let uses = match cells[2] {
            "all" => None,
            "—" => Some(BTreeSet::new()),
            list => Some(
                list.split(',')
                    .map(|m| m.trim().trim_matches('`').to_string())
                    .collect(),
            ),
        };
        rows.insert(module, uses);
    }
    assert!(
        rows.len() >= 10,
        "the module table of docs/architecture.md was not found"
    );
    rows
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments (doc links name modules too, but are not uses) and
/// without string literals.
fn code_only(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' && !(i > 0 && b[i - 1] == b'\'') {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// Every top-level module named after `crate::` in `code`: plain paths and each item of a
/// grouped `crate::{a::…, b::{…}}`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `mycrate::` or `$crate::`
        }
        let tail = rest.trim_start();
        if let Some(group) = tail.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(ident(group[start..k].trim()).to_string());
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(group[start..k].trim()).to_string());
                        start = k + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(tail).to_string());
        }
    }
    found.remove("");
    found
}

#[test]
fn the_parser_sees_plain_grouped_and_nested_paths() {
    let code = code_only(
        "use crate::a::X;\nuse crate::{b::Y, c::{d, e}, f};\n// crate::g::h in a comment\nlet s = \"crate::i\"; crate::j::k();",
    );
    let want: BTreeSet<String> = ["a", "b", "c", "f", "j"].iter().map(|s| s.to_string()).collect();
    assert_eq!(uses(&code), want);
}

/// Every source file of `src/` with its top-level module and the modules it uses.
fn sources() -> Vec<(String, PathBuf, BTreeSet<String>)> {
    let src = repo().join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    files.sort();
    let mut out = vec![];
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_path_buf();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let used = uses(&code_only(&std::fs::read_to_string(&f).unwrap()));
        out.push((module, rel, used));
    }
    out
}

#[test]
fn layering_every_module_uses_only_what_docs_architecture_allows() {
    let table = allowed();
    let mut wrong = vec![];
    let mut seen_modules = BTreeSet::new();
    for (module, rel, used) in sources() {
        seen_modules.insert(module.clone());
        let Some(rule) = table.get(&module) else {
            wrong.push(format!(
                "src/{}: module `{module}` has no row in docs/architecture.md",
                rel.display()
            ));
            continue;
        };
        for used in used {
            if used == module || ALWAYS.contains(&used.as_str()) {
                continue;
            }
            if !table.contains_key(&used) {
                wrong.push(format!(
                    "src/{}: `crate::{used}` is not a module of the table",
                    rel.display()
                ));
            } else if rule.as_ref().is_some_and(|may| !may.contains(&used)) {
                wrong.push(format!("src/{}: `{module}` may not use `{used}`", rel.display()));
            }
        }
    }
    for m in table.keys() {
        assert!(
            seen_modules.contains(m),
            "docs/architecture.md lists `{m}`, which src/ does not have"
        );
    }
    assert!(wrong.is_empty(), "imports against the layering:\n{}", wrong.join("\n"));
}

#[test]
fn layering_the_table_has_no_cycle() {
    let table = allowed();
    // Depth-first search for a back edge.
    fn visit<'a>(
        m: &'a str,
        table: &'a BTreeMap<String, Option<BTreeSet<String>>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(m) {
            return;
        }
        assert!(
            !path.contains(&m),
            "the may-use table has a cycle: {} → {m}",
            path.join(" → ")
        );
        path.push(m);
        if let Some(Some(uses)) = table.get(m) {
            for u in uses {
                visit(u, table, path, done);
            }
        }
        path.pop();
        done.insert(m);
    }
    let mut done = BTreeSet::new();
    for m in table.keys() {
        visit(m, &table, &mut vec![], &mut done);
    }
}

/// The text diagram of docs/architecture.md: each module and what it uses, top layer first
/// (the table's order, reversed).
fn diagram() -> String {
    let table = allowed();
    let mut actual: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, _, used) in sources() {
        let e = actual.entry(module.clone()).or_default();
        e.extend(
            used.into_iter()
                .filter(|u| *u != module && !ALWAYS.contains(&u.as_str())),
        );
    }
    // The table lists modules bottom-up; keep its order.
    let doc = std::fs::read_to_string(repo().join("docs/architecture.md")).unwrap();
    let order: Vec<String> = doc
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .next()
                .unwrap()
                .trim()
                .trim_matches('`')
                .to_string()
        })
        .filter(|m| table.contains_key(m))
        .collect();
    let width = order.iter().map(String::len).max().unwrap_or(0);
    let mut out = String::from("```\n");
    for m in order.iter().rev() {
        let used: Vec<&str> = actual
            .get(m)
            .map(|s| s.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let line = if used.is_empty() {
            format!("{m:<width$}")
        } else {
            format!("{m:<width$} ──▶ {}", used.join(", "))
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

#[test]
fn layering_diagram_in_docs_architecture_matches_the_code() {
    let path = repo().join("docs/architecture.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- layering:begin -->\n", "<!-- layering:end -->");
    let i = doc
        .find(begin)
        .expect("a `<!-- layering:begin -->` marker in docs/architecture.md")
        + begin.len();
    let j = doc[i..].find(end).expect("a `<!-- layering:end -->` marker") + i;
    let want = diagram();
    if std::env::var_os("KIOSK_WRITE_DIAGRAM").is_some() {
        // Write beside and rename: the other layering tests read this file concurrently.
        let tmp = path.with_extension("md.tmp");
        std::fs::write(&tmp, format!("{}{want}{}", &doc[..i], &doc[j..])).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        return;
    }
    assert_eq!(
        doc[i..j],
        want,
        "docs/architecture.md's diagram differs from the code: run KIOSK_WRITE_DIAGRAM=1 cargo test --test repo"
    );
}
