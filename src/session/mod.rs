//! The kiosk session as plain logic: events in, effects out. No device, UI, clock or
//! randomness in here, so `simulate`, the touch UI and the tests drive the same flow.
//!
//! ```text
//! attract → choose document → choose region → consent (→ declined → attract) → details
//!   details (card read or typed) → posing → review photo → uploading
//!   posing → (N failed captures or reviews, or T s without a passing capture → see staff,
//!             hand-off slip and staff alert)
//!   uploading → (rejected → posing with reasons | deadline passed → claim slip) → printing
//!   printing → (printer fault → waiting for printer, number on screen) → done → attract
//! ```
//! Cancel/back work everywhere; inactivity starts a "still there?" countdown, then the
//! session ends and its personal data is wiped, whichever way it ends.

pub mod details;
mod model;

use crate::config::{Config, DocumentId, Field, RegionCode};
use crate::domain::{CardDetails, CardRead, PhotoJpeg, PrinterFault, Prompt, Slip};
pub use details::Details;
pub use model::{CardStatus, DetailsSource, Device, Effect, Event, State};
use std::collections::BTreeSet;

/// Milliseconds on a monotonic clock chosen by the host (tests use plain numbers).
pub type Millis = u64;

/// What the session needs from the config, copied once so the flow stays pure.
#[derive(Debug, Clone)]
pub struct Rules {
    pub inactivity_ms: Millis,
    pub still_there_ms: Millis,
    /// How long the done and declined screens stay without a touch.
    pub done_clear_ms: Millis,
    pub retake_limit: u32,
    pub reject_limit: u32,
    pub decision_deadline_ms: Millis,
    /// (document, regions offering it, fields it needs), in display order.
    pub documents: Vec<(DocumentId, Vec<RegionCode>, Vec<Field>)>,
    /// Minimum gap between two voice prompts for the same hint.
    pub speak_gap_ms: Millis,
    /// Failed captures plus review rejections after which posing stops (hand-off).
    pub posing_fail_limit: u32,
    /// Time in posing without a passing capture after which posing stops (hand-off).
    pub posing_time_limit_ms: Millis,
    /// An ID-card reader is configured: the details screen asks for the card.
    pub card_reader: bool,
}

impl Rules {
    pub fn from_config(c: &Config) -> Rules {
        Rules {
            inactivity_ms: u64::from(c.kiosk.inactivity_timeout_s) * 1000,
            still_there_ms: u64::from(c.kiosk.still_there_s) * 1000,
            done_clear_ms: u64::from(c.kiosk.done_clear_s) * 1000,
            retake_limit: c.kiosk.retake_limit,
            reject_limit: c.kiosk.reject_limit,
            decision_deadline_ms: u64::from(c.kiosk.decision_deadline_s) * 1000,
            documents: c
                .offered_documents()
                .into_iter()
                .map(|d| {
                    let regions = c.regions_for(d).into_iter().map(|(k, _)| k.clone()).collect();
                    (d, regions, c.documents[&d].fields.clone())
                })
                .collect(),
            speak_gap_ms: 4000,
            posing_fail_limit: c.kiosk.posing_fail_limit,
            posing_time_limit_ms: u64::from(c.kiosk.posing_time_limit_s) * 1000,
            card_reader: !matches!(c.devices.idcard.device(), crate::config::Device::None),
        }
    }

    fn fields(&self, doc: DocumentId) -> &[Field] {
        self.documents
            .iter()
            .find(|(d, ..)| *d == doc)
            .map(|(_, _, f)| f.as_slice())
            .unwrap_or(&[])
    }
    fn offers(&self, doc: DocumentId, region: &RegionCode) -> bool {
        self.documents.iter().any(|(d, r, _)| *d == doc && r.contains(region))
    }
}

/// Personal data of the current person: zeroized on drop (every field is).
#[derive(Debug, Default)]
pub struct PersonalData {
    pub details: Option<Details>,
    /// The name and number read from the ID card, until the session ends.
    pub card: Option<CardDetails>,
    /// The raw capture, kept for 再办一项 until the session ends.
    pub capture: Option<PhotoJpeg>,
    /// The compliant photo awaiting the person's confirmation.
    pub photo: Option<PhotoJpeg>,
}

