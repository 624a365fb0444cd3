//! The name composer behind the on-screen keyboard: the name so far, the pinyin letters
//! not yet turned into a character, and the candidates for them, a page at a time.
//!
//! Pinyin mode: letters gather as pending pinyin; the candidates are those of its first
//! syllable (`Dict::segment`, so `zhangsan` works as well as `zhang` then `san`);
//! picking one appends the character and consumes that syllable. Latin mode (foreign
//! residence-permit holders): letters go straight into the name, upper case, with a
//! space key. Backspace takes a pending letter first, else the name's last character.
//! The name is personal data: it is zeroized when cleared, replaced or dropped.

use super::dict::{is_ideograph, Dict};
use zeroize::Zeroize;

/// The longest name (the session's limit: `session::details`).
pub const MAX_NAME_CHARS: usize = 30;
/// The most pending letters kept (a name of 30 characters is typed a syllable or two
/// at a time; nobody needs more).
pub const MAX_PENDING: usize = 30;
/// Candidates shown on one page of the candidate bar.
pub const PAGE_SIZE: usize = 6;
/// The separator of minority and foreign names written in characters (阿依古丽·买买提).
pub const NAME_DOT: char = '·';

/// A key of the on-screen keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `a`–`z` (either case; `v` is ü in pinyin mode).
    Letter(char),
    /// The candidate at this position on the current page.
    Pick(usize),
    NextPage,
    PrevPage,
    Backspace,
    /// `·`, between the parts of a name.
    Dot,
    /// A space between the parts of a name, in Latin mode.
    Space,
    /// Pinyin ↔ Latin letters (drops pending pinyin).
    ToggleLatin,
    /// Empties the name and the pending letters.
    Clear,
}

/// The composer's state; see the module docs.
pub struct Composer {
    dict: &'static Dict,
    name: String,
    pending: String,
    latin: bool,
    candidates: Vec<char>,
    page: usize,
}

impl std::fmt::Debug for Composer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the name (personal data), only its shape.
        f.debug_struct("Composer")
            .field("name_chars", &self.name.chars().count())
            .field("pending", &self.pending.len())
            .field("latin", &self.latin)
            .field("page", &self.page)
            .finish()
    }
}

impl Drop for Composer {
    fn drop(&mut self) {
        self.name.zeroize();
        self.pending.zeroize();
    }
}

impl Composer {
    pub fn new(dict: &'static Dict) -> Composer {
        Composer {
            dict,
            name: String::new(),
            pending: String::new(),
            latin: false,
            candidates: vec![],
            page: 0,
        }
    }

    /// The name as it stands (pending letters are not part of it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Letters typed and not yet turned into a character.
    pub fn pending(&self) -> &str {
        &self.pending
    }

    pub fn latin(&self) -> bool {
        self.latin
    }

    /// The candidates on the current page (at most [`PAGE_SIZE`]).
    pub fn page_candidates(&self) -> &[char] {
        let from = (self.page * PAGE_SIZE).min(self.candidates.len());
        &self.candidates[from..(from + PAGE_SIZE).min(self.candidates.len())]
    }

    /// Every candidate for the pending letters, most likely first.
    pub fn candidates(&self) -> &[char] {
        &self.candidates
    }

    /// The current page (0-based) and how many there are (0 without candidates).
    pub fn page(&self) -> (usize, usize) {
        (self.page, self.candidates.len().div_ceil(PAGE_SIZE))
    }

    pub fn has_prev(&self) -> bool {
        self.page > 0
    }

    pub fn has_next(&self) -> bool {
        (self.page + 1) * PAGE_SIZE < self.candidates.len()
    }

    /// Applies one key; false when it changed nothing (a key that does not apply now:
    /// `·` at the start, a pick beyond the page, a letter past a limit).
    pub fn press(&mut self, key: Key) -> bool {
        let changed = match key {
            Key::Letter(c) if c.is_ascii_alphabetic() => self.letter(c),
            Key::Letter(_) => false,
            Key::Pick(i) => self.pick(i),
            Key::NextPage if self.has_next() => {
                self.page += 1;
                return true;
            }
            Key::PrevPage if self.has_prev() => {
                self.page -= 1;
                return true;
            }
            Key::NextPage | Key::PrevPage => false,
            Key::Backspace => {
                if self.pending.pop().is_some() {
                    true
                } else {
                    self.name.pop().is_some()
                }
            }
            Key::Dot => self.separator(NAME_DOT),
            Key::Space => self.latin && self.separator(' '),
            Key::ToggleLatin => {
                self.latin = !self.latin;
                self.pending.zeroize();
                true
            }
            Key::Clear => {
                let any = !self.name.is_empty() || !self.pending.is_empty();
                self.name.zeroize();
                self.pending.zeroize();
                any
            }
        };
        if changed {
            self.refresh();
        }
        changed
    }

