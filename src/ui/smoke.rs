//! Smoke-test driver for `kiosk run` under Xvfb in CI (hidden flags): walks attract →
//! posing through the same `AppState` callbacks a tap triggers, saves a screenshot of the
//! live preview, and quits. Never active on a kiosk unless those flags are given.

use super::generated::AppState;
use super::{KioskUi, Page, WindowOptions};
use slint::ComponentHandle;
use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

pub struct Walker {
    ui: Rc<KioskUi>,
    walk: bool,
    screenshot: Option<PathBuf>,
    quit_after: Option<f64>,
    started: Instant,
    posing_since: Cell<Option<Instant>>,
    last_page: std::cell::Cell<Option<Page>>,
}

impl Walker {
    pub fn new(ui: Rc<KioskUi>, args: &WindowOptions) -> Walker {
        Walker {
            ui,
            walk: args.demo_walk,
            screenshot: args.screenshot.clone(),
            quit_after: args.quit_after,
            started: Instant::now(),
            posing_since: Cell::new(None),
            last_page: Default::default(),
        }
    }

    pub fn step(&self) {
        if self
            .quit_after
            .is_some_and(|s| self.started.elapsed().as_secs_f64() >= s)
        {
            log::info!("smoke: quitting after {:.1} s", self.started.elapsed().as_secs_f64());
            let _ = slint::quit_event_loop();
            return;
        }
        let g = self.ui.window().global::<AppState>();
        let page = g.get_page();
        let fresh = self.last_page.get() != Some(page);
        self.last_page.set(Some(page));
        if self.walk && fresh {
            self.walk_from(&g, page);
        }
        if page == Page::Posing && g.get_has_preview() {
            let since = self.posing_since.get().unwrap_or_else(Instant::now);
            self.posing_since.set(Some(since));
            if since.elapsed().as_secs_f64() >= 2.5 {
                if let Some(path) = &self.screenshot {
                    log::info!(
                        "smoke: posing preview {:.1} fps shown, resident memory {:.1} MB",
                        self.ui.preview_fps(),
                        rss_mb()
                    );
                    self.save(path);
                    let _ = slint::quit_event_loop();
                }
            }
        }
    }

    fn walk_from(&self, g: &AppState<'_>, page: Page) {
        match page {
            Page::Attract => g.invoke_start(),
            Page::ChooseDocument => {
                if let Some(d) = slint::Model::row_data(&g.get_documents(), 0) {
                    g.invoke_choose_document(d.id);
                }
            }
            Page::ChooseRegion => {
                let home = g.get_home_region();
                if !home.id.is_empty() {
                    g.invoke_choose_region(home.id);
                } else if let Some(r) = slint::Model::row_data(&g.get_regions(), 0) {
                    g.invoke_choose_region(r.id);
                }
            }
            Page::Consent => g.invoke_consent(true),
            Page::Details => {
                let d = crate::session::details::synthetic_person();
                g.invoke_submit_details(
                    d.name.clone().unwrap_or_default().into(),
                    d.id_number.clone().unwrap_or_default().into(),
                    "".into(),
                );
            }
            _ => {}
        }
    }

    fn save(&self, path: &std::path::Path) {
        match self.ui.window().window().take_snapshot() {
            Ok(buf) => {
                let img = image::RgbaImage::from_raw(buf.width(), buf.height(), buf.as_bytes().to_vec());
                match img.map(|i| i.save(path)) {
                    Some(Ok(())) => log::info!("smoke: window saved to {}", path.display()),
                    Some(Err(e)) => log::error!("smoke: cannot write {}: {e}", path.display()),
                    None => log::error!("smoke: snapshot has an odd size"),
                }
            }
            Err(e) => log::error!("smoke: cannot take a window snapshot: {e}"),
        }
    }
}

/// Resident set size of this process (Linux), in MB.
pub fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