impl PersonalData {
    fn is_empty(&self) -> bool {
        self.details.is_none() && self.card.is_none() && self.capture.is_none() && self.photo.is_none()
    }
}

#[derive(Debug)]
pub struct Session {
    rules: Rules,
    state: State,
    data: PersonalData,
    now: Millis,
    last_activity: Millis,
    still_there_until: Option<Millis>,
    retakes: u32,
    rejects: u32,
    last_spoken: Option<(String, Millis)>,
    faults: BTreeSet<Device>,
    /// A `RemakePhoto` of the kept capture is out (再办一项): only then does the details
    /// screen take a `PhotoMade`/`PhotoFailed`. A late result of a capture from before
    /// the person pressed back must not pull them off the details they are correcting.
    remaking: bool,
    /// The region whose consent text the person agreed to in this session.
    consented: Option<RegionCode>,
    /// Where the accepted details came from.
    details_source: Option<DetailsSource>,
    /// Why posing is not working: escalation's record, counted over the session.
    trouble: Trouble,
}

/// What kept failing in this session: counted for the posing limits, listed on the
/// hand-off slip and the staff alert.
#[derive(Debug, Default)]
struct Trouble {
    /// Failed captures plus review rejections.
    failures: u32,
    /// When the current posing stint began (a passing capture ends it).
    posing_since: Millis,
    /// Reasons given for failed captures and rejections, first seen first, no repeats.
    reasons: Vec<Prompt>,
    /// Hints given while posing, with how often, for a stint that timed out uncaptured.
    hints: Vec<(Prompt, u32)>,
}

impl Trouble {
    fn failed(&mut self, reasons: &[Prompt]) {
        self.failures += 1;
        for r in reasons {
            if !self.reasons.iter().any(|k| k.id == r.id) {
                self.reasons.push(r.clone());
            }
        }
    }
    fn hinted(&mut self, hint: &Prompt) {
        match self.hints.iter_mut().find(|(p, _)| p.id == hint.id) {
            Some((_, n)) => *n += 1,
            None => self.hints.push((hint.clone(), 1)),
        }
    }
    /// What to tell the person and the counter: the refusals' reasons, else the three
    /// hints given most often.
    fn summary(&self) -> Vec<Prompt> {
        if !self.reasons.is_empty() {
            return self.reasons.clone();
        }
        let mut h = self.hints.clone();
        h.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        h.into_iter().take(3).map(|(p, _)| p).collect()
    }
}

impl Session {
    pub fn new(rules: Rules) -> Session {
        Session {
            rules,
            state: State::Attract,
            data: PersonalData::default(),
            now: 0,
            last_activity: 0,
            still_there_until: None,
            retakes: 0,
            rejects: 0,
            last_spoken: None,
            faults: BTreeSet::new(),
            remaking: false,
            consented: None,
            details_source: None,
            trouble: Trouble::default(),
        }
    }

    /// Where the accepted details came from (`None` before any were accepted, or for
    /// documents that ask for none).
    pub fn details_source(&self) -> Option<DetailsSource> {
        self.details_source
    }
    /// The card's name and number while the details screen shows them (for display).
    pub fn card(&self) -> Option<&CardDetails> {
        self.data.card.as_ref()
    }

    pub fn state(&self) -> &State {
        &self.state
    }
    pub fn rules(&self) -> &Rules {
        &self.rules
    }
    /// The photo on the review screen (for display only).
    pub fn photo(&self) -> Option<&PhotoJpeg> {
        self.data.photo.as_ref()
    }
    /// True when no personal data is held.
    pub fn holds_no_personal_data(&self) -> bool {
        self.data.is_empty()
    }
    pub fn still_there_deadline(&self) -> Option<Millis> {
        self.still_there_until
    }

