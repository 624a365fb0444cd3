//! The emulator's card file (shared/specs/idcard-reader.md, "The emulator's card file")
//! and the 256-byte text the chip would hold, written from the spec on its own.

use std::path::Path;

/// One card, all values strings as the card holds them.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardFile {
    pub name: String,
    pub sex: String,
    pub nation: String,
    pub birth: String,
    pub address: String,
    pub id_number: String,
    pub authority: String,
    pub valid_from: String,
    pub valid_to: String,
    /// `" "` resident (default), `"I"`, `"J"`.
    #[serde(default = "resident")]
    pub card_type: String,
}

fn resident() -> String {
    " ".into()
}

#[derive(Debug, thiserror::Error)]
pub enum CardFileError {
    #[error("cannot read the card file {path}: {message}")]
    Read { path: String, message: String },
    #[error("card file {path}: {message}")]
    Invalid { path: String, message: String },
}

impl CardFile {
    pub fn load(path: &Path) -> Result<CardFile, CardFileError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CardFileError::Read {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let card: CardFile = toml::from_str(&text).map_err(|e| CardFileError::Invalid {
            path: p.clone(),
            message: e.message().trim().to_string(),
        })?;
        card.text()
            .map_err(|message| CardFileError::Invalid { path: p, message })?;
        Ok(card)
    }

    /// A resident card of a synthetic person (the spec's example).
    pub fn example() -> CardFile {
        CardFile {
            name: "张三".into(),
            sex: "1".into(),
            nation: "01".into(),
            birth: "19800101".into(),
            address: "广东省广州市越秀区某路1号".into(),
            id_number: "440104198001010016".into(),
            authority: "广州市公安局越秀分局".into(),
            valid_from: "20200101".into(),
            valid_to: "20400101".into(),
            card_type: " ".into(),
        }
    }

    /// The text as the chip holds it: UCS-2 little-endian, each field padded with spaces.
    pub fn text(&self) -> Result<Vec<u8>, String> {
        let fields: [(&str, &str, usize); 9] = [
            ("name", &self.name, 30),
            ("sex", &self.sex, 2),
            ("nation", &self.nation, 4),
            ("birth", &self.birth, 16),
            ("address", &self.address, 70),
            ("id_number", &self.id_number, 36),
            ("authority", &self.authority, 30),
            ("valid_from", &self.valid_from, 16),
            ("valid_to", &self.valid_to, 16),
        ];
        let mut out = Vec::with_capacity(256);
        for (key, value, bytes) in fields {
            put(&mut out, key, value, bytes)?;
        }
        // Reserved: 36 bytes, the card type at its 29th and 30th byte (248–249).
        let mut reserved = Vec::new();
        put(&mut reserved, "reserved", "", 28)?;
        if self.card_type.encode_utf16().count() != 1 {
            return Err(format!(
                "card_type `{}` must be one character: \" \", \"I\" or \"J\"",
                self.card_type
            ));
        }
        put(&mut reserved, "card_type", &self.card_type, 2)?;
        put(&mut reserved, "reserved", "", 6)?;
        out.extend(reserved);
        debug_assert_eq!(out.len(), 256);
        Ok(out)
    }
}

fn put(out: &mut Vec<u8>, key: &str, value: &str, bytes: usize) -> Result<(), String> {
    let units: Vec<u16> = value.encode_utf16().collect();
    if units.len() * 2 > bytes {
        return Err(format!(
            "{key} `{value}` is longer than the card's {} characters",
            bytes / 2
        ));
    }
    for u in units.iter().copied().chain(std::iter::repeat(0x20)).take(bytes / 2) {
        out.extend_from_slice(&u.to_le_bytes());
    }
    Ok(())
}
