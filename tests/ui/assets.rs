//! Static checks on the UI assets: every voice clip exists and is long enough; every
//! `@tr` string has its zh and en translation; the embedded CJK font covers every
//! character of every .slint file and every character the pinyin keyboard can offer.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn slint_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            slint_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "slint") {
            out.push(p);
        }
    }
}

/// The string literals of a .slint file (the text a person can see).
fn string_literals(src: &str) -> Vec<String> {
    let mut out = vec![];
    let mut chars = src.chars().peekable();
    let mut in_comment = false;
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
            }
        } else if c == '/' && chars.peek() == Some(&'/') {
            in_comment = true;
        } else if c == '"' {
            let mut s = String::new();
            while let Some(d) = chars.next() {
                match d {
                    '\\' => {
                        if let Some(e) = chars.next() {
                            s.push(e);
                        }
                    }
                    '"' => break,
                    _ => s.push(d),
                }
            }
            out.push(s);
        }
        prev = c;
    }
    let _ = prev;
    out
}

fn tr_ids() -> BTreeSet<String> {
    let mut files = vec![];
    slint_files(&root().join("ui"), &mut files);
    let mut ids = BTreeSet::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        for (i, _) in src.match_indices("@tr(\"") {
            let rest = &src[i + 5..];
            let end = rest.find('"').unwrap();
            ids.insert(rest[..end].to_string());
        }
    }
    ids
}

fn po_entries(lang: &str) -> std::collections::BTreeMap<String, String> {
    let p = root().join(format!("ui/translations/{lang}/LC_MESSAGES/kiosk.po"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut map = std::collections::BTreeMap::new();
    let mut id = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("msgid ") {
            id = Some(v.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("msgstr ") {
            if let Some(k) = id.take() {
                if !k.is_empty() {
                    map.insert(k, v.trim_matches('"').to_string());
                }
            }
        }
    }
    map
}

#[test]
fn every_tr_string_is_translated_into_zh_and_en() {
    let ids = tr_ids();
    assert!(ids.len() > 50, "only {} @tr strings found", ids.len());
    for lang in ["zh", "en"] {
        let po = po_entries(lang);
        for id in &ids {
            let t = po
                .get(id)
                .unwrap_or_else(|| panic!("{lang}.po lacks {id:?}: run deploy/ui-po.py"));
            assert!(!t.is_empty(), "{lang}.po has an empty translation for {id:?}");
            assert_eq!(
                id.matches("{}").count(),
                t.matches("{}").count(),
                "{lang}: placeholders differ in {id:?}"
            );
        }
    }
    let en = po_entries("en");
    assert_eq!(en["开始"], "Start");
    assert!(
        en.values()
            .all(|v| !v.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "Chinese left in en.po"
    );
}

#[test]
fn every_hint_id_has_a_voice_clip_longer_than_0_3_s() {
    use kiosk::config::Language;
    use kiosk::ui::audio::{clip, parse_wav, CHECK_IDS, CLIP_IDS};
    let mut needed: Vec<&str> = CHECK_IDS.to_vec();
    needed.push("hold_still");
    for (lang, dir) in [(Language::Zh, "zh"), (Language::En, "en")] {
        for id in needed.iter().chain(CLIP_IDS) {
            let bytes = clip(lang, id).unwrap_or_else(|| panic!("no {dir} clip for {id}"));
            let wav = parse_wav(bytes).unwrap_or_else(|e| panic!("{dir}/{id}.wav: {e}"));
            assert_eq!(wav.bits, 16, "{dir}/{id}");
            assert!(wav.seconds() > 0.3, "{dir}/{id}.wav lasts only {:.2} s", wav.seconds());
            // Not silence: some sample is loud.
            let loud = wav
                .data
                .chunks_exact(2)
                .any(|c| i16::from_le_bytes([c[0], c[1]]).unsigned_abs() > 2000);
            assert!(loud, "{dir}/{id}.wav is silent");
            // The committed file is the embedded one.
            let on_disk = std::fs::read(root().join(format!("assets/voice/{dir}/{id}.wav"))).unwrap();
            assert_eq!(on_disk, bytes);
        }
    }
    // The two languages are different recordings (not one copied over the other).
    assert_ne!(clip(Language::Zh, "welcome"), clip(Language::En, "welcome"));
}

#[test]
fn embedded_font_has_a_glyph_for_every_slint_character() {
    use ab_glyph::{Font, FontRef};
    let data = std::fs::read(root().join("assets/fonts/wqy-microhei.ttf")).unwrap();
    let font = FontRef::try_from_slice(&data).unwrap();
    let mut files = vec![];
    slint_files(&root().join("ui"), &mut files);
    let mut chars = BTreeSet::new();
    for f in &files {
        for s in string_literals(&std::fs::read_to_string(f).unwrap()) {
            chars.extend(s.chars().filter(|c| !c.is_control()));
        }
    }
    // Translations are shown too.
    for lang in ["zh", "en"] {
        for v in po_entries(lang).values() {
            chars.extend(v.chars().filter(|c| !c.is_control()));
        }
    }
    assert!(
        chars.contains(&'证') && chars.contains(&'开'),
        "the scan found no Chinese"
    );
    let missing: Vec<char> = chars
        .iter()
        .copied()
        .filter(|c| *c != ' ' && font.glyph_id(*c).0 == 0)
        .collect();
    assert!(missing.is_empty(), "wqy-microhei has no glyph for {missing:?}");
}

#[test]
fn embedded_font_has_a_glyph_for_every_pinyin_candidate() {
    use ab_glyph::{Font, FontRef};
    let data = std::fs::read(root().join("assets/fonts/wqy-microhei.ttf")).unwrap();
    let font = FontRef::try_from_slice(&data).unwrap();
    let tsv = std::fs::read_to_string(root().join("assets/pinyin/char_freq.tsv")).unwrap();
    let chars: Vec<char> = tsv.lines().filter_map(|l| l.chars().next()).collect();
    assert!(chars.len() > 9000);
    let missing: Vec<char> = chars.into_iter().filter(|c| font.glyph_id(*c).0 == 0).collect();
    assert!(
        missing.is_empty(),
        "the keyboard would offer characters wqy-microhei cannot draw: {missing:?}"
    );
}
