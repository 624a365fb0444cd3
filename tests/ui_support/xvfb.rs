//! A private X server for the window tests, the systemd notify socket the kiosk talks
//! to, and the "is this screenshot a real picture" check.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// Starts `Xvfb` on a free display with one screen of `w`×`h`×24.
    pub fn start(w: u32, h: u32) -> Xvfb {
        // Displays of Xvfbs killed with SIGKILL leave their socket and lock behind: look
        // far enough to get past them.
        for n in 0..200 {
            let num = 70 + (std::process::id() % 50) as usize + n;
            if Path::new(&format!("/tmp/.X11-unix/X{num}")).exists()
                || Path::new(&format!("/tmp/.X{num}-lock")).exists()
            {
                continue;
            }
            // Owned by the guard at once, so a panic below still kills it.
            let x = Xvfb {
                display: format!(":{num}"),
                child: Command::new("Xvfb")
                    .args([
                        format!(":{num}").as_str(),
                        "-screen",
                        "0",
                        &format!("{w}x{h}x24"),
                        "-nolisten",
                        "tcp",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("Xvfb is needed for this test: deploy/deps.sh test installs it"),
            };
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(10) {
                if Path::new(&format!("/tmp/.X11-unix/X{num}")).exists() {
                    return x;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("Xvfb :{num} did not start within 10 s");
        }
        panic!("no free X display number");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use super::notify::{notify_socket, Received};

pub fn assert_ready_then_watchdog(got: &Received) {
    let msgs = super::notify::messages(got);
    let ready = msgs.iter().position(|m| m.lines().any(|l| l == "READY=1"));
    let wd = msgs.iter().position(|m| m.lines().any(|l| l == "WATCHDOG=1"));
    let (Some(r), Some(w)) = (ready, wd) else {
        panic!("expected READY=1 then WATCHDOG=1, got {msgs:?}");
    };
    assert!(r <= w, "WATCHDOG=1 came before READY=1: {msgs:?}");
    assert!(
        msgs.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2,
        "the watchdog timer repeats: {msgs:?}"
    );
}

/// The screenshot is a real picture, not a blank or single-colour window: the luma
/// varies (standard deviation above 20 of 255) and there are many distinct colours (the
/// camera preview alone brings hundreds). Copies it to `$KIOSK_UI_SHOT_DIR` if set.
pub fn assert_not_blank(png: &Path, name: &str) {
    if let Some(d) = std::env::var_os("KIOSK_UI_SHOT_DIR") {
        let _ = std::fs::copy(png, Path::new(&d).join(name));
    }
    let img = image::open(png)
        .unwrap_or_else(|e| panic!("{}: {e}", png.display()))
        .to_rgb8();
    let (mut n, mut sum, mut sq) = (0f64, 0f64, 0f64);
    let mut colours = std::collections::BTreeSet::new();
    for p in img.pixels().step_by(7) {
        let l = 0.299 * p.0[0] as f64 + 0.587 * p.0[1] as f64 + 0.114 * p.0[2] as f64;
        n += 1.0;
        sum += l;
        sq += l * l;
        colours.insert(p.0);
    }
    let mean = sum / n;
    let sd = (sq / n - mean * mean).max(0.0).sqrt();
    assert!(
        sd > 20.0 && colours.len() > 200,
        "{} looks blank: luma standard deviation {sd:.1}, {} colours",
        png.display(),
        colours.len()
    );
}
