//! The one redaction path: every log line ([`super::logging`]), every panic message (the
//! hook [`super::logging::install_panic_hook`] installs) and the command line's own error
//! lines go through [`redact`] before they are written anywhere.
//!
//! Call sites never log personal data in clear (they use the `mask_*` helpers); this is
//! the second line of defence. It masks:
//!
//! * resident ID numbers: 18 characters (17 digits and a digit or `X`) and the old
//!   15-digit form;
//! * mainland mobile numbers: 11 digits starting with 1, with or without `+86`, `86` or
//!   `0086` in front;
//! * both also when glued to a letter (`id=A110101199003071234`) and when written in
//!   groups separated by single spaces or dashes (`110101 19900307 1234`,
//!   `138-0013-8000`): ID numbers in groups of at least 3 digits, mobiles as 3-4-4;
//! * names, which have no shape: the values of known keys (`name=…`, `"name":"…"`,
//!   `姓名：…`), and the current session's own name, ID and mobile number, which the
//!   runtime registers while the session holds them ([`remember_personal`]); the
//!   [`Registration`] is wiped with the session's other data.
//!
//! Not masked: receipt numbers (20 digits, `review::number`), timestamps, sizes,
//! durations and other numbers of other lengths.

use crate::session::details::{mask_id_number, mask_mobile, mask_name};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zeroize::Zeroizing;

/// Registered personal values in clear with their masked forms, each tagged with the
/// [`Registration`] that owns it.
static SESSION: Mutex<Vec<(u64, Zeroizing<String>, String)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(1);

/// A session's registered values: masked in every log line until this is dropped (the
/// runtime keeps it with the session's other personal data, so the wipe drops it).
#[derive(Debug)]
pub struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        SESSION
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(id, ..)| *id != self.0);
    }
}

/// Registers a session's name, ID number and mobile number so that any log line
/// carrying them is masked whatever its shape, until the returned [`Registration`] is
/// dropped. Values too short to be told from ordinary text (a one-character name) are
/// not kept.
pub fn remember_personal(name: Option<&str>, id_number: Option<&str>, mobile: Option<&str>) -> Registration {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut all = SESSION.lock().unwrap_or_else(|e| e.into_inner());
    let mut add = |clear: Option<&str>, min_chars: usize, mask: fn(&str) -> String| {
        if let Some(c) = clear.map(str::trim).filter(|c| c.chars().count() >= min_chars) {
            all.push((id, Zeroizing::new(c.to_string()), mask(c)));
        }
    };
    add(name, 2, mask_name);
    add(id_number, 8, mask_id_number);
    add(mobile, 7, mask_mobile);
    // Longest first, so a name that contains another registered one is masked whole.
    all.sort_by_key(|(_, c, _)| std::cmp::Reverse(c.len()));
    Registration(id)
}

