//! The embedded CJK font (WenQuanYi Micro Hei, licence in assets/fonts/LICENSE.md).

use ab_glyph::FontRef;
use std::sync::OnceLock;

pub static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei.ttf");

/// The parsed font, once per process.
pub fn font() -> &'static FontRef<'static> {
    static F: OnceLock<FontRef<'static>> = OnceLock::new();
    F.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).expect("the embedded font parses"))
}
