//! `kiosk simulate --idcard serial:PTY` (issue #14): the details come only from the card
//! on `idcard-sim` (a real pty), never from test details; afterwards the card's name and
//! number are in no log line and no file of the kiosk's data directory (the embedded demo
//! review centre's own store excepted: the centre keeps details by design).

use crate::common::*;
use kiosk::idcard_sim::{self, SimArgs, SimHandle};
use std::path::{Path, PathBuf};
use std::process::Command;

const NAME: &str = "卡读测";
const ID_NUMBER: &str = "440104198001010016";

struct Rig {
    dir: tempfile::TempDir,
    link: PathBuf,
    cfg: PathBuf,
    sim: SimHandle,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("kiosk-idcard");
    let card = dir.path().join("card.toml");
    std::fs::write(
        &card,
        format!(
            "name = \"{NAME}\"\nsex = \"1\"\nnation = \"01\"\nbirth = \"19800101\"\n\
             address = \"广东省广州市越秀区某路1号\"\nid_number = \"{ID_NUMBER}\"\n\
             authority = \"广州市公安局越秀分局\"\nvalid_from = \"20200101\"\nvalid_to = \"20400101\"\n"
        ),
    )
    .unwrap();
    let mut args = SimArgs::new(&link);
    args.card = Some(card);
    let sim = idcard_sim::start(&args).expect("idcard-sim starts on a pty");
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\ndata_dir = \"{}\"\ndemo = true\n\n[idcard]\nreply_timeout_ms = 300\npoll_interval_ms = 100\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    Rig { dir, link, cfg, sim }
}

impl Rig {
    fn simulate(&self, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
        let out = Command::new(kiosk_bin())
            .arg("--config")
            .arg(&self.cfg)
            .args(["simulate", "--json", "--idcard"])
            .arg(format!("serial:{}", self.link.display()))
            .args(extra)
            .env_remove("KIOSK_CONFIG")
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let json = serde_json::from_str(stdout.lines().last().unwrap_or("null"))
            .unwrap_or_else(|e| panic!("no JSON ({e}):\n{stdout}\n{stderr}"));
        (out.status.code(), json, format!("{stdout}\n{stderr}"))
    }
}

/// Every file under `dir` (but the embedded review centre's store) holding `needle` as
/// UTF-8 or UTF-16LE.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let utf16: Vec<u8> = needle.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let mut found = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == kiosk::review::embedded::DIR) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let b = std::fs::read(&p).unwrap();
                let has = |n: &[u8]| b.windows(n.len()).any(|w| w == n);
                if has(needle.as_bytes()) || has(&utf16) {
                    found.push(p);
                }
            }
        }
    }
    found
}

#[test]
fn simulate_takes_the_details_only_from_the_card_and_keeps_none_of_them() {
    let r = rig();
    assert!(r.sim.command("place").starts_with("ok"));
    let (code, json, log) = r.simulate(&[]);
    assert_eq!(code, Some(0), "{json}\n{log}");
    assert_eq!(json["details_source"], "idcard", "{json}");
    assert!(json["receipt_number"].is_string(), "{json}");
    for secret in [NAME, ID_NUMBER] {
        assert!(!log.contains(secret), "{secret} is in the output/log:\n{log}");
        let files = files_holding(&r.dir.path().join("data"), secret);
        assert!(files.is_empty(), "{secret} is kept in {files:?}");
    }
    // The embedded centre did receive exactly these details (by design, and the proof
    // that the card's details, not test ones, were submitted).
    let centre = r.dir.path().join("data").join(kiosk::review::embedded::DIR);
    let mut stack = vec![centre];
    let mut seen = false;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let b = std::fs::read(&p).unwrap_or_default();
                seen |= b.windows(ID_NUMBER.len()).any(|w| w == ID_NUMBER.as_bytes());
            }
        }
    }
    assert!(seen, "the review centre got the card's number");
}

#[test]
fn simulate_without_a_readable_card_exits_1_and_never_uses_test_details() {
    let r = rig();
    assert!(r.sim.command("remove").starts_with("ok"));
    let (code, json, log) = r.simulate(&["--card-wait-s", "1"]);
    assert_eq!(code, Some(1), "{json}\n{log}");
    assert_eq!(json["failed"]["stage"], "details", "{json}");
    assert!(json["failed"]["reason"].as_str().unwrap().contains("no card"), "{json}");
    assert!(
        json["receipt_number"].is_null() && json.get("details_source").is_none(),
        "{json}"
    );
    // A reader that answers garbage: the same, with the fault named.
    assert!(r.sim.command("place").starts_with("ok"));
    assert!(r.sim.command("checksum").starts_with("ok"));
    let (code, json, _) = r.simulate(&["--card-wait-s", "1"]);
    assert_eq!(code, Some(1), "{json}");
    assert!(
        json["failed"]["reason"].as_str().unwrap().contains("idcard_checksum"),
        "{json}"
    );
    // --details and --idcard together is a usage error: no fallback to typed details.
    let out = Command::new(kiosk_bin())
        .arg("--config")
        .arg(&r.cfg)
        .args(["simulate", "--idcard", "none", "--details", "{}"])
        .env_remove("KIOSK_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
