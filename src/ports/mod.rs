//! The ports: the small traits the runtime drives, one per device or service, and the
//! types that cross them. Adapters (`camera`, `vision`, `review`, `printer`) implement
//! them and depend on this module, never on the runtime that drives them; `wiring`
//! picks the adapters from the config.

mod alerts;
mod camera;
mod idcard;
mod printer;
mod review;
mod vision;

pub use alerts::{AdminEvent, Alert, AlertKind, AlertOutcome, Alerts, HallStatus, NoConsole};
pub use camera::{CameraError, Frame, FrameSource};
pub use idcard::{details_from_card, IdCardReader};
pub use printer::{PaperStatus, PrintError, PrinterEvent, SlipPrinter};
pub use review::{reprint_unavailable, Decision, OutboxDepth, Resumed, Submission, Uploader};
pub use vision::{Guide, GuideOutput, PhotoMaker};
