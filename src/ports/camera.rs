//! The camera port: anything that yields timestamped frames.

use std::path::PathBuf;

/// One camera frame, RGB, with its capture time on the source's own clock.
#[derive(Clone)]
pub struct Frame {
    pub image: image::RgbImage,
    /// Milliseconds since the source started.
    pub t_ms: u64,
    /// Sequence number from 0.
    pub index: u64,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Frame(#{} t={}ms {}x{})",
            self.index,
            self.t_ms,
            self.image.width(),
            self.image.height()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// The device went away (unplugged); the kiosk shows out-of-service and reconnects.
    #[error("camera {device} disconnected: {reason}. Fix: check the USB cable; the kiosk reconnects by itself")]
    Disconnected { device: String, reason: String },
    /// A replay without looping has no more frames.
    #[error("replay {device} has no more frames")]
    EndOfStream { device: String },
    #[error("camera {device}: {reason}")]
    Failed { device: String, reason: String },
    #[error("cannot read frame {path}: {reason}. Fix: the replay directory must hold JPEG/PNG frames")]
    BadFrame { path: PathBuf, reason: String },
}

/// Anything that yields frames.
pub trait FrameSource: Send {
    /// The next frame; blocks until one is available.
    fn next_frame(&mut self) -> Result<Frame, CameraError>;
    /// Human-readable device name for diagnostics and errors.
    fn describe(&self) -> String;
}
