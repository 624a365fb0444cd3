//! The emulator on its own, driven with raw bytes over its pty (no kiosk driver): the
//! wire behaviour the driver relies on.

use kiosk::printer_sim::{self, SimArgs};
use nix::sys::termios;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

fn open_raw(link: &Path) -> std::fs::File {
    let f = std::fs::OpenOptions::new().read(true).write(true).open(link).unwrap();
    let mut t = termios::tcgetattr(f.as_fd()).unwrap();
    termios::cfmakeraw(&mut t);
    // No IXON here: the test wants to see XON/XOFF bytes itself.
    t.input_flags.remove(termios::InputFlags::IXON);
    t.control_chars[termios::SpecialCharacterIndices::VMIN as usize] = 0;
    t.control_chars[termios::SpecialCharacterIndices::VTIME as usize] = 1;
    termios::tcsetattr(f.as_fd(), termios::SetArg::TCSANOW, &t).unwrap();
    f
}

fn read_for(f: &mut std::fs::File, d: Duration) -> Vec<u8> {
    let t = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 64];
    while t.elapsed() < d {
        if let Ok(n) = f.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
    }
    out
}

#[test]
fn offline_buffer_fills_xoff_dle_eot_still_answered_gs_r_only_when_online() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("lp");
    let mut a = SimArgs::new(&link, &dir.path().join("out"));
    a.buffer = 1024;
    let sim = printer_sim::start(&a).unwrap();
    let mut f = open_raw(&link);
    assert!(sim.command("cover-open").starts_with("ok"));
    f.write_all(&[0x1D, b'r', 1]).unwrap();
    assert_eq!(
        read_for(&mut f, Duration::from_millis(300)),
        b"",
        "no GS r reply while offline"
    );
    f.write_all(&[0x10, 0x04, 2]).unwrap();
    assert_eq!(
        read_for(&mut f, Duration::from_millis(300)),
        vec![0x16],
        "cover open in DLE EOT 2"
    );
    // Fill the buffer while offline: XOFF comes back, DLE EOT is still answered.
    f.write_all(&vec![b'x'; 1000]).unwrap();
    let got = read_for(&mut f, Duration::from_millis(500));
    assert!(got.contains(&0x13), "XOFF expected, got {got:02x?}");
    f.write_all(&[0x10, 0x04, 1]).unwrap();
    assert_eq!(
        read_for(&mut f, Duration::from_millis(300)),
        vec![0x1A],
        "offline bit set"
    );
    assert!(sim.command("cover-close").starts_with("ok"));
    let got = read_for(&mut f, Duration::from_millis(500));
    assert!(got.contains(&0x11), "XON once the buffer drains: {got:02x?}");
    assert!(
        got.contains(&0x00),
        "the queued GS r is answered once online: {got:02x?}"
    );
}

#[test]
fn paper_out_after_mm_sets_the_spec_status_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("lp");
    let mut a = SimArgs::new(&link, &dir.path().join("out"));
    a.paper_out_after_mm = Some(5);
    let sim = printer_sim::start(&a).unwrap();
    let mut f = open_raw(&link);
    f.write_all(&[0x1B, b'J', 100]).unwrap(); // 100 dots = 12.5 mm > 5 mm
    std::thread::sleep(Duration::from_millis(200));
    for (n, want) in [(1u8, 0x1Au8), (2, 0x32), (4, 0x7E)] {
        f.write_all(&[0x10, 0x04, n]).unwrap();
        assert_eq!(read_for(&mut f, Duration::from_millis(300)), vec![want], "DLE EOT {n}");
    }
    assert!(sim.command("status").contains("paper_end=true"));
}

