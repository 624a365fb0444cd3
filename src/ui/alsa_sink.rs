//! The real [`AudioSink`]: a thread that plays the embedded clips on ALSA's `default`
//! device. With no sound device it logs once and carries on silently.

use super::audio::{clip, parse_wav, scale_s16, AudioSink};
use std::sync::mpsc::{self, Sender};

pub struct AlsaSink {
    tx: Option<Sender<String>>,
}

impl AlsaSink {
    pub fn start(volume: u8) -> AlsaSink {
        let (tx, rx) = mpsc::channel::<String>();
        let spawned = std::thread::Builder::new().name("kiosk-voice".into()).spawn(move || {
            let mut warned = false;
            while let Ok(mut id) = rx.recv() {
                // Only the newest prompt matters: skip any that queued up meanwhile.
                while let Ok(newer) = rx.try_recv() {
                    id = newer;
                }
                if let Err(e) = play(&id, volume) {
                    if !warned {
                        log::warn!("voice prompts off: cannot play on ALSA `default`: {e}. Fix: check the speaker and `aplay -l`");
                        warned = true;
                    }
                }
            }
        });
        match spawned {
            Ok(_) => AlsaSink { tx: Some(tx) },
            Err(e) => {
                log::warn!("voice prompts off: cannot start the audio thread: {e}");
                AlsaSink { tx: None }
            }
        }
    }
}

impl AudioSink for AlsaSink {
    fn play(&mut self, id: &str) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(id.to_string());
        }
    }
}

fn play(id: &str, volume: u8) -> Result<(), String> {
    let Some(bytes) = clip(id) else {
        return Ok(());
    };
    let wav = parse_wav(bytes)?;
    if wav.bits != 16 {
        return Err(format!("clip {id}: {} bits per sample, expected 16", wav.bits));
    }
    let samples = scale_s16(wav.data, volume);
    use alsa::pcm::{Access, Format, HwParams, PCM};
    let pcm = PCM::new("default", alsa::Direction::Playback, false).map_err(|e| e.to_string())?;
    {
        let hwp = HwParams::any(&pcm).map_err(|e| e.to_string())?;
        hwp.set_channels(u32::from(wav.channels)).map_err(|e| e.to_string())?;
        hwp.set_rate(wav.rate, alsa::ValueOr::Nearest)
            .map_err(|e| e.to_string())?;
        hwp.set_format(Format::s16()).map_err(|e| e.to_string())?;
        hwp.set_access(Access::RWInterleaved).map_err(|e| e.to_string())?;
        pcm.hw_params(&hwp).map_err(|e| e.to_string())?;
    }
    let io = pcm.io_i16().map_err(|e| e.to_string())?;
    io.writei(&samples).map_err(|e| e.to_string())?;
    pcm.drain().map_err(|e| e.to_string())?;
    Ok(())
}
