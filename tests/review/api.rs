//! The review service and client over real HTTP on 127.0.0.1: happy path, security, bad
//! input, idempotency, operator decisions, retention purge, receipts by key and by token,
//! the claim page, rate limits. Every test that drives the service's store runs on SQLite
//! and on a real PostgreSQL server (`*_on_postgres`: a fresh database on the test binary's
//! shared server); the outbox test (no centre) and the embedded centre (SQLite by design)
//! run once. The store's own contract runs on both in `backends.rs`.

use base64::Engine as _;
use kiosk::config::{DocumentId, RegionCode};
use kiosk::domain::ClaimCode;
use kiosk::ports::{Decision, Uploader};
use kiosk::review::api::*;
use kiosk::review::number;
use kiosk::review::server::ServerOptions;
use kiosk::review::ReviewClient;
use kiosk::testkit::review::*;
use std::time::Duration;

const KEY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const KEY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn auto(secs: u64) -> ServerOptions {
    ServerOptions {
        auto_approve_after: Some(Duration::from_secs(secs)),
        tick: Duration::from_millis(50),
        ..ServerOptions::default()
    }
}

fn gz() -> RegionCode {
    RegionCode::new("440100").unwrap()
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(ureq::Agent::config_builder().http_status_as_error(false).build())
}

/// Sends a raw POST /v1/submissions; returns (status, body).
fn post(url: &str, key: Option<&str>, idem: Option<&str>, body: &[u8]) -> (u16, Vec<u8>) {
    let mut rb = agent()
        .post(format!("{url}/v1/submissions"))
        .content_type("application/json");
    if let Some(k) = key {
        rb = rb.header("authorization", format!("Bearer {k}"));
    }
    if let Some(i) = idem {
        rb = rb.header("idempotency-key", i);
    }
    let mut r = rb.send(body).expect("request");
    let st = r.status().as_u16();
    (st, r.body_mut().with_config().limit(10 << 20).read_to_vec().unwrap())
}

fn get(url: &str, key: Option<&str>) -> (u16, Vec<u8>) {
    let mut rb = agent().get(url);
    if let Some(k) = key {
        rb = rb.header("authorization", format!("Bearer {k}"));
    }
    let mut r = rb.call().expect("request");
    let st = r.status().as_u16();
    (st, r.body_mut().read_to_vec().unwrap())
}

fn body_json(kiosk: &str, doc: &str, region: &str, photo: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "kiosk_id": kiosk,
        "doc": doc,
        "region": region,
        "details": {"name": "张三", "id_number": TEST_ID_NUMBER},
        "claim_code": ClaimCode::random().0,
        "photo_jpeg_b64": base64::engine::general_purpose::STANDARD.encode(photo),
    }))
    .unwrap()
}

fn error_code(body: &[u8]) -> String {
    let e: ApiError =
        serde_json::from_slice(body).unwrap_or_else(|_| panic!("not an ApiError: {}", String::from_utf8_lossy(body)));
    assert!(!e.message_zh.is_empty() && !e.message_en.is_empty());
    e.error
}

#[test]
fn happy_path_submit_approve_fetch_verify_claim() {
    happy_path_submit_approve_fetch_verify_claim_on(Backend::Sqlite);
}

#[test]
fn happy_path_on_postgres() {
    happy_path_submit_approve_fetch_verify_claim_on(Backend::Postgres);
}

