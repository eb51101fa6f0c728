//! A bad scenario is refused before anything runs, with the file, line and
//! column of the mistake (no lab needed: parsing comes first).

use std::process::Command;
use test_support::assert_contains;

fn run(scenario: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, scenario).expect("written");
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .arg("run")
        .arg(&path)
        .output()
        .expect("the demo binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_unknown_step_kind_is_located() {
    let (success, stderr) = run("title = \"t\"\n\n[[steps]]\nkind = \"kil-node\"\nsay = \"x\"\n");
    assert!(!success);
    assert_contains(&stderr, "bad.toml:4:8: unknown step kind \"kil-node\"");
    assert_contains(&stderr, "did you mean \"kill-node\"");
}

#[test]
fn a_missing_field_is_located() {
    let (success, stderr) =
        run("title = \"t\"\n[[steps]]\nkind = \"wait-node-state\"\nsay = \"x\"\nnode = 2\n");
    assert!(!success);
    assert_contains(
        &stderr,
        "bad.toml:2:1: step 1 (wait-node-state) is missing `state`",
    );
}

#[test]
fn a_misspelt_parameter_is_located() {
    let (success, stderr) =
        run("title = \"t\"\n[[steps]]\nkind = \"pause\"\nsay = \"x\"\nduraton = 2\n");
    assert!(!success);
    assert_contains(&stderr, "bad.toml:5:1: unknown field `duraton`");
}
