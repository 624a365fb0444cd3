//! Voice prompts: the clips rendered by `deploy/render-voice.sh` (embedded in the binary)
//! and the [`AudioSink`] they are played through. The real sink is [`super::voice`]'s
//! player thread, so the UI never waits for sound; with no sound device it logs once and
//! stays silent.

use crate::config::Language;
use std::sync::{Arc, Mutex};

macro_rules! clips {
    ($($id:literal),* $(,)?) => {
        /// Every voice clip id: the ten capture checks, `hold_still`, and screen prompts.
        pub const CLIP_IDS: &[&str] = &[$($id),*];
        /// The embedded WAV for `id` in `lang` (`assets/voice/zh/` or `assets/voice/en/`).
        pub fn clip(lang: Language, id: &str) -> Option<&'static [u8]> {
            match (lang, id) {
                $((Language::Zh, $id) => Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/voice/zh/", $id, ".wav"))),)*
                $((Language::En, $id) => Some(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/voice/en/", $id, ".wav"))),)*
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
    "choose_region",
    "details",
    "card",
    "consent",
    "declined",
    "posing",
    "review_photo",
    "uploading",
    "printing",
    "waiting",
    "take_receipt",
    "take_claim",
    "see_staff",
    "out_of_service",
    "still_there",
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
    /// Plays clip `id` (a hint or screen prompt) in `lang` without blocking, cutting off
    /// whatever was still playing; unknown ids are ignored.
    fn play(&mut self, id: &str, lang: Language);
    /// Sets the playback volume (0–100) from now on (the admin menu's setting).
    fn set_volume(&mut self, _volume: u8) {}
}

/// Records the ids played, with their language, and the volume set (tests).
#[derive(Clone, Default)]
pub struct RecordingSink {
    pub played: Arc<Mutex<Vec<(String, Language)>>>,
    pub volume: Arc<Mutex<Option<u8>>>,
}

impl AudioSink for RecordingSink {
    fn play(&mut self, id: &str, lang: Language) {
        self.played
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id.to_string(), lang));
    }

    fn set_volume(&mut self, volume: u8) {
        *self.volume.lock().unwrap_or_else(|e| e.into_inner()) = Some(volume);
    }
}

/// Plays nothing (muted in the config).
pub struct Silent;

impl AudioSink for Silent {
    fn play(&mut self, _id: &str, _lang: Language) {}
}

/// The sink for the kiosk: muted → [`Silent`]; otherwise the voice player on ALSA.
pub fn from_config(audio: &crate::config::AudioSection) -> Box<dyn AudioSink> {
    if audio.mute {
        log::info!("voice prompts muted in the config ([audio] mute)");
        return Box::new(Silent);
    }
    Box::new(super::voice::VoicePlayer::start(
        Box::<super::alsa_sink::AlsaOut>::default(),
        audio.volume,
    ))
}