fn happy_path_submit_approve_fetch_verify_claim_on(backend: Backend) {
    let svc = start_service_on(backend, auto(0), &[("KIOSK-A", KEY_A)]);
    let data = tempfile::tempdir().unwrap();
    let mut client = ReviewClient::start(fast_options(&svc.url(), "KIOSK-A", KEY_A, data.path())).unwrap();
    let sub = sample_submission(&svc.cfg, DocumentId::IdCard, &gz());
    let claim = client.submit(sub).expect("queued");
    let d = wait_decision(&mut client, Duration::from_secs(20)).expect("a decision");
    let Decision::Approved {
        number,
        valid_until,
        token: decided_token,
    } = d
    else {
        panic!("not approved: {d:?}")
    };
    assert!(number::is_well_formed(number.as_str()), "{number}");
    assert!(number.as_str().starts_with("440100"));
    let today = chrono::Utc::now()
        .with_timezone(&kiosk::domain::china_time())
        .date_naive();
    // Guangzhou ID card: 180 days (receipt.md §3).
    assert_eq!(valid_until, today + chrono::Days::new(180));
    // The approved entry stays until its slip is printed, then it is gone.
    assert_eq!(client.outbox_entries().unwrap().len(), 1);
    client.settle(&number);
    assert!(client.outbox_entries().unwrap().is_empty());

    // The kiosk fetches the receipt again with its key (reprint).
    let r = client.fetch_receipt(&number).expect("receipt");
    assert_eq!(r.receipt_number, number);
    assert_eq!(r.status, Validity::Valid);
    assert_eq!(r.title, "广州市居民身份证数字相片采集回执");
    assert!(r.photo_jpeg_b64.is_some());
    assert_eq!(
        r.token.as_ref(),
        Some(&decided_token),
        "the issuing kiosk gets the token back (reprint QR)"
    );

    // Public routes: verify, claim (by code), receipt only with the token.
    let (st, b) = get(&format!("{}/v1/receipts/{number}/verify", svc.url()), None);
    assert_eq!(st, 200);
    assert_eq!(
        serde_json::from_slice::<VerifyView>(&b).unwrap().status,
        Validity::Valid
    );
    let (st, b) = get(&format!("{}/v1/claims/{}", svc.url(), claim.0), None);
    assert_eq!(st, 200);
    let v: SubmissionView = serde_json::from_slice(&b).unwrap();
    let Status::Approved {
        receipt_number, token, ..
    } = v.status
    else {
        panic!("claim not approved")
    };
    assert_eq!(receipt_number, number);
    assert_eq!(token, decided_token, "the kiosk's decision carries the service's token");
    let token = token.expose().to_string();
    assert_eq!(token.len(), 32, "128-bit token");
    assert_eq!(
        v.receipt_pdf.as_deref(),
        Some(format!("/v1/receipts/{number}.pdf?token={token}").as_str()),
        "the claim answer links the electronic receipt"
    );
    let (st, _) = get(&format!("{}/v1/receipts/{number}", svc.url()), None);
    assert_eq!(st, 404, "no token, no receipt");
    let (st, _) = get(
        &format!("{}/v1/receipts/{number}?token={}", svc.url(), "0".repeat(32)),
        None,
    );
    assert_eq!(st, 404, "wrong token");
    let (st, b) = get(&format!("{}/v1/receipts/{number}?token={token}", svc.url()), None);
    assert_eq!(st, 200);
    let public = serde_json::from_slice::<ReceiptView>(&b).unwrap();
    assert_eq!(public.receipt_number, number);
    assert!(public.token.is_none(), "the token is not echoed to a token holder");
    let (st, b) = get(&format!("{}/v1/receipts/{number}.pdf?token={token}", svc.url()), None);
    assert_eq!(st, 200, "the electronic receipt as PDF");
    assert!(b.starts_with(b"%PDF"));
    let pdf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pdf.path(), &b).unwrap();
    let text = std::process::Command::new("pdftotext")
        .arg(pdf.path())
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text: String = String::from_utf8_lossy(&text.stdout).split_whitespace().collect();
    assert!(
        text.contains(number.as_str()) && text.contains("广州市居民身份证数字相片采集回执"),
        "{text}"
    );
    let (st, _) = get(&format!("{}/v1/receipts/{number}.pdf", svc.url()), None);
    assert_eq!(st, 404, "no token, no PDF");
    let (st, b) = get(&format!("{}/v1/receipts/44010026112600000010/verify", svc.url()), None);
    assert_eq!(st, 200);
    assert_eq!(
        serde_json::from_slice::<VerifyView>(&b).unwrap().status,
        Validity::Unknown
    );
    let (st, b) = get(&format!("{}/healthz", svc.url()), None);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&b));
    assert_eq!(svc.count("state='approved'"), 1);
}

#[test]
fn keys_are_required_and_kiosks_are_separated() {
    keys_are_required_and_kiosks_are_separated_on(Backend::Sqlite);
}

#[test]
fn keys_are_required_and_kiosks_are_separated_on_postgres() {
    keys_are_required_and_kiosks_are_separated_on(Backend::Postgres);
}

fn keys_are_required_and_kiosks_are_separated_on(backend: Backend) {
    let svc = start_service_on(backend, auto(3600), &[("KIOSK-A", KEY_A), ("KIOSK-B", KEY_B)]);
    let photo = sample_photo(&svc.cfg, DocumentId::IdCard, &gz(), None);
    let body = body_json("KIOSK-A", "id-card", "440100", &photo.0);
    let (st, b) = post(&svc.url(), None, Some("k1"), &body);
    assert_eq!((st, error_code(&b).as_str()), (401, "unauthorized"));
    let (st, _) = post(
        &svc.url(),
        Some("not-a-known-key-xxxxxxxxxxxxxxxxxxxxxx"),
        Some("k1"),
        &body,
    );
    assert_eq!(st, 401);
    // B cannot submit in A's name.
    let (st, b) = post(&svc.url(), Some(KEY_B), Some("k1"), &body);
    assert_eq!((st, error_code(&b).as_str()), (403, "kiosk_mismatch"));
    assert_eq!(svc.count("TRUE"), 0, "nothing stored by refused requests");
    let (st, b) = post(&svc.url(), Some(KEY_A), Some("k1"), &body);
    assert_eq!(st, 202, "{}", String::from_utf8_lossy(&b));
    let acc: SubmitAccepted = serde_json::from_slice(&b).unwrap();
    let url = format!("{}/v1/submissions/{}", svc.url(), acc.id);
    assert_eq!(get(&url, Some(KEY_A)).0, 200);
    assert_eq!(get(&url, Some(KEY_B)).0, 404, "another kiosk's submission is invisible");
    assert_eq!(get(&url, None).0, 401);
}

