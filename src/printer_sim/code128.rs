//! Code 128 symbol patterns for drawing what a `GS k 73` asked for. Written from the
//! symbology (ISO/IEC 15417), independently of the kiosk's encoder.

/// Bar/space widths of symbols 0–105 (bar first); 106 is the stop pattern.
const PATTERNS: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213", "221312",
    "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132", "221231", "213212",
    "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211", "212123", "212321", "232121",
    "111323", "131123", "131321", "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331",
    "132131", "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131", "311123",
    "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111", "111224", "111422", "121124",
    "121421", "141122", "141221", "112214", "112412", "122114", "122411", "142112", "142211", "241211", "221114",
    "413111", "241112", "134111", "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112",
    "421211", "212141", "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Set {
    A,
    B,
    C,
}

/// A decoded GS k 73 payload: the symbol values and the human-readable text.
#[derive(Debug, PartialEq, Eq)]
pub struct Symbol {
    pub values: Vec<u8>,
    pub text: String,
}

/// Parses the payload (`{A`/`{B`/`{C` selectors, `{{` = literal `{`) into symbol values
/// with start, checksum and stop. `Err` names what is wrong.
pub fn parse(data: &[u8]) -> Result<Symbol, String> {
    let mut i = 0;
    let mut set: Option<Set> = None;
    let mut values: Vec<u8> = Vec::new();
    let mut text = String::new();
    while i < data.len() {
        let b = data[i];
        if b == b'{' {
            let Some(&n) = data.get(i + 1) else {
                return Err("payload ends after `{`".into());
            };
            let new = match n {
                b'A' => Some(Set::A),
                b'B' => Some(Set::B),
                b'C' => Some(Set::C),
                b'{' => None,
                other => return Err(format!("unknown selector {{{}", other as char)),
            };
            i += 2;
            if let Some(s) = new {
                match set {
                    None => values.push(match s {
                        Set::A => 103,
                        Set::B => 104,
                        Set::C => 105,
                    }),
                    Some(cur) if cur != s => values.push(match s {
                        Set::A => 101,
                        Set::B => 100,
                        Set::C => 99,
                    }),
                    _ => {}
                }
                set = Some(s);
                continue;
            }
            // `{{`: a literal brace in set A/B.
            match set {
                Some(Set::B) => {
                    values.push(b'{' - 32);
                    text.push('{');
                }
                _ => return Err("literal `{` outside code set B".into()),
            }
            continue;
        }
        match set {
            None => return Err("data does not start with a code-set selector {A {B {C".into()),
            Some(Set::C) => {
                if b > 99 {
                    return Err(format!("set C value {b} > 99"));
                }
                values.push(b);
                text.push_str(&format!("{b:02}"));
            }
            Some(Set::B) => {
                if !(32..=127).contains(&b) {
                    return Err(format!("byte {b:#04x} not in set B"));
                }
                values.push(b - 32);
                text.push(b as char);
            }
            Some(Set::A) => {
                let v = match b {
                    32..=95 => b - 32,
                    0..=31 => b + 64,
                    _ => return Err(format!("byte {b:#04x} not in set A")),
                };
                values.push(v);
                if b >= 32 {
                    text.push(b as char);
                }
            }
        }
        i += 1;
    }
    if values.len() < 2 {
        return Err("no data".into());
    }
    let check = values
        .iter()
        .enumerate()
        .map(|(k, v)| if k == 0 { *v as u32 } else { k as u32 * *v as u32 })
        .sum::<u32>()
        % 103;
    values.push(check as u8);
    values.push(106);
    Ok(Symbol { values, text })
}

/// Module pattern (true = bar) of the whole symbol, no quiet zones.
pub fn modules(values: &[u8]) -> Vec<bool> {
    let mut out = Vec::new();
    for v in values {
        let p = PATTERNS.get(*v as usize).copied().unwrap_or(PATTERNS[106]);
        for (k, w) in p.bytes().enumerate() {
            let bar = k % 2 == 0;
            for _ in 0..(w - b'0') {
                out.push(bar);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_eleven_modules() {
        for (i, p) in PATTERNS.iter().enumerate() {
            let sum: u32 = p.bytes().map(|b| (b - b'0') as u32).sum();
            assert_eq!(sum, if i == 106 { 13 } else { 11 }, "symbol {i}");
        }
    }

    #[test]
    fn set_c_checksum() {
        // Start C (105) + 12 + 34: (105 + 1·12 + 2·34) % 103 = 82.
        let s = parse(&[b'{', b'C', 12, 34]).unwrap();
        assert_eq!(s.values, vec![105, 12, 34, 82, 106]);
        assert_eq!(s.text, "1234");
        assert!(parse(b"ABC").is_err());
        assert!(parse(&[b'{', b'C', 200]).is_err());
    }
}
