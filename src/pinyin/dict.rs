//! Full-pinyin syllables (toneless, `a`–`z`, `ü` typed as `v`) to candidate characters,
//! most frequent first.
//!
//! Readings come from the `pinyin` crate (MIT; mozillazg's pinyin-data, every reading of a
//! character, the usual one first); the ranking from `assets/pinyin/char_freq.tsv`, the
//! character frequencies summed from jieba's word list (MIT; `deploy/pinyin-freq.py`
//! rebuilds it, `assets/pinyin/README.md` says from what). Only the characters of that
//! list are offered: the CJK Unified Ideographs of common use plus all of GB 2312.
//!
//! A character counts fully under its first reading and a quarter under its others (长
//! is mostly cháng, 了 mostly le). For the first character of a name the common surnames
//! of the syllable come first (张 for zhang, 曾 for zeng), in order of how many people
//! bear them.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

/// `char<TAB>frequency`, most frequent first (`deploy/pinyin-freq.py`).
const FREQ_TSV: &str = include_str!("../../assets/pinyin/char_freq.tsv");

/// The hundred most common surnames of mainland China, most common first (household
/// registration statistics, 2020).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡\
余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万\
钱严覃武戴莫孔向汤";

/// Surnames whose reading as a surname is not the character's first reading.
const SURNAME_READINGS: [(char, &str); 2] = [('曾', "zeng"), ('覃', "qin")];

/// Weight of a reading that is not the character's first: a quarter of its frequency.
const OTHER_READING_DIVISOR: u64 = 4;

/// The syllable index. Build once ([`Dict::shared`]); lookups do not allocate beyond the
/// returned list.
#[derive(Debug)]
pub struct Dict {
    /// Syllable → (character, weight), heaviest first. Ordered, so the syllables that
    /// start with a partial one are one range.
    by_syllable: BTreeMap<String, Vec<(char, u64)>>,
    /// Syllable → its common surnames, most common first.
    surnames: HashMap<String, Vec<char>>,
    chars: usize,
}

