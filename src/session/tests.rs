use super::*;
use crate::config::Config;

fn rules() -> Rules {
    Rules::from_config(&Config::builtin())
}

fn gz() -> RegionCode {
    RegionCode::new("440100").unwrap()
}

fn id_number() -> String {
    let body = "44010619900101123";
    format!("{body}{}", details::id_check_char(body).unwrap())
}

fn details() -> Details {
    Details {
        name: Some("张三".into()),
        id_number: Some(id_number()),
        mobile: None,
    }
}

fn jpeg(tag: u8) -> PhotoJpeg {
    PhotoJpeg(vec![0xFF, 0xD8, tag])
}

fn number() -> ReceiptNumber {
    ReceiptNumber::new("440100261126000011").unwrap()
}

fn date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2027, 5, 25).unwrap()
}

struct H {
    s: Session,
    t: Millis,
}

impl H {
    fn new() -> H {
        H {
            s: Session::new(rules()),
            t: 1000,
        }
    }
    fn ev(&mut self, e: Event) -> Vec<Effect> {
        self.t += 100;
        self.s.handle(self.t, e)
    }
    fn at(&mut self, dt: Millis, e: Event) -> Vec<Effect> {
        self.t += dt;
        self.s.handle(self.t, e)
    }
    fn name(&self) -> &'static str {
        self.s.state().name()
    }
    fn reach_posing(&mut self) {
        self.ev(Event::Start);
        self.ev(Event::ChooseDocument(DocumentId::IdCard));
        self.ev(Event::ChooseRegion(gz()));
        self.ev(Event::SubmitDetails(details()));
        assert_eq!(self.name(), "posing");
    }
    fn reach_uploading(&mut self) -> Vec<Effect> {
        self.reach_posing();
        self.ev(Event::PhotoMade {
            capture: jpeg(1),
            photo: jpeg(2),
        });
        self.ev(Event::Accept)
    }
}

#[test]
fn happy_path_through_every_screen() {
    let mut h = H::new();
    assert_eq!(h.name(), "attract");
    assert_eq!(h.ev(Event::Start), vec![Effect::Entered("choose-document")]);
    assert_eq!(
        h.ev(Event::ChooseDocument(DocumentId::IdCard)),
        vec![Effect::Entered("choose-region")]
    );
    assert_eq!(h.ev(Event::ChooseRegion(gz())), vec![Effect::Entered("details")]);
    let fx = h.ev(Event::SubmitDetails(details()));
    assert_eq!(fx, vec![Effect::StartCamera, Effect::Entered("posing")]);
    let fx = h.ev(Event::PhotoMade {
        capture: jpeg(1),
        photo: jpeg(2),
    });
    assert_eq!(fx, vec![Effect::StopCamera, Effect::Entered("review-photo")]);
    assert_eq!(h.s.photo(), Some(&jpeg(2)));
    let fx = h.ev(Event::Accept);
    assert!(
        matches!(&fx[0], Effect::Upload { doc: DocumentId::IdCard, photo, details: d, .. } if *photo == jpeg(2) && *d == details())
    );
    assert_eq!(h.name(), "uploading");
    h.ev(Event::Queued {
        claim: ClaimCode("c".into()),
    });
    let fx = h.ev(Event::Approved {
        number: number(),
        valid_until: date(),
    });
    assert!(matches!(&fx[0], Effect::Print(Slip::Receipt { number: n, .. }) if *n == number()));
    assert_eq!(h.name(), "printing");
    assert_eq!(h.ev(Event::Printed), vec![Effect::Entered("done")]);
    let fx = h.ev(Event::Accept);
    assert!(fx.contains(&Effect::Wiped));
    assert_eq!(h.name(), "attract");
    assert!(h.s.holds_no_personal_data());
}

#[test]
fn unknown_document_or_region_is_ignored() {
    let mut h = H::new();
    h.ev(Event::Start);
    // Driving licence is only offered in Guangdong; Haikou does not offer it.
    h.ev(Event::ChooseDocument(DocumentId::DrivingLicence));
    assert!(h.ev(Event::ChooseRegion(RegionCode::new("460100").unwrap())).is_empty());
    assert_eq!(h.name(), "choose-region");
}