    /// Feeds one event at monotonic time `now` and returns what the host must do.
    pub fn handle(&mut self, now: Millis, event: Event) -> Vec<Effect> {
        self.now = now.max(self.now);
        let mut fx = vec![];
        let user_action = !matches!(
            event,
            Event::Tick
                | Event::Guidance { .. }
                | Event::PhotoMade { .. }
                | Event::PhotoFailed(_)
                | Event::Queued { .. }
                | Event::UploadRefused(_)
                | Event::Approved { .. }
                | Event::Rejected(_)
                | Event::Printed
                | Event::PrinterFault(_)
                | Event::PrinterReady
                | Event::DeviceFault(_)
                | Event::DeviceRecovered(_)
                | Event::Card(_)
        ) || matches!(
            event,
            Event::Guidance { face_present: true, .. } | Event::Card(CardRead::Card(_))
        );
        if user_action {
            self.last_activity = self.now;
            if self.still_there_until.take().is_some() {
                fx.push(Effect::HideStillThere);
            }
        }
        self.step(event, &mut fx);
        fx
    }

    fn go(&mut self, next: State, fx: &mut Vec<Effect>) {
        let was_posing = matches!(self.state, State::Posing { .. });
        let posing = matches!(next, State::Posing { .. });
        if was_posing && !posing {
            fx.push(Effect::StopCamera);
        }
        if posing && !was_posing {
            fx.push(Effect::StartCamera);
            self.last_spoken = None;
            self.trouble.posing_since = self.now;
        }
        let changed = std::mem::discriminant(&self.state) != std::mem::discriminant(&next);
        if !matches!(next, State::Details { .. }) {
            self.remaking = false;
        }
        self.state = next;
        if changed {
            fx.push(Effect::Entered(self.state.name()));
        }
        if self.still_there_until.take().is_some() {
            fx.push(Effect::HideStillThere);
        }
        self.last_activity = self.now;
    }

    /// Ends the session whichever way: wipes personal data, back to attract (or out of service).
    fn end(&mut self, fx: &mut Vec<Effect>) {
        self.wipe(fx);
        self.retakes = 0;
        self.rejects = 0;
        self.consented = None;
        self.details_source = None;
        self.trouble = Trouble::default();
        let next = if self.faults.is_empty() {
            State::Attract
        } else {
            State::OutOfService {
                faults: self.faults.clone(),
            }
        };
        self.go(next, fx);
    }

    fn wipe(&mut self, fx: &mut Vec<Effect>) {
        // Dropping zeroizes (PhotoJpeg and Details are ZeroizeOnDrop).
        self.data = PersonalData::default();
        fx.push(Effect::Wiped);
    }

    fn posing(&self, doc: DocumentId, region: RegionCode, reasons: Vec<Prompt>) -> State {
        State::Posing {
            doc,
            region,
            hint: None,
            reasons,
        }
    }