#[test]
fn garbage_from_the_host_never_crashes_it_and_58mm_clips() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("lp");
    let out = dir.path().join("out");
    let mut a = SimArgs::new(&link, &out);
    a.paper = 58;
    a.baud = 1_000_000;
    let sim = printer_sim::start(&a).unwrap();
    let mut f = open_raw(&link);
    // A raster 576 dots wide on 384-dot paper, then a cut: clipped, not refused.
    let mut raster = vec![0x1D, b'v', b'0', 0, 72, 0, 8, 0];
    raster.extend(std::iter::repeat_n(0xFFu8, 72 * 8));
    f.write_all(&raster).unwrap();
    f.write_all(&[0x1D, b'V', 66, 0]).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let png = out.join("0001.png");
    let (w, _) = image::image_dimensions(&png).unwrap();
    assert_eq!(w, 384);
    // Random bytes: reported, never fatal.
    let mut x: u32 = 12345;
    let junk: Vec<u8> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    f.write_all(&junk).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(sim.command("status").starts_with("ok"), "the emulator still answers");
    // Power-cycle (unplug/replug): a fresh printer answers healthy.
    drop(f);
    assert!(sim.command("unplug").starts_with("ok"));
    assert!(!link.exists(), "the device disappears when unplugged");
    assert!(sim.command("replug").starts_with("ok"));
    let mut f = open_raw(&link);
    f.write_all(&[0x10, 0x04, 1]).unwrap();
    assert_eq!(read_for(&mut f, Duration::from_millis(300)), vec![0x12]);
}

/// One command line on the control socket, the way an operator's `socat` sends it.
fn control_line(sock: &Path, cmd: &str) -> String {
    use std::io::BufRead;
    let mut s = std::os::unix::net::UnixStream::connect(sock).expect("control socket");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    writeln!(s, "{cmd}").unwrap();
    let mut line = String::new();
    std::io::BufReader::new(s).read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

/// Issue #13: `garbage 18446744073709551615` on the control socket killed the emulator's
/// thread (capacity overflow). The count is bounded and answered with an error line; the
/// emulator keeps answering on the socket and on the wire.
#[test]
fn a_huge_garbage_count_is_refused_with_an_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("lp");
    let a = SimArgs::new(&link, &dir.path().join("out"));
    let sim = printer_sim::start(&a).unwrap();
    let sock = sim.control_path.clone();
    for n in ["18446744073709551615", "99999999999999999999999", "-1", "lots"] {
        let reply = control_line(&sock, &format!("garbage {n}"));
        assert!(
            reply.starts_with("error:") && reply.contains("65536"),
            "garbage {n}: {reply}"
        );
    }
    assert!(control_line(&sock, "status").starts_with("ok online=true"));
    let mut f = open_raw(&link);
    assert_eq!(control_line(&sock, "garbage 16"), "ok sent 16 bytes");
    assert_eq!(read_for(&mut f, Duration::from_millis(300)).len(), 16);
    f.write_all(&[0x10, 0x04, 1]).unwrap();
    assert_eq!(
        read_for(&mut f, Duration::from_millis(300)),
        vec![0x12],
        "still answers DLE EOT"
    );
}

/// Issue #13: 23 × `ESC d 255` (at 255-dot line spacing) grew the canvas by 227 MB. The
/// slip is clipped at `--max-slip-mm` and the clipping reported in `status`.
#[test]
fn endless_feeding_is_clipped_at_max_slip_mm() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("lp");
    let out = dir.path().join("out");
    let mut a = SimArgs::new(&link, &out);
    a.baud = 1_000_000;
    a.max_slip_mm = 50;
    let sim = printer_sim::start(&a).unwrap();
    let mut f = open_raw(&link);
    f.write_all(&[0x1B, b'3', 255]).unwrap();
    for _ in 0..23 {
        f.write_all(&[0x1B, b'd', 255]).unwrap();
    }
    f.write_all(b"after the limit\n").unwrap();
    let fed_all = 23 * 255 * 255 + 255;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let s = control_line(&sim.control_path, "status");
        if s.contains(&format!("fed_mm={}", fed_all / 8)) || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.contains("canvas_rows=400 "), "{status}");
    assert!(status.contains(&format!("clipped_rows={}", fed_all - 400)), "{status}");
    f.write_all(&[0x1D, b'V', 66, 0]).unwrap();
    let png = out.join("0001.png");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !png.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, h) = image::image_dimensions(&png).unwrap();
    assert_eq!(h, 400, "the slip is clipped at 50 mm");
    let text = std::fs::read_to_string(out.join("0001.txt")).unwrap();
    assert!(
        !text.contains("after the limit"),
        "nothing past the limit is kept: {text:?}"
    );
}
