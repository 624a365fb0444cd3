//! Fleet metrics: an optional Prometheus text endpoint on localhost (off by default,
//! `[metrics] listen = "127.0.0.1:9184"`). Counters and health only — never personal data.

use crate::ports::PaperStatus;
use std::fmt::Write as _;
use std::io::{Read, Write};

/// Running totals for the operator and fleet metrics (no personal data).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counters {
    pub sessions: u64,
    pub receipts: u64,
    pub claims: u64,
    pub retakes: u64,
    pub rejections: u64,
    pub captures: u64,
    /// Sessions handed over to a counter (hand-off slip printed, staff alerted).
    pub hand_offs: u64,
    /// Frames whose hint named a failed check, by check id.
    pub hints: std::collections::BTreeMap<String, u64>,
}

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the endpoint reports; the runtime updates it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub counters: Counters,
    pub paper: PaperStatus,
    /// `ready`, `paper_out`, `cover_open`, … as the printer reports it.
    pub printer_state: String,
    pub outbox_depth: u64,
    pub state: String,
}

/// Renders the Prometheus text exposition format (version 0.0.4).
pub fn render(s: &Snapshot) -> String {
    let c = &s.counters;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP kiosk_{name} {help}\n# TYPE kiosk_{name} counter\nkiosk_{name} {v}"
        );
    };
    counter("sessions_total", "Sessions started.", c.sessions);
    counter("receipts_total", "Receipts approved.", c.receipts);
    counter(
        "claim_slips_total",
        "Claim slips printed after a late decision.",
        c.claims,
    );
    counter("retakes_total", "Retakes on the review screen.", c.retakes);
    counter("rejections_total", "Rejections by the review centre.", c.rejections);
    counter("captures_total", "Auto-captures.", c.captures);
    counter(
        "hand_offs_total",
        "Sessions handed over to a counter (hand-off slip, staff alert).",
        c.hand_offs,
    );
    let _ = writeln!(
        out,
        "# HELP kiosk_hint_frames_total Frames whose guidance named a failed check."
    );
    let _ = writeln!(out, "# TYPE kiosk_hint_frames_total counter");
    for (check, n) in &c.hints {
        let _ = writeln!(out, "kiosk_hint_frames_total{{check=\"{}\"}} {n}", escape(check));
    }
    let _ = writeln!(
        out,
        "# HELP kiosk_paper_left_mm Estimated paper left on the roll.\n# TYPE kiosk_paper_left_mm gauge"
    );
    let _ = writeln!(out, "kiosk_paper_left_mm {}", s.paper.estimated_left_mm);
    let _ = writeln!(
        out,
        "# HELP kiosk_paper_near_end Paper near end (1) or not (0).\n# TYPE kiosk_paper_near_end gauge"
    );
    let _ = writeln!(out, "kiosk_paper_near_end {}", u8::from(s.paper.near_end));
    let _ = writeln!(
        out,
        "# HELP kiosk_printer_state Printer state (1 for the current one).\n# TYPE kiosk_printer_state gauge"
    );
    let _ = writeln!(out, "kiosk_printer_state{{state=\"{}\"}} 1", escape(&s.printer_state));
    let _ = writeln!(
        out,
        "# HELP kiosk_outbox_depth Submissions not yet settled.\n# TYPE kiosk_outbox_depth gauge"
    );
    let _ = writeln!(out, "kiosk_outbox_depth {}", s.outbox_depth);
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Serves `GET /metrics` on `listen` from a background thread. Refuses a non-loopback
/// address: the endpoint has no authentication.
pub fn serve(listen: &str, snapshot: Arc<Mutex<Snapshot>>) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind(listen)?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("metrics.listen {listen} is not a loopback address; the endpoint has no authentication"),
        ));
    }
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let (status, body) = if req.starts_with("GET /metrics ") {
                let snap = snapshot.lock().unwrap_or_else(|e| e.into_inner()).clone();
                ("200 OK", render(&snap))
            } else {
                ("404 Not Found", "only GET /metrics\n".to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    })?;
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_serves_them_on_loopback() {
        let mut snap = Snapshot {
            printer_state: "ready".into(),
            outbox_depth: 2,
            ..Default::default()
        };
        snap.counters.receipts = 7;
        snap.counters.hints.insert("eyes_visible".into(), 3);
        snap.paper.estimated_left_mm = 1234;
        let text = render(&snap);
        assert!(text.contains("kiosk_receipts_total 7"));
        assert!(text.contains("kiosk_hint_frames_total{check=\"eyes_visible\"} 3"));
        assert!(text.contains("kiosk_paper_left_mm 1234"));
        assert!(text.contains("kiosk_outbox_depth 2"));
        let shared = Arc::new(Mutex::new(snap));
        let addr = serve("127.0.0.1:0", shared.clone()).unwrap();
        shared.lock().unwrap().counters.receipts = 8;
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(resp.contains("kiosk_receipts_total 8"));
        assert!(serve("0.0.0.0:0", shared).is_err(), "non-loopback refused");
    }
}