impl Dict {
    /// The dictionary built from the bundled frequency list, on first use (about 3 ms in
    /// the dev profile, docs/performance-ui.md; the window builds it when it is created).
    pub fn shared() -> &'static Dict {
        static DICT: OnceLock<Dict> = OnceLock::new();
        DICT.get_or_init(|| Dict::from_tsv(FREQ_TSV))
    }

    /// Builds the index from `char<TAB>frequency` lines; lines that are not one CJK
    /// ideograph and a number, and characters without a reading, are skipped.
    pub fn from_tsv(tsv: &str) -> Dict {
        use pinyin::ToPinyinMulti;
        let mut by_syllable: BTreeMap<String, Vec<(char, u64)>> = BTreeMap::new();
        let mut chars = 0;
        for line in tsv.lines() {
            let Some((c, n)) = line.split_once('\t') else { continue };
            let mut it = c.chars();
            let (Some(c), None, Ok(n)) = (it.next(), it.next(), n.trim().parse::<u64>()) else {
                continue;
            };
            if !is_ideograph(c) {
                continue;
            }
            let Some(readings) = c.to_pinyin_multi() else { continue };
            chars += 1;
            for (i, r) in readings.into_iter().enumerate() {
                let syl = plain(r.plain());
                let w = if i == 0 { n } else { n / OTHER_READING_DIVISOR };
                let list = by_syllable.entry(syl).or_default();
                // A character with two readings that are one syllable toneless (长 zhǎng
                // and cháng are not, 行 háng and xíng are not, 和 hé and hè are).
                match list.iter_mut().find(|(d, _)| *d == c) {
                    Some(e) => e.1 = e.1.max(w),
                    None => list.push((c, w)),
                }
            }
        }
        for list in by_syllable.values_mut() {
            list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        let mut surnames: HashMap<String, Vec<char>> = HashMap::new();
        for c in SURNAMES.chars() {
            let syl = match SURNAME_READINGS.iter().find(|(s, _)| *s == c) {
                Some((_, r)) => (*r).to_string(),
                None => match c.to_pinyin_multi() {
                    Some(m) => plain(m.get(0).plain()),
                    None => continue,
                },
            };
            if by_syllable.get(&syl).is_some_and(|l| l.iter().any(|(d, _)| *d == c)) {
                surnames.entry(syl).or_default().push(c);
            }
        }
        Dict {
            by_syllable,
            surnames,
            chars,
        }
    }

    /// How many characters and syllables the index holds.
    pub fn size(&self) -> (usize, usize) {
        (self.chars, self.by_syllable.len())
    }

    /// `s` is a whole syllable (`zhang`, `lv`).
    pub fn is_syllable(&self, s: &str) -> bool {
        self.by_syllable.contains_key(s)
    }

    /// Some syllable starts with `s` (`zh`, `zhan`, `zhang`).
    pub fn is_prefix(&self, s: &str) -> bool {
        !s.is_empty() && self.syllables_from(s).next().is_some()
    }

    fn syllables_from<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a String, &'a Vec<(char, u64)>)> {
        self.by_syllable
            .range::<str, _>((std::ops::Bound::Included(prefix), std::ops::Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
    }

    /// The longest syllable that `letters` starts with, in bytes (0: none).
    pub fn longest_syllable(&self, letters: &str) -> usize {
        // Syllables are at most 6 letters (zhuang, chuang, shuang).
        (1..=letters.len().min(6))
            .rev()
            .find(|&n| letters.is_char_boundary(n) && self.is_syllable(&letters[..n]))
            .unwrap_or(0)
    }

    /// Splits typed letters into syllables: the split into fewest pieces where every
    /// piece is a syllable (the last may be the start of one), and no piece but the first
    /// starts with a, o or e (pinyin writes xi'an with an apostrophe, so `xian` is 先,
    /// `nana` is na·na and `fangan` fan·gan); among equals the longest first piece
    /// (`zhangsan` → `zhang`, `san`; `zhangs` → `zhang`, `s`). Letters no such split
    /// covers fall back to longest match, with the rest as one piece.
    pub fn segment<'a>(&self, letters: &'a str) -> Vec<&'a str> {
        let n = letters.len();
        if n == 0 {
            return vec![];
        }
        if letters.is_ascii() {
            // best[i]: (pieces, length of the first) for letters[i..].
            let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
            best[n] = Some((0, 0));
            for i in (0..n).rev() {
                let rest = &letters[i..];
                if i > 0 && matches!(rest.as_bytes()[0], b'a' | b'o' | b'e') {
                    continue;
                }
                for len in (1..=rest.len().min(6)).rev() {
                    let piece = &rest[..len];
                    let ok = if i + len == n {
                        self.is_syllable(piece) || self.is_prefix(piece)
                    } else {
                        self.is_syllable(piece)
                    };
                    let Some((after, _)) = best[i + len].filter(|_| ok) else {
                        continue;
                    };
                    if best[i].is_none_or(|(c, _)| after + 1 < c) {
                        best[i] = Some((after + 1, len));
                    }
                }
            }
            if best[0].is_some() {
                let mut out = vec![];
                let mut i = 0;
                while let Some((_, len)) = best[i].filter(|_| i < n) {
                    out.push(&letters[i..i + len]);
                    i += len;
                }
                return out;
            }
        }
        let mut out = vec![];
        let mut rest = letters;
        while !rest.is_empty() {
            let n = self.longest_syllable(rest);
            if n == 0 {
                out.push(rest);
                break;
            }
            out.push(&rest[..n]);
            rest = &rest[n..];
        }
        out
    }

    /// The candidates for one syllable, or for a partial one (`zh`: every syllable that
    /// starts with it, merged by weight), most likely first; with `surname_first` the
    /// common surnames of the syllable lead. Empty when nothing matches.
    pub fn candidates(&self, syllable: &str, surname_first: bool) -> Vec<char> {
        let mut out: Vec<char> = Vec::new();
        if syllable.is_empty() {
            return out;
        }
        if surname_first {
            if self.is_syllable(syllable) {
                out.extend(self.surnames.get(syllable).into_iter().flatten());
            } else {
                let mut s: Vec<(usize, char)> = vec![];
                for (syl, _) in self.syllables_from(syllable) {
                    for c in self.surnames.get(syl.as_str()).into_iter().flatten() {
                        let rank = SURNAMES.chars().position(|d| d == *c).unwrap_or(usize::MAX);
                        s.push((rank, *c));
                    }
                }
                s.sort();
                out.extend(s.into_iter().map(|(_, c)| c));
            }
        }
        if let Some(list) = self.by_syllable.get(syllable) {
            out.extend(list.iter().map(|(c, _)| *c));
            return dedup_keep_first(out);
        }
        let mut merged: HashMap<char, u64> = HashMap::new();
        for (_, list) in self.syllables_from(syllable) {
            for &(c, w) in list {
                let e = merged.entry(c).or_default();
                *e = (*e).max(w);
            }
        }
        let mut rest: Vec<(char, u64)> = merged.into_iter().collect();
        rest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.extend(rest.into_iter().map(|(c, _)| c));
        dedup_keep_first(out)
    }
}