#[test]
fn bad_input_gets_a_json_4xx_and_changes_nothing() {
    bad_input_gets_a_json_4xx_and_changes_nothing_on(Backend::Sqlite);
}

#[test]
fn bad_input_and_idempotency_on_postgres() {
    bad_input_gets_a_json_4xx_and_changes_nothing_on(Backend::Postgres);
}

fn bad_input_gets_a_json_4xx_and_changes_nothing_on(backend: Backend) {
    let opts = ServerOptions {
        body_limit: 64 * 1024,
        ..auto(3600)
    };
    let svc = start_service_on(backend, opts, &[("KIOSK-A", KEY_A)]);
    let photo = sample_photo(&svc.cfg, DocumentId::IdCard, &gz(), None);
    let u = svc.url();
    let k = Some(KEY_A);
    // (what, idempotency key, body, expected status, expected error code)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "malformed json",
            Some("b1"),
            b"{\"kiosk_id\": ".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "missing key header",
            None,
            body_json("KIOSK-A", "id-card", "440100", &photo.0),
            400,
            "idempotency_key",
        ),
        (
            "unknown document",
            Some("b2"),
            body_json("KIOSK-A", "passport", "440100", &photo.0),
            422,
            "unknown_document",
        ),
        (
            "unknown region",
            Some("b3"),
            body_json("KIOSK-A", "id-card", "990000", &photo.0),
            422,
            "unknown_region",
        ),
        (
            "malformed region",
            Some("b4"),
            body_json("KIOSK-A", "id-card", "44x", &photo.0),
            422,
            "unknown_region",
        ),
        (
            "not offered",
            Some("b5"),
            body_json("KIOSK-A", "driving-licence", "460000", &photo.0),
            422,
            "document_not_offered",
        ),
        (
            "not a jpeg",
            Some("b6"),
            body_json("KIOSK-A", "id-card", "440100", b"GIF89a not a jpeg at all"),
            415,
            "not_jpeg",
        ),
        (
            "truncated jpeg",
            Some("b7"),
            body_json("KIOSK-A", "id-card", "440100", &photo.0[..200]),
            415,
            "not_jpeg",
        ),
    ];
    // Oversized: the service answers 413 once the limit is crossed and closes. Sent over raw
    // TCP with the body written from another thread, so the answer is read even when the
    // close reaches the writer as a broken pipe (which a plain client reports instead).
    {
        use std::io::{Read, Write};
        let addr = u.trim_start_matches("http://").to_string();
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "POST /v1/submissions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nIdempotency-Key: b8\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            KEY_A,
            200 * 1024
        )
        .unwrap();
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(&vec![b' '; 200 * 1024]);
        });
        let mut resp = vec![];
        let _ = s.read_to_end(&mut resp);
        let _ = writer.join();
        let resp = String::from_utf8_lossy(&resp);
        assert!(resp.starts_with("HTTP/1.1 413"), "oversized: {resp}");
        let body = resp.split("\r\n\r\n").nth(1).unwrap_or_default();
        assert_eq!(error_code(body.as_bytes()), "body_too_large", "oversized");
    }
    for (what, idem, body, want_status, want_code) in cases {
        let (st, b) = post(&u, k, idem, &body);
        assert_eq!(st, want_status, "{what}: {}", String::from_utf8_lossy(&b));
        assert_eq!(error_code(&b), want_code, "{what}");
    }
    // Bad details: the ID number check digit is wrong.
    let mut v: serde_json::Value =
        serde_json::from_slice(&body_json("KIOSK-A", "id-card", "440100", &photo.0)).unwrap();
    v["details"]["id_number"] = "110105194912310021".into();
    let (st, b) = post(&u, k, Some("b9"), &serde_json::to_vec(&v).unwrap());
    assert_eq!((st, error_code(&b).as_str()), (422, "invalid_details"));
    assert!(
        !String::from_utf8_lossy(&b).contains("110105194912310021"),
        "the error does not echo the ID number"
    );
    assert_eq!(svc.count("TRUE"), 0, "nothing stored");

    // Idempotency: same key + same bytes → same submission; different bytes → 409.
    let body = body_json("KIOSK-A", "id-card", "440100", &photo.0);
    let (st1, b1) = post(&u, k, Some("same"), &body);
    let (st2, b2) = post(&u, k, Some("same"), &body);
    assert_eq!((st1, st2), (202, 200));
    let (a1, a2): (SubmitAccepted, SubmitAccepted) = (
        serde_json::from_slice(&b1).unwrap(),
        serde_json::from_slice(&b2).unwrap(),
    );
    assert_eq!(a1.id, a2.id);
    let other = body_json("KIOSK-A", "id-card", "440100", &photo.0);
    let (st, b) = post(&u, k, Some("same"), &other);
    assert_eq!((st, error_code(&b).as_str()), (409, "idempotency_conflict"));
    assert_eq!(svc.count("TRUE"), 1, "exactly the one submission");
}

