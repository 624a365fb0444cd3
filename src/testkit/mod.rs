//! Test doubles and fixtures shared by the unit tests, the integration tests and the
//! benchmarks. Compiled only for `cargo test` / `cargo bench` (the `testkit` feature, which
//! the crate's own dev-dependency on itself turns on), never into the kiosk binary.

pub mod bombs;
pub mod idcard;
pub mod postgres;
pub mod review;
pub mod runtime;
