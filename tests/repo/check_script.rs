//! `deploy/check.sh` runs the 200-session soak and the `BESIDE` binary beside the rest of
//! the suite, the soak by its exact name. A renamed soak would still run (in the main
//! command), but no longer beside the rest: CI would take minutes longer without a word.
//! This keeps the names true.

use crate::repo;

/// The value of `deploy/check.sh`'s `NAME=` line.
fn script_var(name: &str, what: &str) -> String {
    let script = std::fs::read_to_string(repo().join("deploy/check.sh")).unwrap();
    let prefix = format!("{name}=");
    script
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("deploy/check.sh sets {name}={what}"))
        .to_string()
}

#[test]
fn check_sh_names_the_soak_that_tests_e2e_has() {
    let name = script_var("SOAK", "<module>::<test> for the soak it runs apart");
    let (module, test) = name.split_once("::").expect("SOAK is <module>::<test>");
    let file = repo().join(format!("tests/e2e/{module}.rs"));
    let src = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(
        src.contains(&format!("#[test]\nfn {test}()")),
        "deploy/check.sh's SOAK={name} is not a test in {}: rename it there too",
        file.display()
    );
}

/// The binary run beside the rest (`BESIDE=`) is one cargo finds. A wrong name skips
/// nothing (the main command then runs every binary), but its own command fails (no such
/// test target), and CI would say so only once everything else had run.
#[test]
fn check_sh_runs_beside_the_soak_a_test_binary_that_exists() {
    let name = script_var("BESIDE", "<test binary> to run beside the rest");
    let dir = repo().join(format!("tests/{name}/main.rs"));
    let file = repo().join(format!("tests/{name}.rs"));
    assert!(
        dir.is_file() || file.is_file(),
        "deploy/check.sh's BESIDE={name} is neither {} nor {}",
        dir.display(),
        file.display()
    );
}