#[test]
fn invalid_details_stay_on_details_with_errors() {
    let mut h = H::new();
    h.ev(Event::Start);
    h.ev(Event::ChooseDocument(DocumentId::IdCard));
    h.ev(Event::ChooseRegion(gz()));
    let mut d = details();
    d.id_number = Some("440106199001011230".into());
    if details::validate_id_number("440106199001011230").is_ok() {
        d.id_number = Some("440106199001011231".into());
    }
    assert!(h.ev(Event::SubmitDetails(d)).is_empty());
    match h.s.state() {
        State::Details { errors, .. } => assert_eq!(errors[0].field, Field::IdNumber),
        s => panic!("{s:?}"),
    }
    assert!(h.s.holds_no_personal_data(), "rejected details are not kept");
}

#[test]
fn documents_without_fields_skip_details() {
    let mut c = Config::builtin();
    c.documents.get_mut(&DocumentId::DrivingLicence).unwrap().fields.clear();
    let mut s = Session::new(Rules::from_config(&c));
    s.handle(1, Event::Start);
    s.handle(2, Event::ChooseDocument(DocumentId::DrivingLicence));
    s.handle(3, Event::ChooseRegion(RegionCode::new("440000").unwrap()));
    assert_eq!(s.state().name(), "posing");
    s.handle(4, Event::Back);
    assert_eq!(s.state().name(), "choose-region");
}

#[test]
fn guidance_updates_hint_and_speaks_once_per_gap() {
    let mut h = H::new();
    h.reach_posing();
    let hint = Prompt::new("face_size", "请靠近一些", "Move a little closer");
    let fx = h.ev(Event::Guidance {
        face_present: true,
        hint: Some(hint.clone()),
    });
    assert_eq!(fx, vec![Effect::Speak("face_size".into())]);
    assert!(h
        .ev(Event::Guidance {
            face_present: true,
            hint: Some(hint.clone())
        })
        .is_empty());
    match h.s.state() {
        State::Posing { hint: Some(p), .. } => assert_eq!(p.id, "face_size"),
        s => panic!("{s:?}"),
    }
    let other = Prompt::new("eyes_visible", "请睁开眼睛", "Open your eyes");
    assert_eq!(
        h.ev(Event::Guidance {
            face_present: true,
            hint: Some(other)
        }),
        vec![Effect::Speak("eyes_visible".into())]
    );
    assert_eq!(
        h.at(
            5000,
            Event::Guidance {
                face_present: true,
                hint: Some(hint)
            }
        ),
        vec![Effect::Speak("face_size".into())]
    );
}

#[test]
fn photo_failed_keeps_posing_with_reasons() {
    let mut h = H::new();
    h.reach_posing();
    let r = Prompt::new("face_position", "请往左移", "Move left");
    assert!(h.ev(Event::PhotoFailed(vec![r.clone()])).is_empty());
    assert!(matches!(h.s.state(), State::Posing { reasons, .. } if reasons == &vec![r]));
}

#[test]
fn retakes_are_limited() {
    let mut h = H::new();
    h.reach_posing();
    for i in 0..3 {
        h.ev(Event::PhotoMade {
            capture: jpeg(1),
            photo: jpeg(2),
        });
        assert!(matches!(h.s.state(), State::ReviewPhoto { retakes_left, .. } if *retakes_left == 3 - i));
        let fx = h.ev(Event::Retake);
        assert_eq!(fx, vec![Effect::StartCamera, Effect::Entered("posing")]);
        assert!(h.s.photo().is_none());
    }
    h.ev(Event::PhotoMade {
        capture: jpeg(1),
        photo: jpeg(2),
    });
    assert!(matches!(h.s.state(), State::ReviewPhoto { retakes_left: 0, .. }));
    assert!(h.ev(Event::Retake).is_empty());
    assert_eq!(h.name(), "review-photo");
}

#[test]
fn rejection_returns_reach_posing_then_to_staff() {
    let mut h = H::new();
    h.reach_uploading();
    let why = vec![Prompt::new("background", "背景不合格", "Background not uniform")];
    let fx = h.ev(Event::Rejected(why.clone()));
    assert!(fx.contains(&Effect::StartCamera));
    assert!(matches!(h.s.state(), State::Posing { reasons, .. } if *reasons == why));
    for _ in 0..2 {
        h.ev(Event::PhotoMade {
            capture: jpeg(1),
            photo: jpeg(2),
        });
        h.ev(Event::Accept);
        h.ev(Event::Rejected(why.clone()));
    }
    assert_eq!(h.name(), "see-staff");
    let fx = h.ev(Event::Accept);
    assert!(fx.contains(&Effect::Wiped));
    assert_eq!(h.name(), "attract");
}

