//! The review centre and the kiosk's client over real HTTP on loopback: the API, the operator page in headless Chromium, the outbox, faults; the store on SQLite and on a real PostgreSQL server, several centres on one database; the hall console and its staff page.
//!
//! One test binary of modules (as ripgrep's `tests/integration`): the crate is linked
//! once for all of them.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod backends;
mod browser;
mod client;
mod console;
mod console_hooks;
mod console_link;
mod console_pg;
mod console_staff;
mod faults;
mod hostile;
mod scale;
mod staff;
