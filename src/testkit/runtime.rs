//! Test backends: deterministic stand-ins for the vision, review and printer backends,
//! used by the engine's own tests and the UI tests. Never used by `kiosk run`.

use crate::config::DocumentSpec;
use crate::domain::{ClaimCode, PhotoJpeg, PrinterFault, Prompt, ReceiptNumber, SlipJob};
use crate::ports::*;

/// The test camera: the frames built into the binary, replayed.
pub use crate::camera::ReplaySource;
use std::sync::{Arc, Mutex};

/// Gives `hint` for the first `bad_frames` frames, then no hint, and captures after
/// `steady_frames` good frames.
pub struct ScriptedGuide {
    pub bad_frames: u64,
    pub steady_frames: u64,
    pub hint: Prompt,
    seen: u64,
}

impl ScriptedGuide {
    pub fn new(bad_frames: u64, steady_frames: u64) -> Self {
        ScriptedGuide {
            bad_frames,
            steady_frames,
            hint: Prompt::new("face_size", "请靠近一些", "Move a little closer"),
            seen: 0,
        }
    }
}

impl Guide for ScriptedGuide {
    fn reset(&mut self, _spec: &DocumentSpec) {
        self.seen = 0;
    }
    fn analyse(&mut self, frame: &Frame) -> GuideOutput {
        self.seen += 1;
        let good = self.seen > self.bad_frames;
        GuideOutput {
            face_present: true,
            hint: (!good).then(|| self.hint.clone()),
            pose_ok: good,
            face_box: Some([200.0, 100.0, 200.0, 240.0]),
            captured: (self.seen == self.bad_frames + self.steady_frames).then(|| frame.image.clone()),
        }
    }
}

/// Makes a plain white JPEG of the document's size (or always refuses).
pub struct PlainMaker {
    pub refuse: bool,
}

impl PhotoMaker for PlainMaker {
    fn make(&mut self, _capture: &image::RgbImage, spec: &DocumentSpec) -> Result<PhotoJpeg, Vec<Prompt>> {
        if self.refuse {
            return Err(vec![Prompt::new("face_position", "请居中", "Centre yourself")]);
        }
        let img = image::RgbImage::from_pixel(spec.width, spec.height, image::Rgb([250, 250, 250]));
        let mut buf = vec![];
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90)
            .encode_image(&img)
            .map_err(|_| vec![])?;
        Ok(PhotoJpeg(buf))
    }
}

/// The token of [`ScriptedUploader::approving`]'s receipt.
pub const SCRIPTED_TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// Decides after `polls` polls; records what was submitted (sizes only).
#[derive(Default)]
pub struct ScriptedUploader {
    pub polls: u32,
    pub decision: Option<Decision>,
    pub refuse: Option<Prompt>,
    pub submitted: Arc<Mutex<Vec<(String, usize)>>>,
    pub pending: Option<u32>,
    /// Receipts "left by an earlier run", handed out by `take_resumed`.
    pub resumed: Vec<Resumed>,
    /// Numbers `settle`d (printed), in order.
    pub settled: Arc<Mutex<Vec<String>>>,
    /// What `outbox_depth` reports (shared, so a test can change it while the kiosk runs).
    pub outbox: Arc<Mutex<OutboxDepth>>,
}

impl ScriptedUploader {
    pub fn approving(polls: u32) -> Self {
        ScriptedUploader {
            polls,
            decision: Some(Decision::Approved {
                number: ReceiptNumber::new("440100261126000017").expect("valid"),
                valid_until: chrono::NaiveDate::from_ymd_opt(2027, 5, 25).expect("valid"),
                token: crate::domain::ReceiptToken::new(SCRIPTED_TOKEN).expect("valid"),
            }),
            ..Default::default()
        }
    }
}

