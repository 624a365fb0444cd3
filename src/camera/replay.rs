//! Replays a directory of frames (or the built-in demo frames) as a camera.

use super::{CameraError, Frame, FrameSource};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A paced replay not read for this long was stopped (the camera is off between
/// sessions), not slow: it resumes at the next frame rather than skipping the gap.
const STOPPED_AFTER: Duration = Duration::from_secs(1);

/// The frames embedded at build time from `assets/frames/demo/`.
pub static BUILTIN_FRAMES: &[&[u8]] = include!(concat!(env!("OUT_DIR"), "/builtin_frames.rs"));

enum Frames {
    Files(Vec<PathBuf>),
    Builtin,
}

/// Frame *i* is stamped *i*/fps; `looping` is for the demo, never for tests.
pub struct ReplaySource {
    name: String,
    frames: Frames,
    fps: f64,
    looping: bool,
    next: u64,
    /// Set by tests (and `simulate`) to inject a camera disconnect; cleared to reconnect.
    unplugged: Arc<AtomicBool>,
    /// Wall-clock pacing at `fps` (the live demo); off for tests and `simulate`.
    paced: bool,
    /// When paced: the wall-clock time of frame 0, and of the last read.
    clock: Option<(Instant, Instant)>,
}

impl ReplaySource {
    /// `dir` = `builtin` selects the embedded frames.
    pub fn open(dir: &Path, fps: f64, looping: bool) -> Result<Self, CameraError> {
        let name = format!("replay:{}@{fps}", dir.display());
        let frames = if dir == Path::new("builtin") {
            Frames::Builtin
        } else {
            let rd = std::fs::read_dir(dir).map_err(|e| CameraError::Failed {
                device: name.clone(),
                reason: format!("cannot read directory {}: {e}", dir.display()),
            })?;
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(CameraError::Failed {
                    device: name,
                    reason: format!("no .jpg/.png frames in {}", dir.display()),
                });
            }
            Frames::Files(files)
        };
        Ok(ReplaySource {
            name,
            frames,
            fps,
            looping,
            next: 0,
            unplugged: Arc::new(AtomicBool::new(false)),
            paced: false,
            clock: None,
        })
    }

    /// Deliver frames no faster than `fps` in wall-clock time, like a real camera.
    pub fn paced(mut self) -> Self {
        self.paced = true;
        self
    }

    pub fn len(&self) -> usize {
        match &self.frames {
            Frames::Files(f) => f.len(),
            Frames::Builtin => BUILTIN_FRAMES.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A switch that makes the source behave as if unplugged (true) or back (false).
    pub fn unplug_switch(&self) -> Arc<AtomicBool> {
        self.unplugged.clone()
    }
}

impl FrameSource for ReplaySource {
    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        if self.unplugged.load(Ordering::SeqCst) {
            return Err(CameraError::Disconnected {
                device: self.name.clone(),
                reason: "unplugged (injected)".into(),
            });
        }
        let n = self.len() as u64;
        if self.next >= n && !self.looping {
            return Err(CameraError::EndOfStream {
                device: self.name.clone(),
            });
        }
        let start = if self.paced {
            let now = Instant::now();
            let per_frame = Duration::from_secs_f64(1.0 / self.fps);
            let start = match self.clock {
                // Not read for a while (the camera was off between sessions): the stream
                // resumes where it stopped instead of jumping ahead.
                Some((start, last)) if now.duration_since(last) <= STOPPED_AFTER => start,
                _ => now.checked_sub(per_frame.mul_f64(self.next as f64)).unwrap_or(now),
            };
            // Like a real camera, a paced replay does not wait for a slow reader: frames
            // whose time has passed are dropped, so the one delivered is the current one.
            let due = (now.duration_since(start).as_secs_f64() * self.fps) as u64;
            if due > self.next {
                self.next = if self.looping { due } else { due.min(n - 1) };
            }
            Some(start)
        } else {
            None
        };
        let i = (self.next % n) as usize;
        let image = match &self.frames {
            Frames::Files(files) => image::open(&files[i])
                .map_err(|e| CameraError::BadFrame {
                    path: files[i].clone(),
                    reason: e.to_string(),
                })?
                .to_rgb8(),
            Frames::Builtin => image::load_from_memory(BUILTIN_FRAMES[i])
                .map_err(|e| CameraError::BadFrame {
                    path: format!("builtin #{i}").into(),
                    reason: e.to_string(),
                })?
                .to_rgb8(),
        };
        let index = self.next;
        self.next += 1;
        let t_ms = (index as f64 * 1000.0 / self.fps).round() as u64;
        if let Some(start) = start {
            let due = Duration::from_secs_f64(index as f64 / self.fps);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
            self.clock = Some((start, Instant::now()));
        }
        Ok(Frame { image, t_ms, index })
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_frames_replay_with_their_own_timestamps() {
        let mut s = ReplaySource::open(Path::new("builtin"), 15.0, false).unwrap();
        assert_eq!(s.len(), 40);
        let f0 = s.next_frame().unwrap();
        let f1 = s.next_frame().unwrap();
        assert_eq!((f0.t_ms, f1.t_ms), (0, 67));
        assert_eq!((f0.image.width(), f0.image.height()), (640, 480));
        for _ in 2..40 {
            s.next_frame().unwrap();
        }
        assert!(matches!(s.next_frame(), Err(CameraError::EndOfStream { .. })));
    }

    #[test]
    fn a_paced_replay_drops_frames_a_slow_reader_missed() {
        // Like a camera: after a 300 ms pause at 100 fps the next frame is the current one
        // (index >= 30), not the backlog delivered in a burst.
        let mut s = ReplaySource::open(Path::new("builtin"), 100.0, true).unwrap().paced();
        assert_eq!(s.next_frame().unwrap().index, 0);
        std::thread::sleep(std::time::Duration::from_millis(300));
        let f = s.next_frame().unwrap();
        assert!(f.index >= 30 && f.t_ms >= 300, "index {} t {} ms", f.index, f.t_ms);
        let g = s.next_frame().unwrap();
        assert!(g.index > f.index);
        // A stop (not read for over a second) is no lag: the stream resumes where it was.
        std::thread::sleep(STOPPED_AFTER + std::time::Duration::from_millis(200));
        assert_eq!(s.next_frame().unwrap().index, g.index + 1);
    }

    #[test]
    fn looping_and_injected_disconnect() {
        let mut s = ReplaySource::open(Path::new("builtin"), 30.0, true).unwrap();
        let sw = s.unplug_switch();
        for _ in 0..41 {
            s.next_frame().unwrap();
        }
        sw.store(true, Ordering::SeqCst);
        assert!(matches!(s.next_frame(), Err(CameraError::Disconnected { .. })));
        sw.store(false, Ordering::SeqCst);
        assert_eq!(s.next_frame().unwrap().index, 41);
    }

    #[test]
    fn bad_directory_and_corrupt_frame_are_clear_errors() {
        let e = ReplaySource::open(Path::new("/nonexistent"), 15.0, false)
            .err()
            .unwrap();
        assert!(e.to_string().contains("/nonexistent"));
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("0001.jpg"), b"not a jpeg").unwrap();
        let mut s = ReplaySource::open(d.path(), 15.0, false).unwrap();
        let e = s.next_frame().unwrap_err();
        assert!(e.to_string().contains("0001.jpg"), "{e}");
    }
}
