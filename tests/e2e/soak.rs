//! Soak: many sessions back to back in one kiosk process (`simulate --runs N`, embedded
//! review centre, PDF receipts): every session ends in its own receipt, and neither memory
//! nor open files grow. N = `KIOSK_SOAK_RUNS` (default 200, as issue #8 asks; see
//! docs/performance.md for its time in CI).

use crate::common;
use common::*;
use std::collections::HashSet;
use std::process::Command;

#[test]
fn sessions_back_to_back_do_not_leak_memory_or_files() {
    let runs: usize = std::env::var("KIOSK_SOAK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\ndemo = true\ndata_dir = {:?}\n",
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
    // One RSS sample per session is noisy (it is read while the allocator may still hold
    // that session's frames). With glibc's defaults RSS stepped up once by ~15 MB at an
    // unpredictable session (10th here, 137th on CI); the kiosk now pins the allocator
    // (src/ops/allocator.rs: fixed mmap threshold, one arena) and 200 sessions measured
    // 91 -> 97.1 MB by session 10, then 97.1-98.4 MB. So skip a warm-up quarter, then compare
    // the median of the first half of the rest with the median of the second half: a leak
    // of 0.2 MB per session shows as >= 8 MB at 200 runs, a step would too.
    let rss: Vec<u64> = lines.iter().map(|v| v["rss_kb"].as_u64().unwrap()).collect();
    let fds: Vec<u64> = lines.iter().map(|v| v["open_fds"].as_u64().unwrap()).collect();
    let warm_up = (runs / 4).max(3).min(runs - 1);
    let steady = &rss[warm_up..];
    let (early, late) = steady.split_at(steady.len() / 2);
    let (rss0, rss1) = (median(early), median(late));
    let (fd0, fd1) = (fds[warm_up], fds[runs - 1]);
    eprintln!("soak: {runs} sessions, RSS median {rss0} kB -> {rss1} kB (samples {rss:?}), fds {fd0} -> {fd1}");
    // Under 60 runs the warm-up may not cover the one-time step: only files are checked.
    if runs >= 60 {
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
