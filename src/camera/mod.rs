//! Frame sources: the tiny [`FrameSource`] trait, the replay source (files or the frames
//! built into the binary) and, on Linux, the V4L2 camera through nokhwa (issue #7).
//!
//! Time comes from the frames' own timestamps: a replay source stamps frame *i* at
//! *i*/fps, so everything downstream (auto-capture hold time) is deterministic.

pub mod replay;
#[cfg(target_os = "linux")]
pub mod v4l;

pub use replay::ReplaySource;

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

/// Opens the configured camera. `live` = the kiosk itself: a replay loops and is paced
/// at its frame rate; otherwise (tests, `simulate`, `diag`) it runs once, unpaced.
pub fn open(spec: &crate::config::CameraSpec, live: bool) -> Result<Box<dyn FrameSource>, CameraError> {
    open_with(spec, &crate::config::Config::builtin().camera, live)
}

/// Like [`open`], with the `[camera]` settings (size, fps, exposure / white-balance
/// locks) for a V4L2 camera.
pub fn open_with(
    spec: &crate::config::CameraSpec,
    settings: &crate::config::CameraSection,
    live: bool,
) -> Result<Box<dyn FrameSource>, CameraError> {
    use crate::config::Device;
    match spec.device() {
        Device::Replay { dir, fps } => {
            let src = ReplaySource::open(dir, *fps, live)?;
            Ok(Box::new(if live { src.paced() } else { src }))
        }
        #[cfg(target_os = "linux")]
        Device::V4l(id) => Ok(Box::new(v4l::V4lSource::open(id, settings)?)),
        #[cfg(not(target_os = "linux"))]
        Device::V4l(id) => Err(CameraError::Failed {
            device: format!("{id:?}"),
            reason: "V4L2 cameras exist only on Linux; use replay:DIR".into(),
        }),
        other => Err(CameraError::Failed {
            device: other.to_string(),
            reason: "not a camera".into(),
        }),
    }
}
