//! A scripted ID-card reader for the session and UI tests: each poll returns the next
//! scripted read, then `NoCard` for ever.

use crate::domain::{CardDetails, CardKind, CardRead};
use crate::ports::IdCardReader;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The reads still to come; shared so a test can script more while the reader is in use.
#[derive(Clone, Default)]
pub struct ScriptedReader {
    pub script: Arc<Mutex<VecDeque<CardRead>>>,
    /// How many times the reader was polled.
    pub polls: Arc<Mutex<u32>>,
}

impl ScriptedReader {
    pub fn new(reads: impl IntoIterator<Item = CardRead>) -> Self {
        ScriptedReader {
            script: Arc::new(Mutex::new(reads.into_iter().collect())),
            polls: Arc::default(),
        }
    }

    pub fn push(&self, read: CardRead) {
        self.script.lock().unwrap_or_else(|p| p.into_inner()).push_back(read);
    }
}

impl IdCardReader for ScriptedReader {
    fn poll(&mut self) -> CardRead {
        *self.polls.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.script
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
            .unwrap_or(CardRead::NoCard)
    }

    fn describe(&self) -> String {
        "testkit:scripted".into()
    }
}

/// The spec's synthetic resident (张三, a valid GB 11643 number; no real person).
pub fn resident_card() -> CardDetails {
    CardDetails {
        name: "张三".into(),
        id_number: "440104198001010016".into(),
        kind: CardKind::Resident,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CardFault;

    #[test]
    fn plays_the_script_then_no_card() {
        let mut r = ScriptedReader::new([CardRead::Fault(CardFault::Checksum), CardRead::Card(resident_card())]);
        assert_eq!(r.poll(), CardRead::Fault(CardFault::Checksum));
        let CardRead::Card(c) = r.poll() else { panic!("a card") };
        let d = crate::ports::details_from_card(&c);
        assert!(d
            .validate(&[crate::config::Field::Name, crate::config::Field::IdNumber])
            .is_ok());
        assert_eq!(r.poll(), CardRead::NoCard);
        assert_eq!(*r.polls.lock().unwrap(), 3);
    }
}
