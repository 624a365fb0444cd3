//! `kiosk simulate`: whole sessions headless (see [`crate::simulate`]).

use super::Verdict;
use crate::config::{CameraSpec, Config, DocumentId, RegionCode};
use crate::runtime::Engine;
use crate::session::details::{synthetic_person, Details};
use crate::simulate::{finish_earlier_run, one_session, sim_backends, DetailsFrom, Outcome};
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Directory of frames to replay as the camera (default: the frames built into the binary).
    #[arg(long, value_name = "DIR")]
    pub frames: Option<PathBuf>,
    /// Frame rate the frames are stamped at.
    #[arg(long, default_value_t = 15.0)]
    pub fps: f64,
    /// Document type.
    #[arg(long, value_name = "DOC", default_value = "id-card")]
    pub doc: DocumentId,
    /// Issuing region (GB/T 2260 code).
    #[arg(long, value_name = "CODE", default_value = "440100")]
    pub region: RegionCode,
    /// Details as JSON, e.g. '{"name":"张三","id_number":"11010519491231002X"}'
    /// (default: a synthetic test person).
    #[arg(long, value_name = "JSON", conflicts_with = "idcard")]
    pub details: Option<String>,
    /// Take the details only from the card on this ID-card reader (serial:PATH[,BAUD]),
    /// as a person who confirms what was read; exit 1 when no card can be read.
    #[arg(long, value_name = "DEVICE")]
    pub idcard: Option<crate::config::IdCardSpec>,
    /// Seconds to wait for a card on the reader (with `--idcard`).
    #[arg(long, value_name = "S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub card_wait_s: u64,
    /// Printer: pdf:DIR or serial:PATH[,BAUD[,58|80]] (default: the config's).
    #[arg(long, value_name = "DEVICE")]
    pub printer: Option<crate::config::PrinterSpec>,
    /// Review service: embedded or a URL (default: the config's).
    #[arg(long, value_name = "URL")]
    pub review: Option<crate::config::ReviewSpec>,
    /// Number of sessions back to back. Before the first, whatever an earlier run left is
    /// finished (receipts of uploads resumed after a crash, unfinished print jobs);
    /// `--runs 0` does only that and prints `{"resumed": [NUMBER...]}`.
    #[arg(long, default_value_t = 1)]
    pub runs: u32,
    /// One JSON object per session.
    #[arg(long)]
    pub json: bool,
    /// Press 呼叫工作人员 once before the first session, as a person would: checks that
    /// alerts reach the hall console (`[console]`); says whether staff were reached.
    #[arg(long)]
    pub call_staff: bool,
}

pub fn run(cfg: &Config, args: &SimulateArgs) -> anyhow::Result<Verdict> {
    let mut cfg = cfg.clone();
    if let Some(dir) = &args.frames {
        let spec = format!("replay:{}@{}", dir.display(), args.fps);
        cfg.devices.camera = spec.parse::<CameraSpec>()?;
    }
    if let Some(p) = &args.printer {
        cfg.devices.printer = p.clone();
    }
    if let Some(r) = &args.review {
        cfg.devices.review = r.clone();
    }
    if let Some(r) = &args.idcard {
        cfg.devices.idcard = r.clone();
    }
    let details = match (&args.details, &args.idcard) {
        (_, Some(_)) => DetailsFrom::Card {
            wait: std::time::Duration::from_secs(args.card_wait_s),
        },
        (Some(j), None) => DetailsFrom::Given(
            serde_json::from_str::<Details>(j)
                .context("--details must be JSON like {\"name\":\"…\",\"id_number\":\"…\"}")?,
        ),
        (None, None) => DetailsFrom::Given(synthetic_person()),
    };
    if args.runs == 0 {
        let resumed = finish_earlier_run(&cfg)?;
        if args.json {
            println!("{}", serde_json::json!({ "resumed": resumed }));
        } else if resumed.is_empty() {
            println!("nothing left from an earlier run");
        } else {
            println!("printed what an earlier run left: {}", resumed.join(", "));
        }
        return Ok(Verdict::Ok);
    }
    // One engine for every run, as in the kiosk itself: models, review client and printer
    // are set up once, so a soak measures what a day of sessions does to one process.
    let mut engine = Engine::new(&cfg, sim_backends(&cfg)?);
    if args.call_staff {
        call_staff(&mut engine);
    }
    let mut all_ok = true;
    for run in 0..args.runs {
        if run > 0 {
            engine.set_camera(crate::camera::open_with(&cfg.devices.camera, &cfg.camera, false)?);
        }
        let outcome = one_session(&cfg, &mut engine, args.doc, &args.region, details.clone())?;
        all_ok &= outcome.failed.is_none();
        if args.json {
            println!("{}", serde_json::to_string(&outcome)?);
        } else {
            print_outcome(&outcome);
        }
    }
    Ok(if all_ok { Verdict::Ok } else { Verdict::Negative })
}

/// The 呼叫工作人员 button, and what the screen would then say.
fn call_staff(engine: &mut Engine) {
    // The engine sends its health first, as the kiosk does from its loop: the console
    // then has the kiosk's tile before the alert.
    engine.step();
    engine.handle(crate::session::Event::CallStaff);
    match engine.view().staff_call {
        Some(o) if o.reached_staff() => println!("呼叫工作人员: 已呼叫 / staff were called"),
        Some(crate::ports::AlertOutcome::Failed(why)) => {
            println!("呼叫工作人员: 未送达 / not delivered yet: {why}")
        }
        _ => println!("呼叫工作人员: 没有配置大厅控制台 / no hall console is configured"),
    }
}

pub(super) fn print_outcome(o: &Outcome) {
    match (&o.failed, &o.receipt_number, &o.claim_code) {
        (Some(f), ..) => println!("session failed at {}: {}", f.stage, f.reason),
        (None, Some(n), _) => println!(
            "receipt {n} ({} {}) printed to {} in {:.0} ms",
            o.doc,
            o.region,
            o.printed.as_deref().unwrap_or("?"),
            o.total_ms
        ),
        (None, None, Some(c)) => println!(
            "decision late: claim slip {c} printed to {}",
            o.printed.as_deref().unwrap_or("?")
        ),
        (None, None, None) => println!("session ended without a slip"),
    }
}