    fn step(&mut self, event: Event, fx: &mut Vec<Effect>) {
        use Event as E;
        use State as S;
        // Events that mean the same in every state.
        match &event {
            E::Tick => return self.tick(fx),
            E::CallStaff => return fx.push(Effect::CallStaff),
            E::DeviceFault(d) => return self.fault(*d, fx),
            E::DeviceRecovered(d) => {
                self.faults.remove(d);
                if self.faults.is_empty() && matches!(self.state, S::OutOfService { .. }) {
                    self.go(S::Attract, fx);
                } else if let S::OutOfService { faults } = &mut self.state {
                    *faults = self.faults.clone();
                }
                return;
            }
            E::StillHere => return,
            _ => {}
        }
        let state = self.state.clone();
        match (state, event) {
            (S::Attract, E::Start) => self.go(S::ChooseDocument, fx),
            (S::ChooseDocument, E::ChooseDocument(doc)) if self.rules.documents.iter().any(|(d, ..)| *d == doc) => {
                self.go(S::ChooseRegion { doc }, fx)
            }
            (S::ChooseRegion { doc }, E::ChooseRegion(region)) if self.rules.offers(doc, &region) => {
                if self.consented.as_ref() == Some(&region) {
                    self.after_consent(doc, region, fx)
                } else {
                    self.go(S::Consent { doc, region }, fx)
                }
            }
            (S::Consent { doc, region }, E::Consent(true)) => {
                self.consented = Some(region.clone());
                self.after_consent(doc, region, fx)
            }
            (S::Consent { .. }, E::Consent(false)) => {
                // Nothing was collected yet, but a 再办一项 capture may be held: wipe.
                self.wipe(fx);
                self.retakes = 0;
                self.rejects = 0;
                self.consented = None;
                self.trouble = Trouble::default();
                self.go(S::Declined, fx);
            }
            (S::Declined, E::Accept) => self.end(fx),
            (
                S::Details {
                    doc,
                    region,
                    errors,
                    card,
                },
                E::Card(read),
            ) => {
                let card = self.card_read(read, card);
                self.state = S::Details {
                    doc,
                    region,
                    errors,
                    card,
                };
            }
            (S::Details { doc, region, card, .. }, E::SubmitDetails(details)) => {
                match details.validate(self.rules.fields(doc)) {
                    Ok(()) => {
                        let from_card = self.data.card.as_ref().is_some_and(|c| {
                            details.name.as_deref() == Some(c.name.as_str())
                                && details.id_number.as_deref() == Some(c.id_number.as_str())
                        });
                        self.details_source = Some(if from_card {
                            DetailsSource::IdCard
                        } else {
                            DetailsSource::Typed
                        });
                        self.data.details = Some(details);
                        self.after_details(doc, region, fx);
                    }
                    Err(errors) => {
                        self.state = S::Details {
                            doc,
                            region,
                            errors,
                            card,
                        }
                    }
                }
            }
            (
                S::Posing {
                    doc, region, reasons, ..
                },
                E::Guidance { hint, .. },
            ) => {
                if let Some(h) = &hint {
                    self.trouble.hinted(h);
                    let repeat = self
                        .last_spoken
                        .as_ref()
                        .is_some_and(|(id, t)| *id == h.id && self.now < t + self.rules.speak_gap_ms);
                    if !repeat {
                        self.last_spoken = Some((h.id.clone(), self.now));
                        fx.push(Effect::Speak(h.id.clone()));
                    }
                }
                self.state = S::Posing {
                    doc,
                    region,
                    hint,
                    reasons,
                };
            }
            // From posing, or on the details screen when a kept capture was remade (再办一项).
            (S::Details { .. }, E::PhotoMade { .. } | E::PhotoFailed(_)) if !self.remaking => {}
            (S::Posing { doc, region, .. } | S::Details { doc, region, .. }, E::PhotoMade { capture, photo }) => {
                self.data.capture = Some(capture);
                self.data.photo = Some(photo);
                let retakes_left = self.rules.retake_limit.saturating_sub(self.retakes);
                self.go(
                    S::ReviewPhoto {
                        doc,
                        region,
                        retakes_left,
                    },
                    fx,
                );
            }
            (S::Posing { doc, region, hint, .. }, E::PhotoFailed(reasons)) => {
                self.trouble.failed(&reasons);
                if self.trouble.failures >= self.rules.posing_fail_limit {
                    return self.hand_off(doc, region, fx);
                }
                self.state = S::Posing {
                    doc,
                    region,
                    hint,
                    reasons,
                };
            }
            (S::Details { doc, region, .. }, E::PhotoFailed(reasons)) => {
                self.data.capture = None;
                let next = self.posing(doc, region, reasons);
                self.go(next, fx);
            }
            (S::ReviewPhoto { doc, region, .. }, E::Accept) => {
                let (Some(photo), Some(details)) = (self.data.photo.take(), self.data.details.clone()) else {
                    // Cannot happen through the public API; recover by re-posing.
                    let next = self.posing(doc, region, vec![]);
                    return self.go(next, fx);
                };
                fx.push(Effect::Upload {
                    doc,
                    region: region.clone(),
                    details,
                    photo,
                });
                let since = self.now;
                self.go(
                    S::Uploading {
                        doc,
                        region,
                        since,
                        claim: None,
                    },
                    fx,
                );
            }
            (
                S::ReviewPhoto {
                    doc,
                    region,
                    retakes_left,
                },
                E::Retake | E::Back,
            ) => {
                if retakes_left == 0 {
                    return; // the UI hides the button; ignore a stray press
                }
                self.retakes += 1;
                self.data.photo = None;
                self.data.capture = None;
                let next = self.posing(doc, region, vec![]);
                self.go(next, fx);
            }
            (S::Uploading { doc, region, since, .. }, E::Queued { claim }) => {
                self.state = S::Uploading {
                    doc,
                    region,
                    since,
                    claim: Some(claim),
                };
            }
            (S::Uploading { doc, region, .. }, E::UploadRefused(reason)) => {
                self.trouble.reasons = vec![reason];
                self.hand_off(doc, region, fx)
            }
            (S::Uploading { doc, region, .. }, E::Approved { number, valid_until }) => {
                let slip = Slip::Receipt {
                    number,
                    valid_until,
                    doc,
                    region,
                };
                fx.push(Effect::Print(slip.clone()));
                self.go(S::Printing { slip }, fx);
            }
            (S::Uploading { doc, region, .. }, E::Rejected(reasons)) => {
                self.rejects += 1;
                self.trouble.failed(&reasons);
                // The refused capture is of no further use: never remade (再办一项, or
                // details resubmitted after going back), and personal data held no longer.
                self.data.capture = None;
                // A camera that failed meanwhile cannot take the new photo: a counter can.
                if self.rejects > self.rules.reject_limit
                    || self.trouble.failures >= self.rules.posing_fail_limit
                    || self.faults.contains(&Device::Camera)
                {
                    self.hand_off(doc, region, fx);
                } else {
                    let next = self.posing(doc, region, reasons);
                    self.go(next, fx);
                }
            }
            (S::Printing { slip }, E::Printed) | (S::WaitingForPrinter { slip, .. }, E::Printed) => {
                self.go(S::Done { slip: Some(slip) }, fx)
            }
            (S::Printing { slip }, E::PrinterFault(fault))
            | (S::WaitingForPrinter { slip, .. }, E::PrinterFault(fault)) => {
                self.go(S::WaitingForPrinter { slip, fault }, fx)
            }
            // The print journal reprints the spoiled slip by itself once the printer is back.
            (S::WaitingForPrinter { slip, .. }, E::PrinterReady) => self.go(S::Printing { slip }, fx),
            (S::Done { .. }, E::AnotherDocument) if self.data.capture.is_some() => {
                self.data.photo = None;
                self.go(S::ChooseDocument, fx);
            }
            (S::Done { .. }, E::Accept) => self.end(fx),
            (S::SeeStaff { .. }, E::Accept) => self.end(fx),
            // Cancel/back.
            (S::Uploading { .. }, E::Cancel) => {
                fx.push(Effect::AbandonUpload);
                self.end(fx);
            }
            (S::Uploading { .. }, E::Back) => {}
            (_, E::Cancel) => self.end(fx),
            (S::ChooseDocument, E::Back) => self.end(fx),
            (S::ChooseRegion { .. }, E::Back) => self.go(S::ChooseDocument, fx),
            (S::Consent { doc, .. }, E::Back) => self.go(S::ChooseRegion { doc }, fx),
            (S::Details { doc, .. }, E::Back) => self.go(S::ChooseRegion { doc }, fx),
            (S::Posing { doc, region, .. }, E::Back) => {
                if self.rules.fields(doc).is_empty() {
                    self.go(S::ChooseRegion { doc }, fx)
                } else {
                    let card = self.card_status();
                    self.go(
                        S::Details {
                            doc,
                            region,
                            errors: vec![],
                            card,
                        },
                        fx,
                    )
                }
            }
            (_, E::Back) => self.end(fx),
            // Anything else is not meaningful here (a late device event, a double tap).
            _ => {}
        }
    }

