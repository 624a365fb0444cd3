//! The admin menu's camera check on the runtime's own camera (issue #15).
//!
//! A V4L camera is opened once, by the runtime, at start: its capture thread
//! (`camera::v4l`) holds the device and keeps the newest frame for the whole life of the
//! kiosk, posing or not. A second open for a check would fight that thread for the device
//! (EBUSY, or a stolen stream the session then misses), and the runtime never releases it.
//! So the check borrows frames from the runtime's capture instead: it asks the engine
//! thread, which reads a few frames from the source it already holds — only while no
//! session is posing (the admin corner works on every screen); while one is, the check
//! says so and reads nothing, so it never takes frames from the person in front.

use super::Engine;

/// What the camera check found.
#[derive(Debug, Clone, PartialEq)]
pub enum CameraCheck {
    /// `frames` frames read in `ms` milliseconds, the last one `width`×`height`.
    Ok {
        device: String,
        frames: u32,
        ms: u64,
        width: u32,
        height: u32,
    },
    /// The camera gave no frame (why, in the source's words: device and fix).
    Failed { device: String, reason: String },
    /// A session is posing: its frames are not taken for the check.
    Busy { device: String },
}

impl Engine {
    /// Reads `frames` frames from the runtime's camera (stopping at the first error),
    /// unless a session is posing. Blocks the engine loop for those frames (a third of a
    /// second at 30 fps; a dead V4L camera stops at its own frame timeout).
    pub fn check_camera(&mut self, frames: u32) -> CameraCheck {
        let device = self.b.camera.describe();
        if self.camera_on {
            return CameraCheck::Busy { device };
        }
        let t0 = std::time::Instant::now();
        let mut size = (0, 0);
        for _ in 0..frames.max(1) {
            match self.b.camera.next_frame() {
                Ok(f) => size = f.image.dimensions(),
                Err(e) => {
                    return CameraCheck::Failed {
                        device,
                        reason: e.to_string(),
                    }
                }
            }
        }
        CameraCheck::Ok {
            device,
            frames: frames.max(1),
            ms: u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX),
            width: size.0,
            height: size.1,
        }
    }
}
