//! The V4L2 camera through nokhwa (Linux). A capture thread owns the device: it grabs
//! MJPEG or YUYV frames, decodes them to RGB (never on the UI thread), and keeps only the
//! newest. When the camera disappears, `next_frame` reports `Disconnected` (the kiosk
//! goes out of service) and the thread reconnects by itself when the device returns.
//!
//! Compile-checked only in CI: no camera hardware there.

use super::{CameraError, Frame, FrameSource};
use crate::config::{CameraSection, V4lId};
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    CameraFormat, CameraIndex, ControlValueSetter, FrameFormat, KnownCameraControl, RequestedFormat,
    RequestedFormatType, Resolution,
};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// V4L2 control ids (linux/v4l2-controls.h) that nokhwa has no names for.
const V4L2_CID_EXPOSURE_AUTO: u128 = 0x009a_0901;
const V4L2_EXPOSURE_MANUAL: i64 = 1;
const V4L2_CID_AUTO_WHITE_BALANCE: u128 = 0x0098_090c;

/// How long `next_frame` waits before calling the camera gone.
const FRAME_TIMEOUT: Duration = Duration::from_secs(2);
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Slot {
    frame: Option<Frame>,
    /// Why the camera is gone, while it is.
    lost: Option<String>,
}

pub struct V4lSource {
    name: String,
    shared: Arc<(Mutex<Slot>, Condvar)>,
    stop: Arc<AtomicBool>,
    last_index: Option<u64>,
}

/// The device index nokhwa wants: `v4l:N`, or a path such as the udev symlink
/// `/dev/kiosk-camera` → `/dev/video2` → 2.
pub fn device_index(id: &V4lId) -> Result<u32, CameraError> {
    match id {
        V4lId::Index(i) => Ok(*i),
        V4lId::Path(p) => {
            let real = std::fs::canonicalize(p).map_err(|e| CameraError::Disconnected {
                device: p.display().to_string(),
                reason: format!("{e}"),
            })?;
            let name = real.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.strip_prefix("video")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| CameraError::Failed {
                    device: p.display().to_string(),
                    reason: format!("{} is not a /dev/videoN node", real.display()),
                })
        }
    }
}

/// True when the camera's device node exists (used to notice a replugged camera).
pub fn present(id: &V4lId) -> bool {
    match id {
        V4lId::Index(i) => Path::new(&format!("/dev/video{i}")).exists(),
        V4lId::Path(p) => p.exists(),
    }
}

