//! The photo-receipt kiosk: guided capture of a standard-compliant ID photo, its upload to
//! the photo-review centre, and the receipt slip with the receipt number (照片回执).
//!
//! Module map (see `docs/architecture.md`, whose "may use" table the `layering` test
//! enforces): a pure core (`config`, `domain`, `session`, the vision checks, the receipt
//! layout) and the `ports` the runtime drives, adapters at the edges (`camera`, `vision`,
//! `review`, `printer`), `wiring` choosing adapters from the config, and `commands` as
//! thin entry points over everything.

pub mod camera;
pub mod commands;
pub mod config;
pub mod console;
pub mod domain;
pub mod failpoint;
pub mod idcard;
pub mod idcard_sim;
pub mod ops;
pub mod pgdb;
pub mod pinyin;
pub mod ports;
pub mod printer;
pub mod printer_sim;
pub mod private_fs;
pub mod receipt;
pub mod review;
pub mod runtime;
pub mod session;
pub mod sim_host;
pub mod simulate;
pub mod staff;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod ui;
pub mod vision;
pub mod wiring;