#[test]
fn upload_refused_sends_person_to_staff() {
    let mut h = H::new();
    h.reach_uploading();
    h.ev(Event::UploadRefused(Prompt::new(
        "disk_full",
        "存储已满",
        "Storage full",
    )));
    assert_eq!(h.name(), "see-staff");
}

#[test]
fn late_decision_prints_a_claim_slip() {
    let mut h = H::new();
    h.reach_uploading();
    h.ev(Event::Queued {
        claim: ClaimCode("abc".into()),
    });
    assert!(
        h.at(119_000, Event::Tick).is_empty(),
        "no timeout while uploading before the deadline"
    );
    let fx = h.at(2_000, Event::Tick);
    assert!(matches!(&fx[0], Effect::Print(Slip::Claim { code, .. }) if code.0 == "abc"));
    assert_eq!(h.name(), "printing");
    h.ev(Event::Printed);
    assert!(matches!(
        h.s.state(),
        State::Done {
            slip: Some(Slip::Claim { .. })
        }
    ));
}

#[test]
fn deadline_without_a_queued_submission_waits() {
    let mut h = H::new();
    h.reach_uploading();
    assert!(h.at(500_000, Event::Tick).is_empty());
    assert_eq!(h.name(), "uploading");
}

#[test]
fn printer_fault_shows_number_and_resumes() {
    let mut h = H::new();
    h.reach_uploading();
    h.ev(Event::Approved {
        number: number(),
        valid_until: date(),
    });
    h.ev(Event::PrinterFault("paper_out".into()));
    assert!(
        matches!(h.s.state(), State::WaitingForPrinter { slip: Slip::Receipt { number: n, .. }, .. } if *n == number())
    );
    // No new Print effect: the journal reprints the spoiled slip itself.
    assert_eq!(h.ev(Event::PrinterReady), vec![Effect::Entered("printing")]);
    h.ev(Event::Printed);
    assert_eq!(h.name(), "done");
    // A device-level printer fault while printing also keeps the person.
    let mut h = H::new();
    h.reach_uploading();
    h.ev(Event::Approved {
        number: number(),
        valid_until: date(),
    });
    h.ev(Event::DeviceFault(Device::Printer));
    assert_eq!(h.name(), "waiting-for-printer");
    h.ev(Event::Printed);
    assert_eq!(h.name(), "done");
    h.ev(Event::Accept);
    assert_eq!(h.name(), "out-of-service", "printer still faulty: no new sessions");
    h.ev(Event::DeviceRecovered(Device::Printer));
    assert_eq!(h.name(), "attract");
}

#[test]
fn back_from_every_screen() {
    let mut h = H::new();
    h.ev(Event::Start);
    h.ev(Event::Back);
    assert_eq!(h.name(), "attract");
    h.ev(Event::Start);
    h.ev(Event::ChooseDocument(DocumentId::IdCard));
    h.ev(Event::Back);
    assert_eq!(h.name(), "choose-document");
    h.ev(Event::ChooseDocument(DocumentId::IdCard));
    h.ev(Event::ChooseRegion(gz()));
    h.ev(Event::Back);
    assert_eq!(h.name(), "choose-region");
    h.ev(Event::ChooseRegion(gz()));
    h.ev(Event::SubmitDetails(details()));
    let fx = h.ev(Event::Back);
    assert!(fx.contains(&Effect::StopCamera));
    assert_eq!(h.name(), "details");
    h.ev(Event::SubmitDetails(details()));
    h.ev(Event::PhotoMade {
        capture: jpeg(1),
        photo: jpeg(2),
    });
    h.ev(Event::Back);
    assert_eq!(h.name(), "posing", "back on review = retake");
    h.ev(Event::PhotoMade {
        capture: jpeg(1),
        photo: jpeg(2),
    });
    h.ev(Event::Accept);
    assert!(h.ev(Event::Back).is_empty(), "no back while uploading");
    h.ev(Event::Approved {
        number: number(),
        valid_until: date(),
    });
    h.ev(Event::Back);
    assert_eq!(h.name(), "attract");
    assert!(h.s.holds_no_personal_data());
}

