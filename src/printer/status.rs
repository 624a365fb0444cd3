//! Printer status: DLE EOT replies, ASB frames and GS r replies → what the kiosk acts
//! on (escpos.md §2–§4, §6.1).

pub use crate::domain::PrinterFault as Fault;

/// The printer's state as the kiosk sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Faults, most important first; empty = ready.
    pub faults: Vec<Fault>,
    /// Paper near end: keep printing, warn the operator.
    pub near_end: bool,
}

impl Health {
    pub fn ready(&self) -> bool {
        self.faults.is_empty()
    }
    pub fn first_fault(&self) -> Option<Fault> {
        self.faults.first().copied()
    }
}

/// A status byte that is not a status (escpos.md §6.1: a protocol error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("protocol error: status byte {0:#04x} fails (b & 0x93) == 0x12")]
pub struct BadStatusByte(pub u8);

/// Checks the fixed bits of a DLE EOT reply.
pub fn check_dle_eot(b: u8) -> Result<u8, BadStatusByte> {
    if b & 0x93 == 0x12 {
        Ok(b)
    } else {
        Err(BadStatusByte(b))
    }
}

/// Classifies the four DLE EOT replies n = 1, 2, 3, 4 (§6.1).
pub fn classify_dle_eot(n1: u8, n2: u8, n3: u8, n4: u8) -> Result<Health, BadStatusByte> {
    for b in [n1, n2, n3, n4] {
        check_dle_eot(b)?;
    }
    let mut h = Health::default();
    if n2 & 0x04 != 0 {
        h.faults.push(Fault::CoverOpen);
    }
    if n4 & 0x60 == 0x60 || n2 & 0x20 != 0 {
        h.faults.push(Fault::PaperOut);
    }
    if n3 & 0x08 != 0 {
        h.faults.push(Fault::CutterError);
    }
    if n3 & 0x60 != 0 || (n2 & 0x40 != 0 && h.faults.is_empty()) {
        h.faults.push(Fault::PrinterError);
    }
    if n1 & 0x08 != 0 && h.faults.is_empty() {
        h.faults.push(Fault::Offline);
    }
    h.near_end = n4 & 0x0C == 0x0C;
    Ok(h)
}

/// Whether `b` can start an ASB frame.
pub fn is_asb_first(b: u8) -> bool {
    b & 0x93 == 0x10
}

/// Classifies a 4-byte Automatic Status Back frame (§4).
pub fn classify_asb(f: [u8; 4]) -> Health {
    let mut h = Health::default();
    if f[0] & 0x20 != 0 {
        h.faults.push(Fault::CoverOpen);
    }
    if f[2] & 0x0C != 0 {
        h.faults.push(Fault::PaperOut);
    }
    if f[1] & 0x08 != 0 {
        h.faults.push(Fault::CutterError);
    }
    if f[1] & 0x64 != 0 {
        h.faults.push(Fault::PrinterError);
    }
    if f[0] & 0x08 != 0 && h.faults.is_empty() {
        h.faults.push(Fault::Offline);
    }
    h.near_end = f[2] & 0x03 != 0;
    h
}

/// One thing read from the printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Asb(Health),
    /// A 1-byte reply: DLE EOT (bit 4 set) or GS r (bit 4 clear).
    DleEot(u8),
    GsR(u8),
    /// A byte that fits no reply: logged and skipped.
    Garbage(u8),
}

/// Splits the byte stream from the printer into replies and ASB frames.
#[derive(Debug, Default)]
pub struct Decoder {
    asb: Vec<u8>,
}

