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