    /// Puts `name` in (the ID-card reader's): it can then be corrected key by key.
    /// Latin mode when it has Latin letters and no characters (a foreigner's card).
    pub fn set(&mut self, name: &str) {
        self.name.zeroize();
        self.pending.zeroize();
        self.name.extend(name.trim().chars().take(MAX_NAME_CHARS));
        self.latin = self.name.chars().any(|c| c.is_ascii_alphabetic()) && !self.name.chars().any(is_ideograph);
        self.refresh();
    }

    /// Empties everything and goes back to pinyin mode (a new person).
    pub fn reset(&mut self) {
        self.name.zeroize();
        self.pending.zeroize();
        self.latin = false;
        self.refresh();
    }

    fn full(&self) -> bool {
        self.name.chars().count() >= MAX_NAME_CHARS
    }

    fn letter(&mut self, c: char) -> bool {
        if self.latin {
            if self.full() {
                return false;
            }
            self.name.push(c.to_ascii_uppercase());
        } else {
            if self.pending.len() >= MAX_PENDING {
                return false;
            }
            self.pending.push(c.to_ascii_lowercase());
        }
        true
    }

    fn pick(&mut self, i: usize) -> bool {
        let Some(&c) = self.page_candidates().get(i) else {
            return false;
        };
        if self.full() {
            return false;
        }
        let n = self.first_piece().len();
        self.name.push(c);
        self.pending.drain(..n);
        true
    }

    /// `·` or a space: only between parts of a name, never twice in a row, and not while
    /// letters wait for their character.
    fn separator(&mut self, sep: char) -> bool {
        let after_part = self.name.chars().last().is_some_and(|c| c != NAME_DOT && c != ' ');
        if !after_part || !self.pending.is_empty() || self.full() {
            return false;
        }
        self.name.push(sep);
        true
    }

    /// The syllable (or partial one) the candidates are for.
    fn first_piece(&self) -> &str {
        self.dict.segment(&self.pending).first().copied().unwrap_or("")
    }

