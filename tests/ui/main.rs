//! The touch UI on Slint's testing backend (each test on its own thread, which holds its own platform), and the real binary on Xvfb.
//!
//! One test binary of modules (as ripgrep's `tests/integration`): the crate is linked
//! once for all of them.

#[path = "../ui_support/mod.rs"]
mod ui_support;

mod admin;
mod assets;
mod flow;
mod kiosk_xvfb;
mod layout;
mod pinyin;
mod qr;
mod reprint;
mod screens;
mod screenshots;
mod walkup;
