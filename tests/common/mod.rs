//! Helpers for the end-to-end tests: real processes (review centre, printer emulator,
//! kiosk), real files, real ports on 127.0.0.1.
#![allow(dead_code)]

pub mod notify;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn kiosk_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kiosk")
}

pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// A child process killed when dropped.
pub struct Proc {
    pub child: Child,
    pub name: &'static str,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of the `… listening http://ADDR:PORT` line a server started with port 0
/// prints first on `stdout`; the line as read when it has none.
pub fn listening_port(stdout: &mut impl std::io::BufRead) -> Result<u16, String> {
    let mut line = String::new();
    let _ = stdout.read_line(&mut line);
    line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).ok_or(line)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A kiosk key (≥ 32 chars) for `kiosk_id`, written to `dir/kiosk.key` and `dir/keys`.
pub fn write_keys(dir: &Path, kiosk_id: &str) -> (PathBuf, PathBuf) {
    let key = "e2e-test-key-0123456789abcdef0123456789";
    let keys = dir.join("keys");
    std::fs::write(&keys, format!("{kiosk_id} {key}\n")).unwrap();
    let kf = dir.join("kiosk.key");
    std::fs::write(&kf, key).unwrap();
    // Both are secrets: the centre and the kiosk refuse key files others can read.
    use std::os::unix::fs::PermissionsExt;
    for f in [&keys, &kf] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    (keys, kf)
}

/// Starts the reference review centre on a free port and waits for `/healthz`.
pub fn review_center(dir: &Path, keys: &Path, auto_approve: u64, port: u16) -> Proc {
    start_review_center(dir, keys, Some(auto_approve), port)
}

/// The review centre process: approving by itself after `auto_approve` seconds, or (None)
/// waiting for an operator.
fn start_review_center(dir: &Path, keys: &Path, auto_approve: Option<u64>, port: u16) -> Proc {
    let mut cmd = Command::new(kiosk_bin());
    cmd.args(["review-center", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(dir.join("review.db"));
    if let Some(secs) = auto_approve {
        cmd.args(["--auto-approve-after", &secs.to_string()]);
    }
    let child = cmd
        .arg("--keys")
        .arg(keys)
        .env_remove("KIOSK_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("review-{port}.log"))).unwrap())
        .spawn()
        .unwrap();
    let p = Proc {
        child,
        name: "review-center",
    };
    wait_for("review centre", Duration::from_secs(30), || {
        http_get(port, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
    });
    p
}

/// Starts the printer emulator with its pty linked at `dir/printer`.
pub fn printer_sim(dir: &Path, extra: &[&str]) -> Proc {
    let link = dir.join("printer");
    let child = Command::new(kiosk_bin())
        .args(["printer-sim", "--link"])
        .arg(&link)
        .arg("--out")
        .arg(dir.join("slips"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("printer-sim.log")).unwrap())
        .spawn()
        .unwrap();
    let p = Proc {
        child,
        name: "printer-sim",
    };
    wait_for("printer pty", Duration::from_secs(30), || link.exists());
    p
}

pub fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Decodes every barcode in `png` with zbarimg: (symbology, data) pairs.
pub fn zbar(png: &Path) -> Vec<(String, String)> {
    let out = match Command::new("zbarimg").arg("--quiet").arg(png).output() {
        Ok(o) => o,
        Err(e) => panic!("zbarimg not runnable ({e}); install zbar-tools (deploy/deps.sh test)"),
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':').map(|(a, b)| (a.to_string(), b.to_string())))
        .collect()
}

/// Reads lines of `r` until one contains `needle` (or the stream ends).
pub fn read_until(r: impl Read, needle: &str) -> Vec<String> {
    let mut lines = vec![];
    for l in BufReader::new(r).lines().map_while(Result::ok) {
        let hit = l.contains(needle);
        lines.push(l);
        if hit {
            break;
        }
    }
    lines
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A kiosk config in `dir`: data in `dir/data`, the replay camera, the printer emulator's
/// pty at `dir/printer` (80 mm, 115200 baud) and the review centre on `port`.
pub fn kiosk_config(dir: &Path, kiosk_id: &str, port: u16, key_file: &Path) -> PathBuf {
    let cfg = dir.join("kiosk.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kiosk]\nid = \"{kiosk_id}\"\ndata_dir = {:?}\n[devices]\ncamera = \"replay:builtin\"\nprinter = \"serial:{},115200,80\"\nreview = \"http://127.0.0.1:{port}\"\nreview_key_file = {:?}\n",
            dir.join("data").display().to_string(),
            dir.join("printer").display(),
            key_file.display().to_string()
        ),
    )
    .unwrap();
    cfg
}

/// The emulator's good (cut, not spoiled) slips in `dir/slips`, in print order.
pub fn good_slips(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = files_under(&dir.join("slips"))
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.ends_with(".png") && !n.starts_with('.') && !n.contains("spoiled")
        })
        .collect();
    v.sort();
    v
}

/// A slip's QR with the default `printer.qr_content = "url"`: the receipt's PDF URL for
/// `number` with its 128-bit token (32 hex digits), e.g. `http://…/v1/receipts/N.pdf?token=…`.
#[allow(dead_code)]
pub fn qr_is_receipt_url(qr: &str, number: &str) -> bool {
    let Some((_, rest)) = qr.split_once(&format!("/v1/receipts/{number}.pdf?token=")) else {
        return false;
    };
    rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Starts the reference review centre without `--auto-approve-after`: every photo that
/// passes the machine check waits for an operator (`POST /review/{id}/approve`, see
/// [`operator`]). The operator account is added first (`--add-user`).
pub fn review_center_manual(dir: &Path, keys: &Path, port: u16) -> Proc {
    add_operator(&dir.join("review.db"));
    start_review_center(dir, keys, None, port)
}

/// `kiosk review-center --db DB --add-user operator`, the password piped on stdin.
pub fn add_operator(db: &Path) {
    use kiosk::testkit::review::{OPERATOR, OPERATOR_PASSWORD};
    use std::io::Write;
    let mut child = Command::new(kiosk_bin())
        .args(["review-center", "--db"])
        .arg(db)
        .args(["--add-user", OPERATOR])
        .env_remove("KIOSK_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{OPERATOR_PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "--add-user: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The operator logged in to the centre on `port`.
pub fn operator(port: u16) -> kiosk::testkit::review::OperatorSession {
    use kiosk::testkit::review::{operator_login, OPERATOR, OPERATOR_PASSWORD};
    operator_login(&format!("http://127.0.0.1:{port}"), OPERATOR, OPERATOR_PASSWORD)
}

/// A raw HTTP/1.1 POST with an empty body; the whole reply as text.
pub fn http_post_empty(port: u16, path: &str) -> Option<String> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// One HTTP/1.1 message from a raw socket (head and a `content-length` body), for the
/// raw-TCP test servers that write exact bytes. The caller sets any read timeout.
pub fn read_http(s: &mut std::net::TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![];
    let mut b = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut b)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&b[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut b)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&b[..n]);
    }
    Ok(buf)
}
