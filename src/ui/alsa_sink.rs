//! The real [`PcmOut`]: ALSA's `default` device, opened per clip with a short buffer so a
//! cut prompt stops within a tenth of a second.

use super::voice::PcmOut;
use crate::config::Language;
use alsa::pcm::{Access, Format, HwParams, PCM};

#[derive(Default)]
pub struct AlsaOut {
    pcm: Option<PCM>,
}

fn err(e: alsa::Error) -> String {
    e.to_string()
}

impl PcmOut for AlsaOut {
    fn start(&mut self, _id: &str, _lang: Language, channels: u16, rate: u32) -> Result<(), String> {
        self.pcm = None;
        let pcm = PCM::new("default", alsa::Direction::Playback, false).map_err(err)?;
        {
            let hwp = HwParams::any(&pcm).map_err(err)?;
            hwp.set_channels(u32::from(channels)).map_err(err)?;
            hwp.set_rate(rate, alsa::ValueOr::Nearest).map_err(err)?;
            hwp.set_format(Format::s16()).map_err(err)?;
            hwp.set_access(Access::RWInterleaved).map_err(err)?;
            // 100 ms of buffer: what is already in it still plays after a cut.
            hwp.set_buffer_time_near(100_000, alsa::ValueOr::Nearest).map_err(err)?;
            pcm.hw_params(&hwp).map_err(err)?;
        }
        self.pcm = Some(pcm);
        Ok(())
    }

    fn write(&mut self, samples: &[i16]) -> Result<(), String> {
        let Some(pcm) = &self.pcm else {
            return Err("no open sound device".into());
        };
        let channels = pcm.hw_params_current().and_then(|h| h.get_channels()).map_err(err)? as usize;
        let io = pcm.io_i16().map_err(err)?;
        let mut rest = samples;
        while !rest.is_empty() {
            match io.writei(rest) {
                Ok(frames) => rest = &rest[(frames * channels.max(1)).min(rest.len())..],
                // An underrun (the UI thread was busy): recover and go on.
                Err(e) => pcm.try_recover(e, true).map_err(err)?,
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        if let Some(pcm) = self.pcm.take() {
            pcm.drain().map_err(err)?;
        }
        Ok(())
    }

    fn cut(&mut self) {
        if let Some(pcm) = self.pcm.take() {
            let _ = pcm.drop();
        }
    }
}