    fn after_consent(&mut self, doc: DocumentId, region: RegionCode, fx: &mut Vec<Effect>) {
        if self.rules.fields(doc).is_empty() {
            self.data.details = Some(Details::default());
            self.after_details(doc, region, fx);
        } else {
            let card = self.card_status();
            self.go(
                State::Details {
                    doc,
                    region,
                    errors: vec![],
                    card,
                },
                fx,
            );
        }
    }

    /// The card status a details screen opens with.
    fn card_status(&self) -> CardStatus {
        match (&self.data.card, self.rules.card_reader) {
            (Some(_), _) => CardStatus::Filled,
            (None, true) => CardStatus::Waiting,
            (None, false) => CardStatus::NoReader,
        }
    }

    /// One reader poll on the details screen. A card still lying on the reader is read
    /// again and again: only a different card refills the fields (the person may have
    /// corrected them), and a card removed leaves them as they are.
    fn card_read(&mut self, read: CardRead, status: CardStatus) -> CardStatus {
        match read {
            CardRead::NoCard => status,
            CardRead::Card(c) => {
                let same = self.data.card.as_ref().is_some_and(|k| k.id_number == c.id_number);
                if !same {
                    self.data.card = Some(c);
                }
                CardStatus::Filled
            }
            // A fault after a good read (the card slid off mid-poll) keeps what was read.
            CardRead::Fault(_) if status == CardStatus::Filled => status,
            CardRead::Fault(f) => CardStatus::Fault(f.prompt()),
        }
    }

