//! `deploy/check.sh` runs the 200-session soak beside the rest of the suite by its exact
//! name. A renamed soak would still run (in the second command), but no longer beside the
//! rest: CI would take six minutes longer without a word. This keeps the name true.

use crate::repo;

#[test]
fn check_sh_names_the_soak_that_tests_e2e_has() {
    let script = std::fs::read_to_string(repo().join("deploy/check.sh")).unwrap();
    let name = script
        .lines()
        .find_map(|l| l.strip_prefix("SOAK="))
        .expect("deploy/check.sh sets SOAK=<module>::<test> for the soak it runs apart");
    let (module, test) = name.split_once("::").expect("SOAK is <module>::<test>");
    let file = repo().join(format!("tests/e2e/{module}.rs"));
    let src = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(
        src.contains(&format!("#[test]\nfn {test}()")),
        "deploy/check.sh's SOAK={name} is not a test in {}: rename it there too",
        file.display()
    );
}