impl Registration {
    /// How many values this registration masks (tests).
    pub fn len(&self) -> usize {
        SESSION
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(id, ..)| *id == self.0)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Masks everything personal in `s` (see the module documentation).
pub fn redact(s: &str) -> String {
    let mut out = {
        let session = SESSION.lock().unwrap_or_else(|e| e.into_inner());
        let mut t = s.to_string();
        for (_, clear, masked) in session.iter() {
            if t.contains(clear.as_str()) {
                t = t.replace(clear.as_str(), masked);
            }
        }
        t
    };
    out = mask_named_values(&out);
    mask_digit_runs(&out)
}

/// Keys whose value is a person's name.
const NAME_KEYS: [&str; 4] = ["full_name", "holder_name", "name", "姓名"];

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `key` at `chars[i..]`, ASCII case-insensitive.
fn key_at(chars: &[char], i: usize, key: &str) -> Option<usize> {
    let mut j = i;
    for k in key.chars() {
        let c = *chars.get(j)?;
        if !c.eq_ignore_ascii_case(&k) {
            return None;
        }
        j += 1;
    }
    Some(j)
}

/// Where the value after a key starts (past `"`, spaces and `=`, `:` or `：`), if a
/// separator follows the key at `j`.
fn value_start(chars: &[char], mut j: usize) -> Option<usize> {
    if chars.get(j) == Some(&'"') {
        j += 1;
    }
    while chars.get(j) == Some(&' ') {
        j += 1;
    }
    if !matches!(chars.get(j), Some('=' | ':' | '：')) {
        return None;
    }
    j += 1;
    while chars.get(j) == Some(&' ') {
        j += 1;
    }
    Some(j)
}

/// The value's span `[from, to)` and where scanning resumes: a quoted value up to its
/// closing quote (`Some("…")` too), else up to a space or punctuation.
fn value_span(chars: &[char], mut v: usize) -> (usize, usize, usize) {
    if key_at(chars, v, "Some(").is_some() {
        v += 5;
    }
    if let Some(&q) = chars.get(v).filter(|c| matches!(c, '"' | '\'')) {
        let from = v + 1;
        let mut to = from;
        while to < chars.len() && chars[to] != q {
            if chars[to] == '\\' {
                to += 1;
            }
            to += 1;
        }
        let to = to.min(chars.len());
        return (from, to, to);
    }
    let to = chars[v..]
        .iter()
        .position(|c| c.is_whitespace() || ",;&)}]，；、。".contains(*c))
        .map_or(chars.len(), |p| v + p);
    (v, to, to)
}

fn mask_named_values(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    'scan: while i < chars.len() {
        for key in NAME_KEYS {
            // Word boundaries in ASCII only: `申请人姓名：` has none before the key.
            if key.is_ascii() && i > 0 && is_word(chars[i - 1]) {
                continue;
            }
            let Some(after) = key_at(&chars, i, key) else { continue };
            // `names` or `name_x` is another word.
            if key.is_ascii() && chars.get(after).is_some_and(|c| is_word(*c)) {
                continue;
            }
            let Some(v) = value_start(&chars, after) else { continue };
            let (from, to, resume) = value_span(&chars, v);
            if to > from {
                out.extend(&chars[i..from]);
                out.push_str(&mask_name(&chars[from..to].iter().collect::<String>()));
                out.extend(&chars[to..resume]);
                i = resume;
                continue 'scan;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// A run of digits, its span in chars, and whether an `X` (an ID number's check
/// character) follows it and ends the chain.
struct Group {
    from: usize,
    to: usize,
    x: bool,
}

/// Reads the chain of digit groups starting at `i` (a digit not preceded by a digit):
/// groups joined by single spaces or dashes.
fn chain(chars: &[char], mut i: usize) -> Vec<Group> {
    let mut groups = Vec::new();
    loop {
        let from = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let x = chars.get(i).is_some_and(|c| matches!(c, 'X' | 'x'))
            && chars.get(i + 1).is_none_or(|c| !c.is_alphanumeric());
        groups.push(Group { from, to: i, x });
        let sep = chars.get(i).is_some_and(|c| matches!(c, ' ' | '-'));
        if !x && sep && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            i += 1;
        } else {
            return groups;
        }
    }
}

fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x'))
        || (b.len() == 15 && b.iter().all(u8::is_ascii_digit))
}

fn is_mobile(s: &str) -> bool {
    s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit())
}

/// The masked text for groups `g` taken as one number, and whether it took the `X`
/// after the last group; `None` when they are no ID or mobile number.
fn mask_groups(chars: &[char], g: &[Group]) -> Option<(String, bool)> {
    let joined: String = g.iter().flat_map(|x| chars[x.from..x.to].iter()).collect();
    let lens: Vec<usize> = g.iter().map(|x| x.to - x.from).collect();
    let grouped_ok = g.len() == 1 || lens.iter().all(|&l| l >= 3);
    // Country code glued on: 8613800138000, 008613800138000 (before the 15-digit ID
    // test: no region code starts with 00).
    if g.len() == 1 && !g[0].x {
        for prefix in ["0086", "86"] {
            if let Some(rest) = joined.strip_prefix(prefix).filter(|r| is_mobile(r)) {
                return Some((format!("{prefix}{}", mask_mobile(rest)), false));
            }
        }
    }
    if let Some(last) = g.last().filter(|l| l.x) {
        let with_x = format!("{joined}{}", chars[last.to]);
        if is_id(&with_x) && grouped_ok {
            return Some((mask_id_number(&with_x), true));
        }
    }
    if is_id(&joined) && grouped_ok {
        return Some((mask_id_number(&joined), false));
    }
    if is_mobile(&joined) && (g.len() == 1 || lens == [3, 4, 4]) {
        return Some((mask_mobile(&joined), false));
    }
    None
}

fn mask_digit_runs(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !(chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit())) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let g = chain(&chars, i);
        // The longest run of consecutive groups that is an ID or mobile number, leftmost
        // first; a country code before a grouped mobile stays readable.
        let mut k = 0;
        let mut done = i;
        while k < g.len() {
            let found = (k..g.len())
                .rev()
                .find_map(|end| mask_groups(&chars, &g[k..=end]).map(|m| (end, m)));
            match found {
                Some((end, (masked, took_x))) => {
                    out.extend(&chars[done..g[k].from]);
                    out.push_str(&masked);
                    done = g[end].to + usize::from(took_x);
                    k = end + 1;
                }
                None => k += 1,
            }
        }
        let last = g.last().map_or(i + 1, |x| x.to);
        let last = last.max(done);
        out.extend(&chars[done..last]);
        i = last;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case: (input, expected output). Numbers are made up, not anyone's.
    const TABLE: &[(&str, &str)] = &[
        // 18-digit ID numbers, X check character, bounded by anything
        ("id=44010619900101123X ok", "id=4401**********123X ok"),
        ("id 440106199001011234.", "id 4401**********1234."),
        ("(110101199003071234)", "(1101**********1234)"),
        // glued to a letter
        ("id=A110101199003071234", "id=A1101**********1234"),
        ("abc44010619900101123X", "abc4401**********123X"),
        ("holder110101199003071234x", "holder1101**********1234x"),
        ("申请人姓名：李四 已提交", "申请人姓名：李* 已提交"),
        // old-style 15 digits
        ("old id 110101900307123 seen", "old id 1101*******7123 seen"),
        // grouped with spaces or dashes
        ("id 110101 19900307 1234 read", "id 1101**********1234 read"),
        ("id 110101-19900307-123X", "id 1101**********123X"),
        ("id 110 101 199 003 071 234", "id 1101**********1234"),
        // mobiles, bare, grouped 3-4-4, with the country code
        ("tel 13800138000", "tel 138****8000"),
        ("tel 138-0013-8000!", "tel 138****8000!"),
        ("tel 138 0013 8000", "tel 138****8000"),
        ("tel +8613800138000", "tel +86138****8000"),
        ("tel 8613800138000", "tel 86138****8000"),
        ("tel 008613800138000", "tel 0086138****8000"),
        ("tel +86 138 0013 8000", "tel +86 138****8000"),
        ("tel +86-13800138000", "tel +86-138****8000"),
        ("tel=T13800138000", "tel=T138****8000"),
        // names: values of known keys
        ("name=张三丰 doc=id-card", "name=张** doc=id-card"),
        ("{\"name\":\"张三\",\"doc\":\"x\"}", "{\"name\":\"张*\",\"doc\":\"x\"}"),
        ("{\"name\": \"Li Lei\"}", "{\"name\": \"L*****\"}"),
        ("姓名：王小明 身份证", "姓名：王** 身份证"),
        ("姓名:王小明，性别男", "姓名:王**，性别男"),
        (
            "Details { name: Some(\"张三\"), id: None }",
            "Details { name: Some(\"张*\"), id: None }",
        ),
        ("full_name='Zhang San'", "full_name='Z********'"),
        // must NOT be masked
        (
            "receipt 44010026112600000173 printed",
            "receipt 44010026112600000173 printed",
        ),
        ("receipt 440100 261126 0000017 3", "receipt 440100 261126 0000017 3"),
        ("at 2026-12-06 02:46:50.123 +08:00", "at 2026-12-06 02:46:50.123 +08:00"),
        ("ts 1765000000000 ms", "ts 1765000000000 ms"),
        (
            "frame 1280x720, 4096 bytes, 227 MB",
            "frame 1280x720, 4096 bytes, 227 MB",
        ),
        ("bbox 1280 720 1080 19", "bbox 1280 720 1080 19"),
        ("took 1234 ms, 3 frames", "took 1234 ms, 3 frames"),
        (
            "filename=/tmp/a.jpg names=3 rename: x",
            "filename=/tmp/a.jpg names=3 rename: x",
        ),
        ("state=posing", "state=posing"),
        ("1234567890123456789012 digits", "1234567890123456789012 digits"),
        ("", ""),
    ];

