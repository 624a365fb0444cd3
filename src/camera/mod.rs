//! Frame sources: the tiny [`FrameSource`] trait, the replay source (files or the frames
//! built into the binary) and, on Linux, the V4L2 camera through nokhwa (issue #7).
//!
//! Time comes from the frames' own timestamps: a replay source stamps frame *i* at
//! *i*/fps, so everything downstream (auto-capture hold time) is deterministic.

pub mod replay;
#[cfg(target_os = "linux")]
pub mod v4l;

pub use crate::ports::{CameraError, Frame, FrameSource};
pub use replay::ReplaySource;

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