impl Uploader for ScriptedUploader {
    fn outbox_depth(&mut self) -> Result<OutboxDepth, Prompt> {
        Ok(*self.outbox.lock().expect("test lock"))
    }
    fn submit(&mut self, s: Submission) -> Result<ClaimCode, Prompt> {
        if let Some(p) = &self.refuse {
            return Err(p.clone());
        }
        self.submitted
            .lock()
            .unwrap()
            .push((s.doc.to_string(), s.photo.0.len()));
        self.pending = Some(0);
        Ok(ClaimCode("00112233445566778899aabbccddeeff".into()))
    }
    fn poll(&mut self) -> Option<Decision> {
        let n = self.pending.as_mut()?;
        *n += 1;
        if *n >= self.polls {
            self.pending = None;
            self.decision.clone()
        } else {
            None
        }
    }
    fn abandon(&mut self) {
        self.pending = None;
    }
    fn take_resumed(&mut self) -> Option<Resumed> {
        self.resumed.pop()
    }
    fn settle(&mut self, number: &ReceiptNumber) {
        self.settled.lock().unwrap().push(number.to_string());
    }
}

/// Records jobs; reports each as printed (or a fault first, when told to).
#[derive(Default)]
pub struct RecordingPrinter {
    pub jobs: Arc<Mutex<Vec<SlipJob>>>,
    /// Operator reprints ([`SlipPrinter::reprint`]), kept apart from first prints.
    pub reprints: Arc<Mutex<Vec<SlipJob>>>,
    pub fault_first: Option<PrinterFault>,
    pub events: Vec<PrinterEvent>,
}

impl SlipPrinter for RecordingPrinter {
    fn print(&mut self, job: SlipJob) -> Result<(), PrintError> {
        self.jobs.lock().unwrap().push(job);
        if let Some(f) = self.fault_first.take() {
            self.events.push(PrinterEvent::Fault(f));
            self.events.push(PrinterEvent::Ready);
        }
        let key = self
            .jobs
            .lock()
            .unwrap()
            .last()
            .map(|j| j.slip.key())
            .unwrap_or_default();
        self.events.push(PrinterEvent::Printed {
            at: "memory".into(),
            key,
        });
        Ok(())
    }
    fn poll(&mut self) -> Option<PrinterEvent> {
        (!self.events.is_empty()).then(|| self.events.remove(0))
    }
    fn paper(&mut self) -> PaperStatus {
        let n = self.jobs.lock().unwrap().len() as u32;
        PaperStatus {
            slips_since_reload: n,
            spoiled_since_reload: 0,
            estimated_left_mm: 50_000 - 150 * n,
            near_end: false,
        }
    }
    fn reloaded(&mut self) -> Result<(), PrintError> {
        self.jobs.lock().unwrap().clear();
        Ok(())
    }
    fn reprint(&mut self, job: SlipJob) -> Result<(), PrintError> {
        let key = job.slip.key();
        self.reprints.lock().unwrap().push(job);
        self.events.push(PrinterEvent::Printed {
            at: "memory".into(),
            key,
        });
        Ok(())
    }
}

/// Records every alert; a console that accepts them (`accept`) or none at all.
#[derive(Clone, Default)]
pub struct RecordingAlerts {
    pub alerts: Arc<Mutex<Vec<Alert>>>,
    /// Maintenance-screen events, in order.
    pub admin: Arc<Mutex<Vec<crate::ports::AdminEvent>>>,
    pub accept: bool,
}

impl RecordingAlerts {
    /// A console that takes every alert.
    pub fn console() -> Self {
        RecordingAlerts {
            accept: true,
            ..Default::default()
        }
    }
}

impl Alerts for RecordingAlerts {
    fn raise(&mut self, alert: &Alert) -> AlertOutcome {
        self.alerts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(alert.clone());
        if self.accept {
            AlertOutcome::Accepted
        } else {
            AlertOutcome::NoConsole
        }
    }
    fn admin(&mut self, e: crate::ports::AdminEvent) {
        self.admin.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }
    fn describe(&self) -> String {
        "recording".into()
    }
}