#[test]
fn wrong_pixel_size_is_refused_at_upload_with_reasons() {
    wrong_pixel_size_is_refused_at_upload_with_reasons_on(Backend::Sqlite);
}

#[test]
fn wrong_pixel_size_is_refused_on_postgres() {
    wrong_pixel_size_is_refused_at_upload_with_reasons_on(Backend::Postgres);
}

fn wrong_pixel_size_is_refused_at_upload_with_reasons_on(backend: Backend) {
    let svc = start_service_on(backend, auto(0), &[("KIOSK-A", KEY_A)]);
    let data = tempfile::tempdir().unwrap();
    let mut client = ReviewClient::start(fast_options(&svc.url(), "KIOSK-A", KEY_A, data.path())).unwrap();
    let mut sub = sample_submission(&svc.cfg, DocumentId::IdCard, &gz());
    // A valid JPEG of the wrong size: refused from its header (415), never decoded.
    let img = image::RgbImage::from_pixel(300, 300, image::Rgb([200, 200, 200]));
    let mut buf = vec![];
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90)
        .encode_image(&img)
        .unwrap();
    sub.photo = kiosk::domain::PhotoJpeg(buf.clone());
    client.submit(sub).unwrap();
    let d = wait_decision(&mut client, Duration::from_secs(20)).expect("decision");
    let Decision::Refused(reason) = d else {
        panic!("not refused at upload: {d:?}")
    };
    assert_eq!(reason.id, "wrong_pixel_size");
    assert!(
        reason.zh.contains("358×441") && reason.en.contains("300×300"),
        "{reason:?}"
    );
    assert_eq!(svc.count("TRUE"), 0, "nothing stored");
    let (st, b) = post(
        &svc.url(),
        Some(KEY_A),
        Some("px1"),
        &body_json("KIOSK-A", "id-card", "440100", &buf),
    );
    assert_eq!((st, error_code(&b).as_str()), (415, "wrong_pixel_size"));
}

#[test]
fn only_json_is_accepted_on_the_submit_route() {
    only_json_is_accepted_on_the_submit_route_on(Backend::Sqlite);
}

#[test]
fn only_json_is_accepted_on_postgres() {
    only_json_is_accepted_on_the_submit_route_on(Backend::Postgres);
}

fn only_json_is_accepted_on_the_submit_route_on(backend: Backend) {
    let svc = start_service_on(backend, auto(3600), &[("KIOSK-A", KEY_A)]);
    let photo = sample_photo(&svc.cfg, DocumentId::IdCard, &gz(), None);
    let body = body_json("KIOSK-A", "id-card", "440100", &photo.0);
    let send = |ct: Option<&str>, idem: &str| {
        let mut rb = agent()
            .post(format!("{}/v1/submissions", svc.url()))
            .header("authorization", format!("Bearer {KEY_A}"))
            .header("idempotency-key", idem);
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        let mut r = rb.send(&body[..]).expect("request");
        (r.status().as_u16(), r.body_mut().read_to_vec().unwrap())
    };
    for (ct, idem) in [
        (Some("text/plain"), "ct1"),
        (Some("application/x-www-form-urlencoded"), "ct2"),
        (Some("application/jsonp"), "ct3"),
        (None, "ct4"),
    ] {
        let (st, b) = send(ct, idem);
        assert_eq!((st, error_code(&b).as_str()), (415, "unsupported_media_type"), "{ct:?}");
    }
    assert_eq!(svc.count("TRUE"), 0, "nothing stored");
    let (st, b) = send(Some("Application/JSON; charset=utf-8"), "ct5");
    assert_eq!(st, 202, "{}", String::from_utf8_lossy(&b));
}

#[test]
fn operator_decides_when_auto_approve_is_off() {
    operator_decides_when_auto_approve_is_off_on(Backend::Sqlite);
}

#[test]
fn operator_decides_on_postgres() {
    operator_decides_when_auto_approve_is_off_on(Backend::Postgres);
}