#[test]
fn cancel_from_every_screen_wipes() {
    type Setup = Box<dyn Fn(&mut H)>;
    let setups: Vec<(&str, Setup)> = vec![
        (
            "choose-document",
            Box::new(|h: &mut H| {
                h.ev(Event::Start);
            }),
        ),
        (
            "choose-region",
            Box::new(|h: &mut H| {
                h.ev(Event::Start);
                h.ev(Event::ChooseDocument(DocumentId::IdCard));
            }),
        ),
        ("posing", Box::new(|h: &mut H| h.reach_posing())),
        (
            "review-photo",
            Box::new(|h: &mut H| {
                h.reach_posing();
                h.ev(Event::PhotoMade {
                    capture: jpeg(1),
                    photo: jpeg(2),
                });
            }),
        ),
        (
            "uploading",
            Box::new(|h: &mut H| {
                h.reach_uploading();
            }),
        ),
        (
            "printing",
            Box::new(|h: &mut H| {
                h.reach_uploading();
                h.ev(Event::Approved {
                    number: number(),
                    valid_until: date(),
                });
            }),
        ),
        (
            "done",
            Box::new(|h: &mut H| {
                h.reach_uploading();
                h.ev(Event::Approved {
                    number: number(),
                    valid_until: date(),
                });
                h.ev(Event::Printed);
            }),
        ),
    ];
    for (name, setup) in setups {
        let mut h = H::new();
        setup(&mut h);
        assert_eq!(h.name(), name);
        let fx = h.ev(Event::Cancel);
        assert!(fx.contains(&Effect::Wiped), "{name}: {fx:?}");
        if name == "uploading" {
            assert!(fx.contains(&Effect::AbandonUpload));
        }
        assert_eq!(h.name(), "attract", "{name}");
        assert!(h.s.holds_no_personal_data(), "{name}");
    }
}

#[test]
fn inactivity_countdown_then_wipe() {
    let mut h = H::new();
    h.reach_posing();
    h.ev(Event::PhotoMade {
        capture: jpeg(1),
        photo: jpeg(2),
    });
    assert!(h.at(59_000, Event::Tick).is_empty());
    assert_eq!(h.at(1_000, Event::Tick), vec![Effect::StillThere { seconds: 10 }]);
    assert!(h.at(9_000, Event::Tick).is_empty());
    let fx = h.at(1_000, Event::Tick);
    assert!(
        fx.contains(&Effect::Wiped) && fx.contains(&Effect::Entered("attract")),
        "{fx:?}"
    );
    assert!(h.s.holds_no_personal_data());
}

#[test]
fn still_here_cancels_the_countdown() {
    let mut h = H::new();
    h.ev(Event::Start);
    h.at(60_000, Event::Tick);
    assert!(h.s.still_there_deadline().is_some());
    assert_eq!(h.at(3_000, Event::StillHere), vec![Effect::HideStillThere]);
    assert!(h.at(9_000, Event::Tick).is_empty());
    assert_eq!(h.name(), "choose-document");
    // A fresh full timeout is needed again.
    assert!(h.at(50_000, Event::Tick).is_empty());
    assert_eq!(h.at(2_000, Event::Tick), vec![Effect::StillThere { seconds: 10 }]);
}

#[test]
fn a_face_in_front_of_the_camera_counts_as_activity() {
    let mut h = H::new();
    h.reach_posing();
    for _ in 0..10 {
        h.at(
            10_000,
            Event::Guidance {
                face_present: true,
                hint: None,
            },
        );
        h.at(0, Event::Tick);
    }
    assert_eq!(h.name(), "posing");
    h.at(
        30_000,
        Event::Guidance {
            face_present: false,
            hint: None,
        },
    );
    let fx = h.at(31_000, Event::Tick);
    assert_eq!(fx, vec![Effect::StillThere { seconds: 10 }]);
}

#[test]
fn no_timeout_on_attract_printing_or_out_of_service() {
    let mut h = H::new();
    assert!(h.at(1_000_000, Event::Tick).is_empty());
    h.reach_uploading();
    h.ev(Event::Approved {
        number: number(),
        valid_until: date(),
    });
    assert!(h.at(1_000_000, Event::Tick).is_empty());
    assert_eq!(h.name(), "printing");
}