impl V4lSource {
    /// Starts the capture thread; the first frame arrives asynchronously.
    pub fn open(id: &V4lId, settings: &CameraSection) -> Result<V4lSource, CameraError> {
        let name = match id {
            V4lId::Index(i) => format!("v4l:{i}"),
            V4lId::Path(p) => format!("v4l:{}", p.display()),
        };
        let shared = Arc::new((Mutex::new(Slot::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (id2, s2, st2, n2, set2) = (id.clone(), shared.clone(), stop.clone(), name.clone(), settings.clone());
        std::thread::Builder::new()
            .name("kiosk-camera".into())
            .spawn(move || capture_loop(&n2, &id2, &set2, &s2, &st2))
            .map_err(|e| CameraError::Failed {
                device: name.clone(),
                reason: format!("cannot start the capture thread: {e}"),
            })?;
        Ok(V4lSource {
            name,
            shared,
            stop,
            last_index: None,
        })
    }
}

impl Drop for V4lSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl FrameSource for V4lSource {
    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        let (lock, cv) = &*self.shared;
        let deadline = Instant::now() + FRAME_TIMEOUT;
        let mut slot = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(reason) = &slot.lost {
                return Err(CameraError::Disconnected {
                    device: self.name.clone(),
                    reason: reason.clone(),
                });
            }
            if let Some(f) = &slot.frame {
                if Some(f.index) != self.last_index {
                    self.last_index = Some(f.index);
                    return Ok(f.clone());
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CameraError::Disconnected {
                    device: self.name.clone(),
                    reason: format!("no frame for {} s", FRAME_TIMEOUT.as_secs()),
                });
            }
            slot = cv.wait_timeout(slot, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

fn capture_loop(name: &str, id: &V4lId, settings: &CameraSection, shared: &(Mutex<Slot>, Condvar), stop: &AtomicBool) {
    let start = Instant::now();
    let mut index = 0u64;
    let mut warned = false;
    while !stop.load(Ordering::SeqCst) {
        let mut cam = match connect(id, settings) {
            Ok(c) => {
                log::info!("camera {name}: streaming {}", c.camera_format());
                shared.0.lock().unwrap_or_else(|e| e.into_inner()).lost = None;
                warned = false;
                c
            }
            Err(reason) => {
                if !warned {
                    log::warn!(
                        "camera {name}: {reason}; retrying every {} s",
                        RECONNECT_EVERY.as_secs()
                    );
                    warned = true;
                }
                set_lost(shared, reason);
                std::thread::sleep(RECONNECT_EVERY);
                continue;
            }
        };
        while !stop.load(Ordering::SeqCst) {
            let decoded = cam
                .frame()
                .map_err(|e| e.to_string())
                .and_then(|buf| decode(buf.source_frame_format(), buf.resolution(), buf.buffer()));
            match decoded {
                Ok(image) => {
                    let frame = Frame {
                        image,
                        t_ms: start.elapsed().as_millis() as u64,
                        index,
                    };
                    index += 1;
                    shared.0.lock().unwrap_or_else(|e| e.into_inner()).frame = Some(frame);
                    shared.1.notify_all();
                }
                Err(reason) => {
                    log::warn!("camera {name} lost: {reason}");
                    set_lost(shared, reason);
                    let _ = cam.stop_stream();
                    break;
                }
            }
        }
    }
}

fn set_lost(shared: &(Mutex<Slot>, Condvar), reason: String) {
    let mut s = shared.0.lock().unwrap_or_else(|e| e.into_inner());
    s.lost = Some(reason);
    s.frame = None;
    shared.1.notify_all();
}

/// Opens the camera at the configured size (MJPEG preferred, YUYV accepted; 640×480 as
/// the fallback size) and applies the exposure / white-balance locks where the driver
/// allows.
fn connect(id: &V4lId, settings: &CameraSection) -> Result<nokhwa::Camera, String> {
    let index = device_index(id).map_err(|e| e.to_string())?;
    let mut last = String::new();
    for (w, h) in [(settings.width, settings.height), (640, 480)] {
        for fourcc in [FrameFormat::MJPEG, FrameFormat::YUYV] {
            let want = CameraFormat::new(Resolution::new(w, h), fourcc, settings.fps);
            let req = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(want));
            match nokhwa::Camera::new(CameraIndex::Index(index), req) {
                Ok(mut cam) => {
                    let got = cam.camera_format();
                    if !matches!(got.format(), FrameFormat::MJPEG | FrameFormat::YUYV) {
                        last = format!("driver offers {got}, not MJPEG/YUYV");
                        continue;
                    }
                    lock_controls(&mut cam, settings);
                    cam.open_stream().map_err(|e| format!("cannot start streaming: {e}"))?;
                    return Ok(cam);
                }
                Err(e) => last = e.to_string(),
            }
        }
    }
    Err(format!("cannot open /dev/video{index}: {last}"))
}

fn lock_controls(cam: &mut nokhwa::Camera, settings: &CameraSection) {
    let mut set = |what: &str, id: u128, v: i64| {
        if let Err(e) = cam.set_camera_control(KnownCameraControl::Other(id), ControlValueSetter::Integer(v)) {
            log::warn!("camera: cannot lock {what} (driver refused: {e}); continuing with auto");
        }
    };
    if settings.lock_exposure {
        set("exposure", V4L2_CID_EXPOSURE_AUTO, V4L2_EXPOSURE_MANUAL);
    }
    if settings.lock_white_balance {
        set("white balance", V4L2_CID_AUTO_WHITE_BALANCE, 0);
    }
}

/// MJPEG (a JPEG per frame) or YUYV 4:2:2 to RGB.
pub fn decode(fourcc: FrameFormat, res: Resolution, data: &[u8]) -> Result<image::RgbImage, String> {
    match fourcc {
        FrameFormat::MJPEG => image::load_from_memory_with_format(data, image::ImageFormat::Jpeg)
            .map(|i| i.to_rgb8())
            .map_err(|e| format!("bad MJPEG frame: {e}")),
        FrameFormat::YUYV => yuyv_to_rgb(res.width(), res.height(), data),
        other => Err(format!("unsupported pixel format {other}")),
    }
}

/// YUYV (Y0 U Y1 V) to RGB with the BT.601 limited-range matrix, in integer maths.
pub fn yuyv_to_rgb(w: u32, h: u32, data: &[u8]) -> Result<image::RgbImage, String> {
    let need = w as usize * h as usize * 2;
    if data.len() < need || !w.is_multiple_of(2) {
        return Err(format!("YUYV frame of {} bytes is short for {w}x{h}", data.len()));
    }
    let mut out = vec![0u8; w as usize * h as usize * 3];
    let px = |y: i32, u: i32, v: i32, o: &mut [u8]| {
        let c = 298 * (y - 16);
        let (d, e) = (u - 128, v - 128);
        o[0] = ((c + 409 * e + 128) >> 8).clamp(0, 255) as u8;
        o[1] = ((c - 100 * d - 208 * e + 128) >> 8).clamp(0, 255) as u8;
        o[2] = ((c + 516 * d + 128) >> 8).clamp(0, 255) as u8;
    };
    for (src, dst) in data[..need].chunks_exact(4).zip(out.chunks_exact_mut(6)) {
        let (y0, u, y1, v) = (src[0] as i32, src[1] as i32, src[2] as i32, src[3] as i32);
        px(y0, u, v, &mut dst[0..3]);
        px(y1, u, v, &mut dst[3..6]);
    }
    image::RgbImage::from_raw(w, h, out).ok_or_else(|| "YUYV size mismatch".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_grey_and_white() {
        // Two pixels: black-ish (Y=16) and white (Y=235), no colour.
        let img = yuyv_to_rgb(2, 1, &[16, 128, 235, 128]).unwrap();
        assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(1, 0).0, [255, 255, 255]);
        assert!(yuyv_to_rgb(4, 1, &[0; 4]).is_err());
    }

    #[test]
    fn index_from_path_follows_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("video7");
        std::fs::write(&target, b"").unwrap();
        let link = d.path().join("kiosk-camera");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(device_index(&V4lId::Path(link)).unwrap(), 7);
        assert!(device_index(&V4lId::Path(d.path().join("missing"))).is_err());
        assert_eq!(device_index(&V4lId::Index(3)).unwrap(), 3);
    }

    #[test]
    fn mjpeg_decodes() {
        let img = image::RgbImage::from_pixel(16, 8, image::Rgb([200, 10, 10]));
        let mut buf = vec![];
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90)
            .encode_image(&img)
            .unwrap();
        let out = decode(FrameFormat::MJPEG, Resolution::new(16, 8), &buf).unwrap();
        assert_eq!(out.dimensions(), (16, 8));
        assert!(out.get_pixel(4, 4).0[0] > 150);
    }
}