    fn refresh(&mut self) {
        self.page = 0;
        self.candidates = if self.latin || self.pending.is_empty() {
            vec![]
        } else {
            // Surnames first for a name's first character.
            self.dict.candidates(self.first_piece(), self.name.is_empty())
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn composer() -> Composer {
        Composer::new(Dict::shared())
    }

    fn typed(c: &mut Composer, letters: &str) {
        for l in letters.chars() {
            assert!(c.press(Key::Letter(l)), "{l}");
        }
    }

    /// Picks `ch`, paging forward to it as a person would.
    fn pick(c: &mut Composer, ch: char) {
        loop {
            if let Some(i) = c.page_candidates().iter().position(|x| *x == ch) {
                assert!(c.press(Key::Pick(i)));
                return;
            }
            assert!(c.press(Key::NextPage), "{ch} is not among {:?}", c.candidates());
        }
    }

    #[test]
    fn zhang_san_syllable_by_syllable() {
        let mut c = composer();
        typed(&mut c, "zhang");
        assert_eq!(c.pending(), "zhang");
        assert_eq!(c.page_candidates()[0], '张');
        pick(&mut c, '张');
        assert_eq!((c.name(), c.pending()), ("张", ""));
        assert!(c.page_candidates().is_empty());
        typed(&mut c, "san");
        pick(&mut c, '三');
        assert_eq!(c.name(), "张三");
    }

    #[test]
    fn several_syllables_at_once() {
        let mut c = composer();
        typed(&mut c, "zhangsan");
        pick(&mut c, '张');
        assert_eq!(c.pending(), "san");
        pick(&mut c, '三');
        assert_eq!((c.name(), c.pending()), ("张三", ""));
    }

    #[test]
    fn backspace_takes_pending_letters_first() {
        let mut c = composer();
        typed(&mut c, "wang");
        pick(&mut c, '王');
        typed(&mut c, "fa");
        assert!(c.press(Key::Backspace));
        assert_eq!((c.name(), c.pending()), ("王", "f"));
        assert!(c.press(Key::Backspace));
        assert!(c.press(Key::Backspace));
        assert_eq!((c.name(), c.pending()), ("", ""));
        assert!(!c.press(Key::Backspace), "nothing left");
    }

    #[test]
    fn paging_reaches_later_candidates() {
        let mut c = composer();
        typed(&mut c, "li");
        pick(&mut c, '李');
        typed(&mut c, "li");
        let all = c.candidates().to_vec();
        assert!(all.len() > 3 * PAGE_SIZE);
        assert!(!c.has_prev() && c.has_next());
        assert!(!c.press(Key::PrevPage));
        assert!(c.press(Key::NextPage) && c.press(Key::NextPage));
        assert_eq!(c.page(), (2, all.len().div_ceil(PAGE_SIZE)));
        assert_eq!(c.page_candidates(), &all[2 * PAGE_SIZE..3 * PAGE_SIZE]);
        let want = all[2 * PAGE_SIZE + 1];
        assert!(c.press(Key::Pick(1)));
        assert_eq!(c.name(), format!("李{want}"));
        // A new letter starts again at the first page.
        typed(&mut c, "l");
        assert_eq!(c.page().0, 0);
        while c.press(Key::NextPage) {}
        assert!(!c.has_next());
        assert!(!c.press(Key::Pick(PAGE_SIZE)), "beyond the page");
    }

    #[test]
    fn minority_names_with_the_dot() {
        let mut c = composer();
        assert!(!c.press(Key::Dot), "not at the start");
        for (py, ch) in [("a", '阿'), ("yi", '依'), ("gu", '古'), ("li", '丽')] {
            typed(&mut c, py);
            pick(&mut c, ch);
        }
        assert!(c.press(Key::Dot));
        assert!(!c.press(Key::Dot), "not twice");
        for (py, ch) in [("mai", '买'), ("mai", '买'), ("ti", '提')] {
            typed(&mut c, py);
            pick(&mut c, ch);
        }
        assert_eq!(c.name(), "阿依古丽·买买提");
        typed(&mut c, "x");
        assert!(!c.press(Key::Dot), "not while letters wait");
    }

    #[test]
    fn latin_mode_for_foreign_names() {
        let mut c = composer();
        typed(&mut c, "zh");
        assert!(c.press(Key::ToggleLatin));
        assert!(c.latin() && c.pending().is_empty(), "pending pinyin dropped");
        assert!(!c.press(Key::Space), "not at the start");
        typed(&mut c, "smith");
        assert!(c.press(Key::Space));
        assert!(!c.press(Key::Space));
        typed(&mut c, "John");
        assert_eq!(c.name(), "SMITH JOHN");
        assert!(c.page_candidates().is_empty());
        assert!(c.press(Key::Backspace));
        assert_eq!(c.name(), "SMITH JOH");
        assert!(c.press(Key::ToggleLatin) && !c.latin());
        assert!(!c.press(Key::Space), "no space in pinyin mode");
    }

    #[test]
    fn set_fills_and_can_be_corrected() {
        let mut c = composer();
        typed(&mut c, "li");
        c.set(" 张三 ");
        assert_eq!((c.name(), c.pending(), c.latin()), ("张三", "", false));
        assert!(c.press(Key::Backspace));
        typed(&mut c, "shan");
        pick(&mut c, '山');
        assert_eq!(c.name(), "张山");
        c.set("SMITH JOHN");
        assert!(c.latin());
        c.set(&"王".repeat(40));
        assert_eq!(c.name().chars().count(), MAX_NAME_CHARS);
        assert!(c.press(Key::Clear));
        assert_eq!(c.name(), "");
        assert!(!c.press(Key::Clear));
        c.set("X");
        c.reset();
        assert!(!c.latin() && c.name().is_empty());
    }

    #[test]
    fn limits_hold() {
        let mut c = composer();
        for _ in 0..MAX_PENDING {
            assert!(c.press(Key::Letter('a')));
        }
        assert!(!c.press(Key::Letter('a')));
        assert!(!c.press(Key::Letter('1')) && !c.press(Key::Letter('张')));
        c.set(&"王".repeat(MAX_NAME_CHARS));
        typed(&mut c, "wang");
        assert!(!c.press(Key::Pick(0)), "full");
        assert!(!c.press(Key::Dot));
        assert!(!format!("{c:?}").contains('王'), "Debug never shows the name");
    }

    fn key() -> impl Strategy<Value = Key> {
        prop_oneof![
            6 => proptest::char::range('a', 'z').prop_map(Key::Letter),
            1 => proptest::char::any().prop_map(Key::Letter),
            3 => (0usize..8).prop_map(Key::Pick),
            1 => Just(Key::NextPage),
            1 => Just(Key::PrevPage),
            2 => Just(Key::Backspace),
            1 => Just(Key::Dot),
            1 => Just(Key::Space),
            1 => Just(Key::ToggleLatin),
            1 => Just(Key::Clear),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_keys_never_panic_and_keep_the_limits(keys in proptest::collection::vec(key(), 0..200)) {
            let mut c = composer();
            for k in keys {
                c.press(k);
                prop_assert!(c.name().chars().count() <= MAX_NAME_CHARS);
                prop_assert!(c.pending().len() <= MAX_PENDING);
                prop_assert!(c.page_candidates().len() <= PAGE_SIZE);
                prop_assert!(c.pending().bytes().all(|b| b.is_ascii_lowercase()));
                prop_assert!(!c.latin() || c.pending().is_empty());
                let (page, pages) = c.page();
                prop_assert!(page < pages.max(1));
            }
        }
    }
}
