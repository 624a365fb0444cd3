//! Voice prompts: the clips rendered by `deploy/render-voice.sh` (embedded in the binary)
//! and the [`AudioSink`] they are played through. The real sink plays on its own thread
//! so the UI never waits for sound; with no sound device it logs once and stays silent.

use std::sync::{Arc, Mutex};

macro_rules! clips {
    ($($id:literal),* $(,)?) => {
        /// Every voice clip id: the ten capture checks, `hold_still`, and screen prompts.
        pub const CLIP_IDS: &[&str] = &[$($id),*];
        /// The embedded WAV for `id`.
        pub fn clip(id: &str) -> Option<&'static [u8]> {
            match id {
                $($id => Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/voice/", $id, ".wav"))),)*
                _ => None,
            }
        }
    };
}

clips!(
    "face_count",
    "face_size",
    "face_position",
    "head_pose",
    "eyes_visible",
    "exposure",
    "lighting",
    "sharpness",
    "background",
    "accessory",
    "hold_still",
    "welcome",
    "choose_document",
    "details",
    "posing",
    "review_photo",
    "take_receipt",
    "see_staff",
    "still_there",
    "consent",
    "declined",
    "card",
    "see_desk",
    "chime",
);

/// The capture-check names: each must have a clip. The one list is vision's.
pub use crate::vision::checks::CHECK_NAMES as CHECK_IDS;

/// A parsed PCM WAV (what espeak-ng writes: 16-bit little-endian).
#[derive(Debug, Clone, PartialEq)]
pub struct Wav<'a> {
    pub channels: u16,
    pub rate: u32,
    pub bits: u16,
    pub data: &'a [u8],
}

impl Wav<'_> {
    pub fn seconds(&self) -> f64 {
        let frame = u64::from(self.channels) * u64::from(self.bits / 8);
        if frame == 0 || self.rate == 0 {
            return 0.0;
        }
        self.data.len() as f64 / frame as f64 / f64::from(self.rate)
    }
}

/// Parses a RIFF/WAVE file (PCM only). espeak-ng writes an oversized data length when
/// writing to a pipe, so the data chunk is clamped to the file.
pub fn parse_wav(b: &[u8]) -> Result<Wav<'_>, String> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file".into());
    }
    let (mut fmt, mut pos) = (None, 12usize);
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let len = u32::from_le_bytes([b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]]) as usize;
        let body = pos + 8;
        let end = body.saturating_add(len).min(b.len());
        if id == b"fmt " && end - body >= 16 {
            let f = &b[body..end];
            let format = u16::from_le_bytes([f[0], f[1]]);
            if format != 1 {
                return Err(format!("WAV format {format} is not PCM"));
            }
            fmt = Some((
                u16::from_le_bytes([f[2], f[3]]),
                u32::from_le_bytes([f[4], f[5], f[6], f[7]]),
                u16::from_le_bytes([f[14], f[15]]),
            ));
        } else if id == b"data" {
            let (channels, rate, bits) = fmt.ok_or("WAV data before fmt")?;
            return Ok(Wav {
                channels,
                rate,
                bits,
                data: &b[body..end],
            });
        }
        pos = body + len + (len & 1);
    }
    Err("WAV without a data chunk".into())
}

/// Where voice prompts go.
pub trait AudioSink {
    /// Plays clip `id` (a hint or screen prompt) without blocking; unknown ids are ignored.
    fn play(&mut self, id: &str);
    /// Sets the playback volume (0–100) from now on (the admin menu's setting).
    fn set_volume(&mut self, _volume: u8) {}
}

/// Records the ids played (tests).
#[derive(Clone, Default)]
pub struct RecordingSink(pub Arc<Mutex<Vec<String>>>);

impl AudioSink for RecordingSink {
    fn play(&mut self, id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(id.to_string());
    }
}

/// Plays nothing (muted in the config).
pub struct Silent;

impl AudioSink for Silent {
    fn play(&mut self, _id: &str) {}
}

/// Scales 16-bit little-endian samples by `volume` (0–100).
pub fn scale_s16(data: &[u8], volume: u8) -> Vec<i16> {
    let g = f32::from(volume.min(100)) / 100.0;
    data.chunks_exact(2)
        .map(|c| (f32::from(i16::from_le_bytes([c[0], c[1]])) * g) as i16)
        .collect()
}

/// The sink for the kiosk: muted → [`Silent`]; otherwise the ALSA player thread.
pub fn from_config(audio: &crate::config::AudioSection) -> Box<dyn AudioSink> {
    if audio.mute || audio.volume == 0 {
        log::info!("voice prompts muted in the config ([audio] mute/volume)");
        return Box::new(Silent);
    }
    Box::new(super::alsa_sink::AlsaSink::start(audio.volume))
}
