//! Details entry: which fields a document needs, their validation (GB 11643 check digit),
//! and masking for anything that might be shown or logged.

use crate::config::Field;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What the person typed. Personal data: zeroized on drop, never `Debug`-printed in clear.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop, serde::Serialize, serde::Deserialize)]
pub struct Details {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

/// A synthetic person (the worked example of GB 11643-1999; no real person's number):
/// `kiosk simulate`'s default, the headless run's and the demo walk's person.
pub fn synthetic_person() -> Details {
    Details {
        name: Some("测试".into()),
        id_number: Some("11010519491231002X".into()),
        mobile: None,
    }
}

impl fmt::Debug for Details {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Details")
            .field("name", &self.name.as_deref().map(mask_name))
            .field("id_number", &self.id_number.as_deref().map(mask_id_number))
            .field("mobile", &self.mobile.as_deref().map(mask_mobile))
            .finish()
    }
}

/// A rejected field, with a message for the person in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field:?}: {zh} / {en}")]
pub struct FieldError {
    pub field: Field,
    pub zh: &'static str,
    pub en: &'static str,
}

fn fe(field: Field, zh: &'static str, en: &'static str) -> FieldError {
    FieldError { field, zh, en }
}

impl Details {
    /// Validates the fields `needed`; fields not needed must be absent (collect nothing
    /// that nothing uses).
    pub fn validate(&self, needed: &[Field]) -> Result<(), Vec<FieldError>> {
        let mut errs = vec![];
        let check = |f: Field, v: &Option<String>, errs: &mut Vec<FieldError>| {
            let present = v.as_deref().is_some_and(|s| !s.trim().is_empty());
            if needed.contains(&f) && !present {
                errs.push(match f {
                    Field::Name => fe(f, "请输入姓名", "Please enter your name"),
                    Field::IdNumber => fe(f, "请输入身份证号码", "Please enter your ID number"),
                    Field::Mobile => fe(f, "请输入手机号码", "Please enter your mobile number"),
                });
                return false;
            }
            if !needed.contains(&f) && present {
                errs.push(fe(f, "此项无需填写", "This field is not needed"));
                return false;
            }
            present
        };
        if check(Field::Name, &self.name, &mut errs) {
            if let Err(e) = validate_name(self.name.as_deref().unwrap_or_default()) {
                errs.push(e);
            }
        }
        if check(Field::IdNumber, &self.id_number, &mut errs) {
            if let Err(e) = validate_id_number(self.id_number.as_deref().unwrap_or_default()) {
                errs.push(e);
            }
        }
        if check(Field::Mobile, &self.mobile, &mut errs) {
            if let Err(e) = validate_mobile(self.mobile.as_deref().unwrap_or_default()) {
                errs.push(e);
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }
}

fn validate_name(n: &str) -> Result<(), FieldError> {
    let n = n.trim();
    let len = n.chars().count();
    let ok_char = |c: char| c.is_alphabetic() || c == '·' || c == ' ' || c == '-' || c == '.';
    if len == 0 || len > 30 || !n.chars().all(ok_char) {
        return Err(fe(
            Field::Name,
            "姓名应与身份证上一致（最多30个字）",
            "Enter the name as shown on the ID (up to 30 characters)",
        ));
    }
    Ok(())
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// The GB 11643 check character for the first 17 digits.
pub fn id_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    Some(CHECK[(sum % 11) as usize] as char)
}

/// Validates an 18-digit resident ID number (GB 11643-1999): digits, a plausible birth
/// date, and the check character (`x` accepted as `X`).
pub fn validate_id_number(s: &str) -> Result<(), FieldError> {
    let s = s.trim();
    let bad_len = fe(
        Field::IdNumber,
        "身份证号码应为18位（最后一位可为X）",
        "The ID number has 18 characters (the last may be X)",
    );
    if s.len() != 18 || !s.is_ascii() {
        return Err(bad_len);
    }
    let (body, last) = s.split_at(17);
    let Some(expected) = id_check_char(body) else {
        return Err(bad_len);
    };
    let (y, m, d) = (&body[6..10], &body[10..12], &body[12..14]);
    let date_ok =
        chrono::NaiveDate::from_ymd_opt(y.parse().unwrap_or(0), m.parse().unwrap_or(0), d.parse().unwrap_or(0))
            .is_some_and(|date| date.format("%Y").to_string().as_str() >= "1900");
    if !date_ok {
        return Err(fe(
            Field::IdNumber,
            "身份证号码有误（出生日期不对），请逐位核对",
            "The birth date in the ID number is not valid",
        ));
    }
    if !last.eq_ignore_ascii_case(&expected.to_string()) {
        return Err(fe(
            Field::IdNumber,
            "身份证号码有误，请逐位核对",
            "The ID number is not right: please check it digit by digit",
        ));
    }
    Ok(())
}

fn validate_mobile(s: &str) -> Result<(), FieldError> {
    let b = s.trim().as_bytes();
    if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit) {
        Ok(())
    } else {
        Err(fe(
            Field::Mobile,
            "请输入11位手机号码",
            "Enter an 11-digit mobile number",
        ))
    }
}

/// `440106199001011234` → `4401**********1234` (first 4, last 4).
pub fn mask_id_number(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    if c.len() <= 8 {
        return "*".repeat(c.len());
    }
    let head: String = c[..4].iter().collect();
    let tail: String = c[c.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(c.len() - 8))
}

/// `张三丰` → `张**`.
pub fn mask_name(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => format!("{first}{}", "*".repeat(c.count())),
        None => String::new(),
    }
}