impl Decoder {
    pub fn push(&mut self, b: u8, out: &mut Vec<Incoming>) {
        if !self.asb.is_empty() {
            if b & 0x90 == 0 {
                self.asb.push(b);
                if self.asb.len() == 4 {
                    let f = [self.asb[0], self.asb[1], self.asb[2], self.asb[3]];
                    self.asb.clear();
                    out.push(Incoming::Asb(classify_asb(f)));
                }
                return;
            }
            // A broken frame: drop it and read `b` afresh.
            for g in self.asb.drain(..) {
                out.push(Incoming::Garbage(g));
            }
        }
        if is_asb_first(b) {
            self.asb.push(b);
        } else if b & 0x93 == 0x12 {
            out.push(Incoming::DleEot(b));
        } else if b & 0x90 == 0 {
            out.push(Incoming::GsR(b));
        } else {
            out.push(Incoming::Garbage(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vectors() {
        let ok = classify_dle_eot(0x12, 0x12, 0x12, 0x12).unwrap();
        assert!(ok.ready() && !ok.near_end);
        // Out of paper: n1 0x1A (offline), n2 0x32 (paper end), n4 0x7E (no paper).
        let h = classify_dle_eot(0x1A, 0x32, 0x12, 0x7E).unwrap();
        assert_eq!(h.first_fault(), Some(Fault::PaperOut));
        assert!(
            !h.faults.contains(&Fault::Offline),
            "the cause is named, not just offline"
        );
        let h = classify_dle_eot(0x1A, 0x16, 0x12, 0x12).unwrap();
        assert_eq!(h.faults, vec![Fault::CoverOpen]);
        let h = classify_dle_eot(0x1A, 0x52, 0x1A, 0x12).unwrap();
        assert_eq!(h.faults, vec![Fault::CutterError]);
        let h = classify_dle_eot(0x12, 0x12, 0x12, 0x1E).unwrap();
        assert!(h.ready() && h.near_end);
        assert_eq!(classify_dle_eot(0x00, 0x12, 0x12, 0x12), Err(BadStatusByte(0)));
        assert!(check_dle_eot(0xFF).is_err());
    }

    #[test]
    fn decoder_splits_asb_and_replies() {
        let mut d = Decoder::default();
        let mut out = vec![];
        for b in [0x12, 0x10, 0x00, 0x0C, 0x00, 0x00, 0xFF, 0x18, 0x00, 0x00, 0x00] {
            d.push(b, &mut out);
        }
        assert_eq!(out[0], Incoming::DleEot(0x12));
        assert_eq!(
            out[1],
            Incoming::Asb(Health {
                faults: vec![Fault::PaperOut],
                near_end: false
            })
        );
        assert_eq!(out[2], Incoming::GsR(0));
        assert_eq!(out[3], Incoming::Garbage(0xFF));
        assert_eq!(
            out[4],
            Incoming::Asb(Health {
                faults: vec![Fault::Offline],
                near_end: false
            })
        );
    }

    use proptest::prelude::*;

    proptest! {
        // Cases: PROPTEST_CASES (default 256).
        /// Any four replies: a `Health` exactly when every byte has the fixed bits, else
        /// the typed `BadStatusByte` naming the first bad one; never a panic.
        #[test]
        fn any_dle_eot_replies_classify_or_fail_typed(r in any::<[u8; 4]>()) {
            match classify_dle_eot(r[0], r[1], r[2], r[3]) {
                Ok(h) => {
                    prop_assert!(r.iter().all(|b| b & 0x93 == 0x12));
                    let mut seen = h.faults.clone();
                    seen.dedup();
                    prop_assert_eq!(seen.len(), h.faults.len(), "no fault twice");
                }
                Err(BadStatusByte(b)) => {
                    let first = r.iter().copied().find(|b| b & 0x93 != 0x12);
                    prop_assert_eq!(Some(b), first);
                }
            }
        }

        /// Any byte stream from the printer: every byte ends up in exactly one thing
        /// (a reply, an ASB frame of four, typed garbage) or in the one frame still open.
        #[test]
        fn the_decoder_accounts_for_every_byte(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let mut d = Decoder::default();
            let mut out = Vec::new();
            for &b in &bytes {
                d.push(b, &mut out);
                prop_assert!(d.asb.len() < 4);
            }
            let counted: usize = out
                .iter()
                .map(|i| match i {
                    Incoming::Asb(_) => 4,
                    Incoming::DleEot(_) | Incoming::GsR(_) | Incoming::Garbage(_) => 1,
                })
                .sum();
            prop_assert_eq!(counted + d.asb.len(), bytes.len());
            for i in &out {
                if let Incoming::Asb(h) = i {
                    prop_assert!(h.faults.len() <= 5);
                }
            }
        }
    }
}
