//! Typing a name without a physical keyboard or a system input method (issue #14): a
//! full-pinyin dictionary ([`Dict`]) and the composer behind the on-screen keyboard
//! ([`Composer`]). Pure: no UI, no I/O, no network; the UI (`ui::name_entry`) drives it.

pub mod composer;
pub mod dict;

pub use composer::{Composer, Key, MAX_NAME_CHARS, NAME_DOT, PAGE_SIZE};
pub use dict::Dict;
