//! The receipt model and its renderers: ESC/POS (in `printer`), PNG of the thermal slip
//! and PDF (issue #5). The layout is described once, in [`model`].

pub mod codes;
pub mod font;
pub mod model;
pub mod pdf;
pub mod raster;

pub use model::{Receipt, ReceiptError};