fn operator_decides_when_auto_approve_is_off_on(backend: Backend) {
    let opts = ServerOptions {
        tick: Duration::from_millis(50),
        ..ServerOptions::default()
    };
    let svc = start_service_on(backend, opts, &[("KIOSK-A", KEY_A)]);
    let data = tempfile::tempdir().unwrap();
    let mut client = ReviewClient::start(fast_options(&svc.url(), "KIOSK-A", KEY_A, data.path())).unwrap();
    client
        .submit(sample_submission(&svc.cfg, DocumentId::IdCard, &gz()))
        .unwrap();
    client
        .submit(sample_submission(&svc.cfg, DocumentId::IdCard, &gz()))
        .unwrap();
    // Wait until both are machine-checked and listed on the operator page.
    let t0 = std::time::Instant::now();
    while svc.count("state='pending'") < 2 {
        assert!(t0.elapsed() < Duration::from_secs(20), "never listed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let op = svc.operator();
    let (st, _, page) = op.get("/review");
    assert_eq!(st, 200);
    assert!(!page.contains(TEST_ID_NUMBER), "the page shows no ID number");
    assert!(page.contains("张*"), "masked name");
    let ids = svc.submission_ids();
    // Reject the first (the client had moved on to the second as its current one).
    let r = op.post(&format!("/review/{}/reject", ids[0]), &[("reason", "glare")]);
    assert_eq!(r.0, 303, "{r:?}");
    let r = op.post(&format!("/review/{}/approve", ids[1]), &[]);
    assert_eq!(r.0, 303, "{r:?}");
    let d = wait_decision(&mut client, Duration::from_secs(20)).expect("decision");
    assert!(matches!(d, Decision::Approved { .. }), "{d:?}");
    assert_eq!(svc.count("state='rejected' AND reasons LIKE '%glare%'"), 1);
    // Deciding twice is refused.
    let r = op.post(&format!("/review/{}/approve", ids[0]), &[]);
    assert_eq!(r.0, 409, "{r:?}");
}

#[test]
fn retention_purges_photo_and_details_after_expiry_plus_grace() {
    retention_purges_photo_and_details_after_expiry_plus_grace_on(Backend::Sqlite);
}

#[test]
fn retention_purge_on_postgres() {
    retention_purges_photo_and_details_after_expiry_plus_grace_on(Backend::Postgres);
}

fn retention_purges_photo_and_details_after_expiry_plus_grace_on(backend: Backend) {
    let opts = ServerOptions {
        grace_days: 7,
        ..auto(0)
    };
    let svc = start_service_on(backend, opts, &[("KIOSK-A", KEY_A)]);
    let data = tempfile::tempdir().unwrap();
    let mut client = ReviewClient::start(fast_options(&svc.url(), "KIOSK-A", KEY_A, data.path())).unwrap();
    client
        .submit(sample_submission(&svc.cfg, DocumentId::IdCard, &gz()))
        .unwrap();
    let Some(Decision::Approved { number, .. }) = wait_decision(&mut client, Duration::from_secs(20)) else {
        panic!("not approved")
    };
    assert_eq!(svc.count("photo IS NOT NULL AND details IS NOT NULL"), 1);
    // Expired but inside the grace period: still kept, /verify says expired.
    svc.clock.advance(chrono::Duration::days(182));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(svc.count("photo IS NOT NULL"), 1, "kept during the grace days");
    let (_, b) = get(&format!("{}/v1/receipts/{number}/verify", svc.url()), None);
    assert_eq!(
        serde_json::from_slice::<VerifyView>(&b).unwrap().status,
        Validity::Expired
    );
    // Past expiry + grace: purged by the review loop.
    svc.clock.advance(chrono::Duration::days(7));
    let t0 = std::time::Instant::now();
    while svc.count("purged=1") == 0 {
        assert!(t0.elapsed() < Duration::from_secs(10), "not purged");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        svc.count("photo IS NULL AND details IS NULL AND receipt_number IS NOT NULL"),
        1
    );
    let r = client.fetch_receipt(&number).expect("receipt still known");
    assert!(r.photo_jpeg_b64.is_none());
    assert_eq!(r.status, Validity::Expired);
}

#[test]
fn public_routes_are_rate_limited_per_address() {
    public_routes_are_rate_limited_per_address_on(Backend::Sqlite);
}

#[test]
fn public_routes_are_rate_limited_on_postgres() {
    public_routes_are_rate_limited_per_address_on(Backend::Postgres);
}

fn public_routes_are_rate_limited_per_address_on(backend: Backend) {
    let opts = ServerOptions {
        public_per_min: 3,
        ..auto(0)
    };
    let svc = start_service_on(backend, opts, &[]);
    let url = format!("{}/v1/receipts/44010026112600000010/verify", svc.url());
    let statuses: Vec<u16> = (0..5).map(|_| get(&url, None).0).collect();
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert_eq!(statuses[4], 429);
}

/// GET with extra headers; returns (status, content type, body).
fn get_with(url: &str, key: Option<&str>, accept: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut rb = agent().get(url);
    if let Some(k) = key {
        rb = rb.header("authorization", format!("Bearer {k}"));
    }
    if let Some(a) = accept {
        rb = rb.header("accept", a);
    }
    let mut r = rb.call().expect("request");
    let st = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        st,
        ct,
        r.body_mut().with_config().limit(10 << 20).read_to_vec().unwrap(),
    )
}

/// Submits for `kiosk` with raw HTTP and waits (on the public claim route, so the
/// kiosk's own rate bucket is untouched) for the approval; returns (number, token, claim).
fn approved_raw(svc: &TestService, kiosk: &str, key: &str, idem: &str) -> (String, String, String) {
    let photo = sample_photo(&svc.cfg, DocumentId::IdCard, &gz(), None);
    let body = body_json(kiosk, "id-card", "440100", &photo.0);
    let claim = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["claim_code"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, b) = post(&svc.url(), Some(key), Some(idem), &body);
    assert_eq!(st, 202, "{}", String::from_utf8_lossy(&b));
    let t0 = std::time::Instant::now();
    loop {
        let (st, b) = get(&format!("{}/v1/claims/{claim}", svc.url()), None);
        assert_eq!(st, 200);
        if let Status::Approved {
            receipt_number, token, ..
        } = serde_json::from_slice::<SubmissionView>(&b).unwrap().status
        {
            return (receipt_number.to_string(), token.expose().to_string(), claim);
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "never approved");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_kiosk_key_reads_only_that_kiosks_receipts_and_a_token_reads_one() {
    a_kiosk_key_reads_only_that_kiosks_receipts_and_a_token_reads_one_on(Backend::Sqlite);
}

#[test]
fn kiosk_key_and_token_receipt_reads_on_postgres() {
    a_kiosk_key_reads_only_that_kiosks_receipts_and_a_token_reads_one_on(Backend::Postgres);
}

fn a_kiosk_key_reads_only_that_kiosks_receipts_and_a_token_reads_one_on(backend: Backend) {
    let svc = start_service_on(backend, auto(0), &[("KIOSK-A", KEY_A), ("KIOSK-B", KEY_B)]);
    let (number, token, _) = approved_raw(&svc, "KIOSK-A", KEY_A, "a1");
    let url = format!("{}/v1/receipts/{number}", svc.url());
    // The kiosk that submitted it reads it, photo and token included (operator reprint).
    let (st, b) = get(&url, Some(KEY_A));
    assert_eq!(st, 200);
    let own: ReceiptView = serde_json::from_slice(&b).unwrap();
    assert_eq!(own.receipt_number.as_str(), number);
    assert!(own.photo_jpeg_b64.is_some());
    assert_eq!(own.token.as_ref().map(|t| t.expose()), Some(token.as_str()));
    // Another kiosk's key: the same 404 as an unknown number (numbers are sequential;
    // one leaked key must not enumerate every photo), JSON and PDF alike.
    let (st, b) = get(&url, Some(KEY_B));
    assert_eq!((st, error_code(&b).as_str()), (404, "not_found"));
    assert_eq!(get(&format!("{url}.pdf"), Some(KEY_B)).0, 404);
    let unknown = format!("{}/v1/receipts/44010026112600000010", svc.url());
    assert_eq!(get(&unknown, Some(KEY_B)).0, 404);
    // An unknown key is still 401, not a quiet fallback to the public route.
    assert_eq!(get(&url, Some("not-a-known-key-xxxxxxxxxxxxxxxxxxxxxx")).0, 401);
    // The token opens it for anyone (B's key with A's token too); a guessed one does not.
    assert_eq!(get(&format!("{url}?token={token}"), Some(KEY_B)).0, 200);
    assert_eq!(get(&format!("{url}?token={token}"), None).0, 200);
    let mut guessed = token.clone().into_bytes();
    guessed[0] = if guessed[0] == b'0' { b'1' } else { b'0' };
    let guessed = String::from_utf8(guessed).unwrap();
    assert_eq!(get(&format!("{url}?token={guessed}"), None).0, 404);
    assert_eq!(get(&format!("{url}.pdf?token={guessed}"), None).0, 404);
    assert_eq!(get(&format!("{url}?token={}", &token[..31]), None).0, 404);
    // B's operator reprint of A's receipt is refused with words for the operator.
    let data = tempfile::tempdir().unwrap();
    let client_b = ReviewClient::start(fast_options(&svc.url(), "KIOSK-B", KEY_B, data.path())).unwrap();
    let n = kiosk::domain::ReceiptNumber::new(&number).unwrap();
    let err = client_b.fetch_receipt(&n).unwrap_err();
    let p = kiosk::review::reprint::fetch_error(&n, &err);
    assert_eq!(p.id, "receipt_not_found");
    assert!(
        p.zh.contains("本机签发") && p.en.contains("issued by this kiosk"),
        "{p:?}"
    );
}

#[test]
fn kiosk_key_receipt_reads_count_against_the_kiosks_rate_limit() {
    kiosk_key_receipt_reads_count_against_the_kiosks_rate_limit_on(Backend::Sqlite);
}

#[test]
fn kiosk_key_receipt_reads_rate_limited_on_postgres() {
    kiosk_key_receipt_reads_count_against_the_kiosks_rate_limit_on(Backend::Postgres);
}

fn kiosk_key_receipt_reads_count_against_the_kiosks_rate_limit_on(backend: Backend) {
    let opts = ServerOptions {
        kiosk_per_min: 6,
        ..auto(0)
    };
    let svc = start_service_on(backend, opts, &[("KIOSK-A", KEY_A), ("KIOSK-B", KEY_B)]);
    // One submission takes one of A's six requests.
    let (number, token, _) = approved_raw(&svc, "KIOSK-A", KEY_A, "a1");
    let url = format!("{}/v1/receipts/{number}", svc.url());
    let statuses: Vec<u16> = (0..7).map(|_| get(&url, Some(KEY_A)).0).collect();
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    assert_eq!(&statuses[5..], &[429, 429], "{statuses:?}");
    let (st, b) = get(&url, Some(KEY_A));
    assert_eq!((st, error_code(&b).as_str()), (429, "rate_limited"));
    // PDF reads by key count too; B's bucket and the public (token) route are separate.
    assert_eq!(get(&format!("{url}.pdf"), Some(KEY_A)).0, 429);
    assert_eq!(get(&url, Some(KEY_B)).0, 404, "B is not limited by A's reads");
    assert_eq!(get(&format!("{url}?token={token}"), None).0, 200);
}

#[test]
fn the_claim_url_shows_the_result_and_links_the_receipt_once_approved() {
    the_claim_url_shows_the_result_and_links_the_receipt_once_approved_on(Backend::Sqlite);
}

#[test]
fn the_claim_url_on_postgres() {
    the_claim_url_shows_the_result_and_links_the_receipt_once_approved_on(Backend::Postgres);
}

fn the_claim_url_shows_the_result_and_links_the_receipt_once_approved_on(backend: Backend) {
    let svc = start_service_on(backend, auto(3600), &[("KIOSK-A", KEY_A)]);
    let photo = sample_photo(&svc.cfg, DocumentId::IdCard, &gz(), None);
    let body = body_json("KIOSK-A", "id-card", "440100", &photo.0);
    let claim = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["claim_code"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, b) = post(&svc.url(), Some(KEY_A), Some("c1"), &body);
    assert_eq!(st, 202, "{}", String::from_utf8_lossy(&b));
    let id = serde_json::from_slice::<SubmitAccepted>(&b).unwrap().id;
    let claim_url = format!("{}/v1/claims/{claim}", svc.url());
    // Pending: a phone's browser gets a page saying so, with no receipt link yet.
    wait_until(Duration::from_secs(20), || svc.count("state='pending'") == 1);
    let (st, ct, page) = get_with(&claim_url, None, Some("text/html,application/xhtml+xml,*/*;q=0.8"));
    assert_eq!(st, 200);
    assert!(ct.starts_with("text/html"), "{ct}");
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("审核中") && page.contains("Still under review"), "{page}");
    assert!(!page.contains(".pdf"), "{page}");
    let (_, _, json) = get_with(&claim_url, None, None);
    let v: SubmissionView = serde_json::from_slice(&json).unwrap();
    assert_eq!(v.status, Status::Pending);
    assert!(v.receipt_pdf.is_none());
    // The operator approves (real HTTP, as the page's form does).
    let r = svc.operator().post(&format!("/review/{id}/approve"), &[]);
    assert_eq!(r.0, 303, "{r:?}");
    // Approved: the page names the number and links the PDF; following the link gives
    // the receipt of that number, with no key.
    let (st, _, page) = get_with(&claim_url, None, Some("text/html"));
    assert_eq!(st, 200);
    let page = String::from_utf8(page).unwrap();
    let Status::Approved { receipt_number, .. } =
        serde_json::from_slice::<SubmissionView>(&get_with(&claim_url, None, None).2)
            .unwrap()
            .status
    else {
        panic!("not approved")
    };
    assert!(page.contains(receipt_number.as_str()), "{page}");
    let href = page
        .split("href=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .expect("a link to the PDF")
        .replace("&amp;", "&");
    assert!(
        href.starts_with(&format!("/v1/receipts/{receipt_number}.pdf?token=")),
        "{href}"
    );
    let (st, ct, pdf) = get_with(&format!("{}{href}", svc.url()), None, None);
    assert_eq!((st, ct.as_str()), (200, "application/pdf"));
    assert!(pdf.starts_with(b"%PDF"));
    assert!(pdftext(&pdf).contains(receipt_number.as_str()));
    // An unknown claim code is 404.
    assert_eq!(get(&format!("{}/v1/claims/{}", svc.url(), "0".repeat(32)), None).0, 404);
}

#[test]
fn operator_routes_are_rate_limited_per_address_and_healthz_is_not() {
    operator_routes_are_rate_limited_per_address_and_healthz_is_not_on(Backend::Sqlite);
}

#[test]
fn operator_routes_rate_limited_on_postgres() {
    operator_routes_are_rate_limited_per_address_and_healthz_is_not_on(Backend::Postgres);
}

fn operator_routes_are_rate_limited_per_address_and_healthz_is_not_on(backend: Backend) {
    let opts = ServerOptions {
        operator_per_min: 3,
        public_per_min: 1,
        ..auto(3600)
    };
    let svc = start_service_on(backend, opts, &[]);
    // Counted before the login is looked at: without one, 303 to /login, then 429.
    let page = format!("{}/review", svc.url());
    let statuses: Vec<u16> = (0..4)
        .map(|_| raw_agent().get(&page).call().unwrap().status().as_u16())
        .collect();
    assert_eq!(statuses, vec![303, 303, 303, 429]);
    assert_eq!(get(&format!("{}/review/photo/x", svc.url()), None).0, 429);
    let r = agent()
        .post(format!("{}/review/x/approve", svc.url()))
        .send_empty()
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    for _ in 0..5 {
        assert_eq!(get(&format!("{}/healthz", svc.url()), None).0, 200);
    }
}

fn wait_until(limit: Duration, mut ok: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !ok() {
        assert!(t0.elapsed() < limit, "condition not met within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The text of a PDF (poppler's pdftotext), white space removed.
fn pdftext(pdf: &[u8]) -> String {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(f.path())
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    String::from_utf8_lossy(&out.stdout).split_whitespace().collect()
}

#[test]
fn outbox_key_is_private_and_the_body_encrypted() {
    use std::os::unix::fs::PermissionsExt;
    // No service at all: the entry stays in the outbox, encrypted.
    let data = tempfile::tempdir().unwrap();
    let cfg = test_config(data.path());
    let mut client = ReviewClient::start(fast_options("http://127.0.0.1:9", "KIOSK-A", KEY_A, data.path())).unwrap();
    client
        .submit(sample_submission(&cfg, DocumentId::IdCard, &gz()))
        .unwrap();
    let mode = std::fs::metadata(data.path().join("outbox.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let e = client.outbox_entries().unwrap();
    assert_eq!(e.len(), 1);
    assert!(e[0].has_body && e[0].submission_id.is_none());
    drop(client);
    let mut raw = std::fs::read(data.path().join("outbox.sqlite")).unwrap();
    if let Ok(w) = std::fs::read(data.path().join("outbox.sqlite-wal")) {
        raw.extend(w);
    }
    let hay = String::from_utf8_lossy(&raw);
    assert!(
        !hay.contains(TEST_ID_NUMBER) && !hay.contains("张三"),
        "details in clear on disk"
    );
    assert!(
        !raw.windows(4).any(|w| w == [0xFF, 0xD8, 0xFF, 0xE0]),
        "JPEG in clear on disk"
    );
}

#[test]
fn embedded_service_from_the_config_needs_no_network_setup() {
    let data = tempfile::tempdir().unwrap();
    let cfg = test_config(data.path());
    assert!(matches!(cfg.devices.review.device(), kiosk::config::Device::Embedded));
    let mut client = kiosk::review::client::open_client(&cfg).expect("embedded service");
    let key = data.path().join("review-embedded/kiosk.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    client
        .submit(sample_submission(&cfg, DocumentId::IdCard, &gz()))
        .unwrap();
    let t0 = std::time::Instant::now();
    let d = wait_decision(&mut client, Duration::from_secs(20)).expect("decision");
    let Decision::Approved { number, .. } = d else {
        panic!("{d:?}")
    };
    // Auto-approve after the default one second.
    assert!(t0.elapsed() >= Duration::from_millis(900), "{:?}", t0.elapsed());
    assert_eq!(client.fetch_receipt(&number).unwrap().receipt_number, number);
    // Through the trait object too.
    let mut up = kiosk::review::open(&cfg).expect("second open reuses the key");
    up.submit(sample_submission(&cfg, DocumentId::IdCard, &gz())).unwrap();
    assert!(matches!(
        wait_decision(up.as_mut(), Duration::from_secs(20)),
        Some(Decision::Approved { .. })
    ));
}