    /// The kiosk cannot help this person: hand-off slip, staff alert, and the screen that
    /// sends them to a counter. Nothing more will be done with their data: wiped now.
    fn hand_off(&mut self, doc: DocumentId, region: RegionCode, fx: &mut Vec<Effect>) {
        let reasons = self.trouble.summary();
        fx.push(Effect::HandOff {
            doc,
            region,
            reasons: reasons.clone(),
        });
        self.wipe(fx);
        self.go(State::SeeStaff { reasons }, fx);
    }

    fn after_details(&mut self, doc: DocumentId, region: RegionCode, fx: &mut Vec<Effect>) {
        if let Some(capture) = self.data.capture.clone() {
            // 再办一项: re-make the kept capture for this document instead of posing again.
            self.remaking = true;
            fx.push(Effect::RemakePhoto {
                doc,
                region: region.clone(),
                capture,
            });
            if !matches!(self.state, State::Details { .. }) {
                let card = self.card_status();
                self.go(
                    State::Details {
                        doc,
                        region,
                        errors: vec![],
                        card,
                    },
                    fx,
                );
            }
        } else {
            let next = self.posing(doc, region, vec![]);
            self.go(next, fx);
        }
    }

    fn fault(&mut self, d: Device, fx: &mut Vec<Effect>) {
        self.faults.insert(d);
        match (&self.state, d) {
            // A printer fault mid-print keeps the person: the number is shown on screen.
            (State::Printing { slip }, Device::Printer) => {
                let slip = slip.clone();
                self.go(
                    State::WaitingForPrinter {
                        slip,
                        fault: PrinterFault::Offline,
                    },
                    fx,
                )
            }
            (State::WaitingForPrinter { .. } | State::Done { .. }, Device::Printer) => {}
            // An upload in flight stays in the outbox; the review-service outage only stops new sessions.
            (State::Uploading { .. }, Device::ReviewService) => {}
            (State::Attract | State::OutOfService { .. }, _) => self.go(
                State::OutOfService {
                    faults: self.faults.clone(),
                },
                fx,
            ),
            // A person mid-session whose device died: the session ends, data wiped.
            (State::Printing { .. } | State::WaitingForPrinter { .. } | State::Done { .. }, _) => {}
            (State::Uploading { .. }, _) => {}
            // A printer fault seen by the idle poll mid-session keeps the person: it is
            // remembered, shown at the print (number on screen) and after the session.
            (_, Device::Printer) => {}
            _ => self.end(fx),
        }
    }

    fn tick(&mut self, fx: &mut Vec<Effect>) {
        if let State::Uploading {
            doc,
            region,
            since,
            claim: Some(code),
        } = &self.state
        {
            if self.now >= since + self.rules.decision_deadline_ms {
                let slip = Slip::Claim {
                    code: code.clone(),
                    doc: *doc,
                    region: region.clone(),
                };
                fx.push(Effect::Print(slip.clone()));
                return self.go(State::Printing { slip }, fx);
            }
        }
        if let State::Posing { doc, region, .. } = &self.state {
            if self.now >= self.trouble.posing_since + self.rules.posing_time_limit_ms {
                let (doc, region) = (*doc, region.clone());
                return self.hand_off(doc, region, fx);
            }
        }
        // The last screens clear themselves for the next person: no "still there?".
        if matches!(self.state, State::Declined | State::Done { .. })
            && self.now >= self.last_activity + self.rules.done_clear_ms
        {
            return self.end(fx);
        }
        if !self.state.idles_out() {
            return;
        }
        match self.still_there_until {
            Some(deadline) if self.now >= deadline => self.end(fx),
            Some(_) => {}
            None if self.now >= self.last_activity + self.rules.inactivity_ms => {
                self.still_there_until = Some(self.now + self.rules.still_there_ms);
                fx.push(Effect::StillThere {
                    seconds: (self.rules.still_there_ms / 1000) as u32,
                });
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests;