#[test]
fn done_times_out_to_attract() {
    let mut h = H::new();
    h.reach_uploading();
    h.ev(Event::Approved {
        number: number(),
        valid_until: date(),
    });
    h.ev(Event::Printed);
    h.at(60_000, Event::Tick);
    h.at(10_000, Event::Tick);
    assert_eq!(h.name(), "attract");
    assert!(h.s.holds_no_personal_data());
}

#[test]
fn camera_loss_mid_session_ends_it_and_blocks_new_ones() {
    let mut h = H::new();
    h.reach_posing();
    let fx = h.ev(Event::DeviceFault(Device::Camera));
    assert!(fx.contains(&Effect::Wiped) && fx.contains(&Effect::StopCamera));
    assert_eq!(h.name(), "out-of-service");
    assert!(h.ev(Event::Start).is_empty(), "no session while out of service");
    h.ev(Event::DeviceFault(Device::Printer));
    h.ev(Event::DeviceRecovered(Device::Camera));
    assert!(matches!(h.s.state(), State::OutOfService { faults } if faults.len() == 1));
    h.ev(Event::DeviceRecovered(Device::Printer));
    assert_eq!(h.name(), "attract");
}

#[test]
fn faults_while_idle_enter_out_of_service() {
    for d in [Device::Camera, Device::Printer, Device::ReviewService, Device::Storage] {
        let mut h = H::new();
        h.ev(Event::DeviceFault(d));
        assert_eq!(h.name(), "out-of-service", "{d:?}");
        h.ev(Event::DeviceRecovered(d));
        assert_eq!(h.name(), "attract");
    }
}

#[test]
fn a_printer_fault_mid_session_keeps_the_person_and_blocks_the_next_session() {
    let mut h = H::new();
    h.reach_posing();
    let fx = h.ev(Event::DeviceFault(Device::Printer));
    assert!(!fx.contains(&Effect::Wiped), "the session was ended");
    assert_eq!(h.name(), "posing");
    h.ev(Event::Cancel);
    assert_eq!(h.name(), "out-of-service", "printer still faulty: no new sessions");
    h.ev(Event::DeviceRecovered(Device::Printer));
    assert_eq!(h.name(), "attract");
}

#[test]
fn review_outage_does_not_drop_an_upload_in_flight() {
    let mut h = H::new();
    h.reach_uploading();
    h.ev(Event::DeviceFault(Device::ReviewService));
    assert_eq!(h.name(), "uploading");
    h.ev(Event::Approved {
        number: number(),
        valid_until: date(),
    });
    h.ev(Event::Printed);
    h.ev(Event::Accept);
    assert_eq!(h.name(), "out-of-service");
}

#[test]
fn another_document_remakes_the_kept_capture() {
    let mut h = H::new();
    h.reach_uploading();
    h.ev(Event::Approved {
        number: number(),
        valid_until: date(),
    });
    h.ev(Event::Printed);
    assert_eq!(h.ev(Event::AnotherDocument), vec![Effect::Entered("choose-document")]);
    h.ev(Event::ChooseDocument(DocumentId::SocialSecurity));
    h.ev(Event::ChooseRegion(RegionCode::new("440000").unwrap()));
    let fx = h.ev(Event::SubmitDetails(details()));
    assert!(
        matches!(&fx[0], Effect::RemakePhoto { doc: DocumentId::SocialSecurity, capture, .. } if *capture == jpeg(1)),
        "{fx:?}"
    );
    h.ev(Event::PhotoMade {
        capture: jpeg(1),
        photo: jpeg(3),
    });
    assert_eq!(h.name(), "review-photo");
    let fx = h.ev(Event::Accept);
    assert!(matches!(&fx[0], Effect::Upload { doc: DocumentId::SocialSecurity, photo, .. } if *photo == jpeg(3)));
}

#[test]
fn call_staff_works_everywhere_without_changing_state() {
    let mut h = H::new();
    assert_eq!(h.ev(Event::CallStaff), vec![Effect::CallStaff]);
    h.reach_posing();
    assert_eq!(h.ev(Event::CallStaff), vec![Effect::CallStaff]);
    assert_eq!(h.name(), "posing");
}

#[test]
fn stray_events_change_nothing() {
    let mut h = H::new();
    for e in [
        Event::Accept,
        Event::Retake,
        Event::Printed,
        Event::PrinterReady,
        Event::Approved {
            number: number(),
            valid_until: date(),
        },
    ] {
        assert!(h.ev(e).is_empty());
        assert_eq!(h.name(), "attract");
    }
}