fn dedup_keep_first(v: Vec<char>) -> Vec<char> {
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    v.into_iter().filter(|c| seen.insert(*c)).collect()
}

/// A CJK Unified Ideograph of the basic block (U+4E00–U+9FFF).
pub fn is_ideograph(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// The crate's toneless reading as typed: `ü` → `v`.
fn plain(r: &str) -> String {
    r.replace('ü', "v")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(s: &str) -> char {
        Dict::shared().candidates(s, true)[0]
    }

    #[test]
    fn common_surnames_come_first_for_the_first_character() {
        for (syl, c) in [
            ("zhang", '张'),
            ("wang", '王'),
            ("li", '李'),
            ("liu", '刘'),
            ("chen", '陈'),
            ("yang", '杨'),
            ("huang", '黄'),
            ("zhao", '赵'),
            ("wu", '吴'),
            ("zhou", '周'),
            ("zeng", '曾'),
            ("qin", '秦'),
            ("lv", '吕'),
        ] {
            assert_eq!(first(syl), c, "{syl}");
        }
        // Two surnames of one syllable: the commoner first.
        let li = Dict::shared().candidates("li", true);
        assert!(li.iter().position(|c| *c == '李') < li.iter().position(|c| *c == '黎'));
        // A partial syllable offers the surnames it may start.
        assert_eq!(&Dict::shared().candidates("zh", true)[..3], &['张', '赵', '周']);
    }

    #[test]
    fn later_characters_rank_by_frequency() {
        let d = Dict::shared();
        assert_eq!(d.candidates("san", false)[0], '三');
        assert_eq!(d.candidates("de", false)[0], '的');
        assert_eq!(d.candidates("shi", false)[0], '是');
        // 长 is mostly cháng: under zhang it yields to 张 when not a surname.
        let zhang = d.candidates("zhang", false);
        assert!(zhang.contains(&'长') && zhang.contains(&'张'));
        assert!(d.candidates("chang", false).iter().position(|c| *c == '长').unwrap() < 3);
        // ü as v, both ways.
        assert!(d.candidates("lv", false).contains(&'绿'));
        assert!(d.candidates("nv", false).contains(&'女'));
        assert!(d.candidates("lve", false).contains(&'略'));
    }

    #[test]
    fn partial_syllables_merge_and_nonsense_is_empty() {
        let d = Dict::shared();
        assert!(d.is_prefix("zh") && !d.is_syllable("zh"));
        let zh = d.candidates("zh", false);
        assert!(zh.contains(&'中') && zh.contains(&'张') && !zh.contains(&'的'));
        assert!(d.candidates("q", false).contains(&'去'));
        assert!(d.candidates("iii", false).is_empty() && d.candidates("", true).is_empty());
        assert!(d.candidates("vvv", true).is_empty());
        assert!(!d.is_prefix("") && !d.is_prefix("x2"));
    }

    #[test]
    fn segmentation_prefers_whole_syllables() {
        let d = Dict::shared();
        assert_eq!(d.segment("zhangsan"), ["zhang", "san"]);
        assert_eq!(d.segment("xian"), ["xian"]);
        assert_eq!(d.segment("liang"), ["liang"]);
        assert_eq!(d.segment("zhangs"), ["zhang", "s"]);
        assert_eq!(d.segment("zhangsh"), ["zhang", "sh"]);
        assert_eq!(d.segment("ouyangxiu"), ["ou", "yang", "xiu"]);
        // No syllable after the first starts with a vowel: na·na, fan·gan, not nan·a.
        assert_eq!(d.segment("nana"), ["na", "na"]);
        assert_eq!(d.segment("fangan"), ["fan", "gan"]);
        // Nothing covers these: longest match, the rest in one piece.
        assert_eq!(d.segment("tiananmen"), ["tian", "an", "men"]);
        assert_eq!(d.segment("iii"), ["iii"]);
        assert_eq!(d.segment("zhangvvv"), ["zhang", "vvv"]);
        assert!(d.segment("").is_empty());
    }

    #[test]
    fn the_bundled_list_is_indexed_whole() {
        let (chars, syllables) = Dict::shared().size();
        assert!(chars > 9000, "{chars} characters");
        // Mandarin has about 400 toneless syllables (a few interjections add more).
        assert!((380..=440).contains(&syllables), "{syllables} syllables");
        // Junk lines are skipped, not fatal.
        let d = Dict::from_tsv("张\t5\nab\t3\n\t\n张\tx\n,\t9\n𠀀\t1\n王\t7\n");
        assert_eq!(d.size().0, 2);
        assert_eq!(d.candidates("wang", false), ['王']);
    }
}
