//! The `kiosk` binary's command-line contract: subcommands, exit codes, config errors.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn kiosk() -> Command {
    let mut c = Command::cargo_bin("kiosk").unwrap();
    // Never pick up the machine's own config.
    c.env_remove("KIOSK_CONFIG")
        .env("XDG_STATE_HOME", std::env::temp_dir().join("kiosk-cli-test"));
    c
}

#[test]
fn help_lists_every_subcommand() {
    let out = kiosk().arg("--help").assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    for sub in [
        "run",
        "check-photo",
        "make-photo",
        "receipt",
        "printer-sim",
        "idcard-sim",
        "review-center",
        "simulate",
        "diag",
    ] {
        assert!(text.contains(sub), "--help lacks {sub}:\n{text}");
    }
    assert!(text.contains("--config"));
    for sub in [
        "run",
        "check-photo",
        "make-photo",
        "receipt",
        "printer-sim",
        "idcard-sim",
        "review-center",
        "simulate",
        "diag",
    ] {
        kiosk()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: kiosk"));
    }
}

#[test]
fn usage_errors_exit_2() {
    kiosk().arg("no-such-command").assert().code(2);
    kiosk()
        .args(["check-photo", "--doc", "passport", "x.jpg"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("id-card"));
}

#[test]
fn corrupt_config_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.toml");
    std::fs::write(&path, "[kiosk]\nid = \"A-1\"\nretake_limit = [\n").unwrap();
    let expect = format!("{}:3", path.display());
    kiosk()
        .arg("--config")
        .arg(&path)
        .args(["diag", "--config-only"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(expect.clone()));
    // Every subcommand loads the config the same way.
    kiosk()
        .arg("--config")
        .arg(&path)
        .args(["simulate", "--runs", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(expect));
    // Garbage bytes, not even UTF-8.
    std::fs::write(&path, [0xff, 0xfe, 0x00, 0x81]).unwrap();
    kiosk()
        .arg("--config")
        .arg(&path)
        .args(["diag", "--config-only"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("kiosk.toml"));
}

#[test]
fn config_from_env_and_example_validate() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kiosk.example.toml");
    kiosk()
        .env("KIOSK_CONFIG", &example)
        .args(["diag", "--config-only"])
        .assert()
        .success()
        .stdout(predicate::str::contains("kiosk.example.toml: valid"));
    kiosk()
        .env("KIOSK_CONFIG", "/nonexistent/k.toml")
        .args(["diag", "--config-only"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/k.toml"));
}

#[test]
fn diag_json_reports_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.toml");
    std::fs::write(
        &path,
        format!(
            "[kiosk]\ndemo = true\ndata_dir = {:?}\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let out = kiosk()
        .arg("--config")
        .arg(&path)
        .args(["diag", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["config", "storage", "camera", "printer", "idcard", "review", "outbox", "console", "clock"]
    );
    let camera = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "camera")
        .unwrap();
    assert_eq!(camera["ok"], true, "{camera}");
    assert!(camera["detail"].as_str().unwrap().contains("640x480"));
    // Exit code follows health.
    let healthy = v["healthy"].as_bool().unwrap();
    assert_eq!(out.status.code(), Some(if healthy { 0 } else { 1 }));
}

#[test]
fn set_pin_writes_a_hash_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.toml");
    let data = dir.path().join("data");
    std::fs::write(
        &path,
        format!("[kiosk]\ndemo = true\ndata_dir = {:?}\n", data.display().to_string()),
    )
    .unwrap();
    kiosk()
        .arg("--config")
        .arg(&path)
        .args(["diag", "--set-pin"])
        .write_stdin("13579246\n")
        .assert()
        .success();
    assert!(kiosk::ops::pin::verify_pin(&data, "13579246").unwrap());
    kiosk()
        .arg("--config")
        .arg(&path)
        .args(["diag", "--set-pin"])
        .write_stdin("12\n")
        .assert()
        .code(2);
}

/// Issue #15: `diag --setup-code` prints a one-time code for the first PIN on the
/// touchscreen, keeps only its hash (0600), replaces an earlier one, and is refused once
/// a PIN is set; `--set-pin` keeps working beside it.
#[test]
fn setup_code_is_printed_hashed_on_disk_and_refused_once_a_pin_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.toml");
    let data = dir.path().join("data");
    std::fs::write(
        &path,
        format!(
            "[kiosk]\ndemo = true\nsetup_code_valid_min = 5\ndata_dir = {:?}\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let code = |out: &std::process::Output| -> String {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let code = text
            .lines()
            .find_map(|l| l.strip_prefix("设置码 setup code: "))
            .unwrap_or_else(|| panic!("{text}"))
            .to_string();
        assert!(text.contains("(5 min)"), "{text}");
        code
    };
    let first = kiosk()
        .arg("--config")
        .arg(&path)
        .args(["diag", "--setup-code"])
        .assert()
        .success()
        .get_output()
        .clone();
    let first = code(&first);
    assert!(first.len() == 8 && first.bytes().all(|b| b.is_ascii_digit()), "{first}");
    let file = kiosk::ops::setup_code::setup_path(&data);
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(!stored.contains(&first), "the code in clear on disk");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let now = || chrono::Utc::now().timestamp_millis() as u64;
    kiosk::ops::setup_code::check(&data, &first, now()).unwrap();
    // A second run replaces the first code.
    let out = kiosk()
        .arg("--config")
        .arg(&path)
        .args(["diag", "--setup-code"])
        .assert()
        .success()
        .get_output()
        .clone();
    let second = code(&out);
    kiosk::ops::setup_code::check(&data, &second, now()).unwrap();
    if first != second {
        assert!(kiosk::ops::setup_code::check(&data, &first, now()).is_err());
    }
    // Not both at once.
    kiosk()
        .arg("--config")
        .arg(&path)
        .args(["diag", "--set-pin", "--setup-code"])
        .assert()
        .code(2);
    // The console's PIN still works, and then no setup code is handed out.
    kiosk()
        .arg("--config")
        .arg(&path)
        .args(["diag", "--set-pin"])
        .write_stdin("13579246\n")
        .assert()
        .success();
    kiosk()
        .arg("--config")
        .arg(&path)
        .args(["diag", "--setup-code"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already set").and(predicate::str::contains("--set-pin")));
    assert!(kiosk::ops::setup_code::check(&data, &second, now()).is_err());
}

/// The command line's own error lines go through the log redactor (issue #13): an error
/// quoting a path or an argument with an ID or mobile number prints it masked.
#[test]
fn error_and_usage_lines_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("110101199003071234.toml");
    let out = kiosk()
        .arg("--config")
        .arg(&cfg)
        .args(["check-photo", "--doc", "id-card", "x.jpg"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kiosk: error:") && err.contains("1101**********1234.toml"),
        "{err}"
    );
    assert!(!err.contains("110101199003071234"), "ID number in clear: {err}");
    let out = kiosk()
        .arg("no-such-command-13800138000")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("138****8000"), "{err}");
    assert!(!err.contains("13800138000"), "mobile number in clear: {err}");
}