    #[test]
    fn redaction_table() {
        let mut bad = Vec::new();
        for (input, want) in TABLE {
            let got = redact(input);
            if &got != want {
                bad.push(format!("{input:?}\n   got  {got:?}\n   want {want:?}"));
            }
        }
        assert!(bad.is_empty(), "{} case(s) wrong:\n{}", bad.len(), bad.join("\n"));
    }

    #[test]
    fn the_session_registry_masks_names_of_any_shape_until_dropped() {
        // The registry is process-wide: values no other test logs.
        let r = remember_personal(Some("欧阳娜娜"), Some("51010119800101002X"), Some("13912345678"));
        assert_eq!(r.len(), 3);
        assert_eq!(
            redact("submitted by 欧阳娜娜 (ouyang) ok"),
            "submitted by 欧*** (ouyang) ok"
        );
        // A one-character name is not kept: it would mask that character everywhere.
        assert!(remember_personal(Some("王"), None, None).is_empty());
        let other = remember_personal(Some("司马相如"), None, None);
        drop(r);
        assert_eq!(redact("by 欧阳娜娜"), "by 欧阳娜娜");
        assert_eq!(redact("by 司马相如"), "by 司***", "another session's values stay");
        drop(other);
        assert_eq!(redact("by 司马相如"), "by 司马相如");
    }
}
