//! The voice player: one thread that plays clips in 50 ms chunks on a [`PcmOut`], checking
//! between chunks for a newer prompt. A new prompt cuts the old one at once, so the voice
//! never talks about a screen that is already gone; the UI thread only sends a message.

use super::audio::{clip, parse_wav, AudioSink};
use crate::config::Language;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A sound output (ALSA on the kiosk, [`RecordingOut`] in tests). `write` blocks while the
/// device is full: that is what paces the player.
pub trait PcmOut: Send {
    /// Gets ready for clip `id`: 16-bit samples, `channels` interleaved at `rate` Hz.
    fn start(&mut self, id: &str, lang: Language, channels: u16, rate: u32) -> Result<(), String>;
    fn write(&mut self, samples: &[i16]) -> Result<(), String>;
    /// The clip was written to its end: let the device play out what it holds.
    fn finish(&mut self) -> Result<(), String>;
    /// A newer prompt came: drop what the device still holds of this clip.
    fn cut(&mut self);
}

enum Cmd {
    Play(String, Language),
    Volume(u8),
}

/// The [`AudioSink`] the kiosk uses: sends each prompt to the player thread.
pub struct VoicePlayer {
    tx: Option<Sender<Cmd>>,
}

impl VoicePlayer {
    /// Starts the player thread on `out` at `volume` (0–100). With no thread the kiosk
    /// carries on silently (logged).
    pub fn start(out: Box<dyn PcmOut>, volume: u8) -> VoicePlayer {
        let (tx, rx) = mpsc::channel::<Cmd>();
        let spawned = std::thread::Builder::new()
            .name("kiosk-voice".into())
            .spawn(move || run(out, &rx, volume));
        match spawned {
            Ok(_) => VoicePlayer { tx: Some(tx) },
            Err(e) => {
                log::warn!("voice prompts off: cannot start the audio thread: {e}");
                VoicePlayer { tx: None }
            }
        }
    }

    fn send(&self, cmd: Cmd) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(cmd);
        }
    }
}

impl AudioSink for VoicePlayer {
    fn play(&mut self, id: &str, lang: Language) {
        self.send(Cmd::Play(id.to_string(), lang));
    }

    fn set_volume(&mut self, volume: u8) {
        self.send(Cmd::Volume(volume.min(100)));
    }
}

enum Outcome {
    Done,
    /// Cut by this newer prompt.
    Cut((String, Language)),
    /// The sink was dropped: the kiosk is shutting down.
    Closed,
}

fn run(mut out: Box<dyn PcmOut>, rx: &Receiver<Cmd>, mut volume: u8) {
    let mut warned = false;
    let mut next = None;
    loop {
        let mut prompt = match next.take() {
            Some(p) => p,
            None => match rx.recv() {
                Ok(Cmd::Play(id, lang)) => (id, lang),
                Ok(Cmd::Volume(v)) => {
                    volume = v;
                    continue;
                }
                Err(_) => return,
            },
        };
        // Only the newest prompt matters: skip any that queued up meanwhile.
        loop {
            match rx.try_recv() {
                Ok(Cmd::Play(id, lang)) => prompt = (id, lang),
                Ok(Cmd::Volume(v)) => volume = v,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        match play_one(&mut *out, rx, &prompt, &mut volume) {
            Ok(Outcome::Done) => {}
            Ok(Outcome::Cut(newer)) => next = Some(newer),
            Ok(Outcome::Closed) => return,
            Err(e) => {
                if !warned {
                    log::warn!(
                        "voice prompts off: cannot play clip {}: {e}. Fix: check the speaker and `aplay -l`",
                        prompt.0
                    );
                    warned = true;
                }
            }
        }
    }
}

fn play_one(
    out: &mut dyn PcmOut,
    rx: &Receiver<Cmd>,
    (id, lang): &(String, Language),
    volume: &mut u8,
) -> Result<Outcome, String> {
    let Some(bytes) = clip(*lang, id) else {
        return Ok(Outcome::Done);
    };
    let wav = parse_wav(bytes)?;
    if wav.bits != 16 {
        return Err(format!("clip {id}: {} bits per sample, expected 16", wav.bits));
    }
    let samples: Vec<i16> = wav
        .data
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    out.start(id, *lang, wav.channels, wav.rate)?;
    let chunk = (wav.rate as usize / 20).max(1) * usize::from(wav.channels.max(1));
    for part in samples.chunks(chunk) {
        loop {
            match rx.try_recv() {
                Ok(Cmd::Play(newer, l)) => {
                    out.cut();
                    return Ok(Outcome::Cut((newer, l)));
                }
                Ok(Cmd::Volume(v)) => *volume = v,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    out.cut();
                    return Ok(Outcome::Closed);
                }
            }
        }
        out.write(&scale(part, *volume))?;
    }
    out.finish()?;
    Ok(Outcome::Done)
}

/// Scales samples by `volume` (0–100).
pub fn scale(samples: &[i16], volume: u8) -> Vec<i16> {
    let g = f32::from(volume.min(100)) / 100.0;
    samples.iter().map(|s| (f32::from(*s) * g) as i16).collect()
}

/// What a [`RecordingOut`] heard of one clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Played {
    pub id: String,
    pub lang: Language,
    /// Samples written (all channels).
    pub samples: usize,
    /// The loudest sample written: shows the volume setting took effect.
    pub peak: u16,
    /// Played to its end.
    pub finished: bool,
    /// Cut off by a newer prompt.
    pub cut: bool,
}

