//! Soak: many sessions back to back in one kiosk process (`simulate --runs N`, embedded
//! review centre, PDF receipts): every session ends in its own receipt, and neither memory
//! nor open files grow. N = `KIOSK_SOAK_RUNS` (default 20; see docs/performance.md).

mod common;
use common::*;
use std::collections::HashSet;
use std::process::Command;

#[test]
fn sessions_back_to_back_do_not_leak_memory_or_files() {
    let runs: usize = std::env::var("KIOSK_SOAK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\ndata_dir = {:?}\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let out = Command::new(kiosk_bin())
        .arg("--config")
        .arg(&cfg)
        .args(["simulate", "--json", "--runs", &runs.to_string()])
        .env_remove("KIOSK_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), runs);
    let numbers: HashSet<&str> = lines
        .iter()
        .map(|v| v["receipt_number"].as_str().expect("a receipt"))
        .collect();
    assert_eq!(numbers.len(), runs, "one distinct receipt per session");
    // One RSS sample per session is noisy (±10 MB: it is read while the allocator still holds
    // that session's frames), so compare the median of the first half after warm-up (models
    // loaded, caches filled) with the median of the second half. A leak of 1 MB per session
    // shows as ≥ 8 MB between the halves at 20 runs; noise measured over 40 runs stays < 3 MB.
    let rss: Vec<u64> = lines.iter().map(|v| v["rss_kb"].as_u64().unwrap()).collect();
    let fds: Vec<u64> = lines.iter().map(|v| v["open_fds"].as_u64().unwrap()).collect();
    let steady = &rss[3.min(runs - 1)..];
    let (early, late) = steady.split_at(steady.len() / 2);
    let (rss0, rss1) = (median(early), median(late));
    let (fd0, fd1) = (fds[3.min(runs - 1)], fds[runs - 1]);
    eprintln!("soak: {runs} sessions, RSS median {rss0} kB -> {rss1} kB (samples {rss:?}), fds {fd0} -> {fd1}");
    if runs >= 8 {
        assert!(
            rss1 <= rss0 + 8 * 1024,
            "RSS median grew from {rss0} kB to {rss1} kB over {runs} sessions: {rss:?}"
        );
    }
    assert!(fd1 <= fd0 + 2, "open files grew from {fd0} to {fd1}: {fds:?}");
    let receipts = std::fs::read_dir(dir.path().join("data/receipts")).unwrap().count();
    assert_eq!(receipts, runs, "one PDF per session");
}

fn median(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        0
    } else {
        v[v.len() / 2]
    }
}