/// `13800138000` → `138****8000`.
pub fn mask_mobile(s: &str) -> String {
    if s.len() == 11 && s.is_ascii() {
        format!("{}****{}", &s[..3], &s[7..])
    } else {
        "*".repeat(s.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid number built from its body, so no real person's number is in the tree.
    fn valid_id(body: &str) -> String {
        format!("{body}{}", id_check_char(body).unwrap())
    }

    #[test]
    fn check_digit_matches_gb11643_examples() {
        // The worked example of GB 11643-1999: 11010519491231002X.
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
        assert!(validate_id_number("11010519491231002X").is_ok());
        assert!(validate_id_number("11010519491231002x").is_ok());
        // 440524188001010014 is the textbook example with check digit 4.
        assert_eq!(id_check_char("44052418800101001"), Some('4'));
    }

    #[test]
    fn rejects_wrong_check_digit_length_and_date() {
        let ok = valid_id("44010619900101123");
        assert!(validate_id_number(&ok).is_ok());
        let mut wrong = ok.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        let e = validate_id_number(&wrong).unwrap_err();
        // Plain words (issue #15): never the jargon 校验位.
        assert_eq!(e.zh, "身份证号码有误，请逐位核对");
        assert!(!e.zh.contains("校验"));
        assert!(validate_id_number(&ok[..17]).unwrap_err().zh.contains("18位"));
        assert!(validate_id_number("44010619901301123X")
            .unwrap_err()
            .en
            .contains("birth date"));
        assert!(validate_id_number("4401061990010112３X").is_err(), "full-width digit");
    }

    #[test]
    fn details_follow_the_document_fields() {
        let d = Details {
            name: Some("张三".into()),
            id_number: Some(valid_id("44010619900101123")),
            mobile: None,
        };
        assert!(d.validate(&[Field::Name, Field::IdNumber]).is_ok());
        let errs = d.validate(&[Field::IdNumber]).unwrap_err();
        assert_eq!(errs[0].field, Field::Name, "name given but not needed");
        let empty = Details::default();
        let errs = empty.validate(&[Field::Name, Field::IdNumber]).unwrap_err();
        assert_eq!(errs.len(), 2);
        let m = Details {
            name: None,
            id_number: None,
            mobile: Some("12345".into()),
        };
        assert_eq!(m.validate(&[Field::Mobile]).unwrap_err()[0].field, Field::Mobile);
        let m = Details {
            name: None,
            id_number: None,
            mobile: Some("13800138000".into()),
        };
        assert!(m.validate(&[Field::Mobile]).is_ok());
        let bad_name = Details {
            name: Some("<script>".into()),
            id_number: None,
            mobile: None,
        };
        assert!(bad_name.validate(&[Field::Name]).is_err());
    }

    #[test]
    fn masks_hide_the_middle() {
        assert_eq!(mask_id_number("44010619900101123X"), "4401**********123X");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_mobile("13800138000"), "138****8000");
        let d = Details {
            name: Some("张三".into()),
            id_number: Some("44010619900101123X".into()),
            mobile: None,
        };
        let dbg = format!("{d:?}");
        assert!(!dbg.contains("张三") && !dbg.contains("0619900101"), "{dbg}");
    }
}