/// A [`PcmOut`] that records what it was given, paced like a device at real time divided
/// by `speed` (tests use it as the recording audio sink).
#[derive(Clone)]
pub struct RecordingOut {
    pub played: Arc<Mutex<Vec<Played>>>,
    speed: f64,
    rate: u32,
    channels: u16,
}

impl RecordingOut {
    pub fn new(speed: f64) -> RecordingOut {
        RecordingOut {
            played: Arc::default(),
            speed: speed.max(1e-3),
            rate: 1,
            channels: 1,
        }
    }

    pub fn log(&self) -> Vec<Played> {
        self.played.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn last(&self, f: impl FnOnce(&mut Played)) {
        if let Some(p) = self.played.lock().unwrap_or_else(|e| e.into_inner()).last_mut() {
            f(p);
        }
    }
}

impl PcmOut for RecordingOut {
    fn start(&mut self, id: &str, lang: Language, channels: u16, rate: u32) -> Result<(), String> {
        (self.rate, self.channels) = (rate.max(1), channels.max(1));
        self.played.lock().unwrap_or_else(|e| e.into_inner()).push(Played {
            id: id.to_string(),
            lang,
            samples: 0,
            peak: 0,
            finished: false,
            cut: false,
        });
        Ok(())
    }

    fn write(&mut self, samples: &[i16]) -> Result<(), String> {
        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        self.last(|p| {
            p.samples += samples.len();
            p.peak = p.peak.max(peak);
        });
        let secs = samples.len() as f64 / f64::from(self.rate) / f64::from(self.channels) / self.speed;
        std::thread::sleep(Duration::from_secs_f64(secs));
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        self.last(|p| p.finished = true);
        Ok(())
    }

    fn cut(&mut self) {
        self.last(|p| p.cut = true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn total(lang: Language, id: &str) -> usize {
        parse_wav(clip(lang, id).unwrap()).unwrap().data.len() / 2
    }

    fn wait_until(out: &RecordingOut, what: &str, done: impl Fn(&[Played]) -> bool) -> Vec<Played> {
        let t0 = Instant::now();
        loop {
            let log = out.log();
            if done(&log) {
                return log;
            }
            assert!(t0.elapsed() < Duration::from_secs(20), "{what}: {log:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_new_prompt_cuts_the_one_playing() {
        // Four times real time: the welcome lasts seconds, so it is surely still playing.
        let out = RecordingOut::new(4.0);
        let mut p = VoicePlayer::start(Box::new(out.clone()), 80);
        let t0 = Instant::now();
        p.play("welcome", Language::Zh);
        // `play` only sends a message: the UI thread never waits for sound.
        assert!(t0.elapsed() < Duration::from_millis(50));
        wait_until(&out, "the welcome starts", |l| l.first().is_some_and(|w| w.samples > 0));
        p.play("choose_document", Language::En);
        let log = wait_until(&out, "the second prompt plays out", |l| l.len() == 2 && l[1].finished);
        let (first, second) = (&log[0], &log[1]);
        assert_eq!(first.id, "welcome");
        assert!(first.cut && !first.finished, "{first:?}");
        assert!(
            first.samples < total(Language::Zh, "welcome") / 2,
            "the welcome went on after the next screen's prompt: {} of {} samples",
            first.samples,
            total(Language::Zh, "welcome")
        );
        assert_eq!((second.id.as_str(), second.lang), ("choose_document", Language::En));
        assert_eq!(second.samples, total(Language::En, "choose_document"));
        assert!(!second.cut);
    }

    #[test]
    fn prompts_queued_while_one_plays_collapse_to_the_newest() {
        let out = RecordingOut::new(8.0);
        let mut p = VoicePlayer::start(Box::new(out.clone()), 80);
        p.play("welcome", Language::Zh);
        wait_until(&out, "the welcome starts", |l| !l.is_empty());
        for id in ["choose_document", "choose_region", "consent"] {
            p.play(id, Language::Zh);
        }
        let log = wait_until(&out, "the last prompt plays out", |l| {
            l.last().is_some_and(|p| p.finished)
        });
        let ids: Vec<&str> = log.iter().map(|p| p.id.as_str()).collect();
        // Nobody hears prompts for screens already left.
        assert_eq!(ids.first(), Some(&"welcome"));
        assert_eq!(ids.last(), Some(&"consent"));
        assert!(ids.len() <= 3, "{ids:?}");
    }

    #[test]
    fn the_volume_setting_scales_what_is_played() {
        let out = RecordingOut::new(50.0);
        let mut p = VoicePlayer::start(Box::new(out.clone()), 100);
        p.play("chime", Language::Zh);
        wait_until(&out, "full volume", |l| l.len() == 1 && l[0].finished);
        p.set_volume(30);
        p.play("chime", Language::Zh);
        let log = wait_until(&out, "30 %", |l| l.len() == 2 && l[1].finished);
        let ratio = f64::from(log[1].peak) / f64::from(log[0].peak);
        assert!((ratio - 0.3).abs() < 0.02, "peak ratio {ratio}: {log:?}");
        p.set_volume(0);
        p.play("chime", Language::Zh);
        let log = wait_until(&out, "muted", |l| l.len() == 3 && l[2].finished);
        assert_eq!(log[2].peak, 0);
    }

    #[test]
    fn unknown_ids_are_ignored_and_the_player_goes_on() {
        let out = RecordingOut::new(50.0);
        let mut p = VoicePlayer::start(Box::new(out.clone()), 80);
        p.play("no_such_clip", Language::Zh);
        p.play("chime", Language::En);
        let log = wait_until(&out, "the chime", |l| l.len() == 1 && l[0].finished);
        assert_eq!(log[0].id, "chime");
    }
}
