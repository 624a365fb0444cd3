//! Issue #17 with the real binary: two `kiosk review-center` processes on one PostgreSQL
//! database (a real server, `kiosk::testkit::postgres`), 20 kiosks sending every
//! submission to both at once under one idempotency key; and the database settings a
//! centre refuses at start-up (exit 2, the setting and the fix named, no password shown).

use crate::common::{http_get, Proc};
use base64::Engine as _;
use kiosk::config::{DocumentId, RegionCode};
use kiosk::review::api::{Status, SubmissionView, SubmitAccepted};
use kiosk::testkit::postgres::{fresh_database, query_i64, PG_PASSWORD};
use kiosk::testkit::review::{sample_photo, test_config, TEST_ID_NUMBER};
use std::collections::{HashMap, HashSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const KIOSKS: usize = 20;
const PER_KIOSK: usize = 3;

fn key_of(k: usize) -> String {
    format!("scale-test-key-{k:02}-0123456789abcdef0123456789")
}

/// An owner-only file.
fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

struct Centre {
    proc: Proc,
    port: u16,
    log: PathBuf,
    _stdout: BufReader<std::process::ChildStdout>,
}

/// `kiosk review-center` on a free port, the database from `db_file`.
fn centre(dir: &Path, name: &str, db_file: &Path, keys: &Path, extra: &[&str]) -> Centre {
    let log = dir.join(format!("{name}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["review-center", "--listen", "127.0.0.1:0", "--db-file"])
        .arg(db_file)
        .arg("--keys")
        .arg(keys)
        .args([
            "--auto-approve-after",
            "0",
            "--kiosk-rate",
            "100000",
            "--db-pool-size",
            "4",
        ])
        .args(extra)
        .env_remove("KIOSK_CONFIG")
        .env_remove("KIOSK_REVIEW_DB")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start kiosk review-center");
    let mut proc = Proc {
        child,
        name: "review-center",
    };
    let mut stdout = BufReader::new(proc.child.stdout.take().unwrap());
    let port = crate::common::listening_port(&mut stdout).unwrap_or_else(|line| {
        panic!(
            "no `listening` line: {line:?}; log: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    Centre {
        proc,
        port,
        log,
        _stdout: stdout,
    }
}

impl Centre {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

fn submit(url: &str, key: &str, idem: &str, body: &[u8]) -> (u16, String) {
    let mut r = agent()
        .post(format!("{url}/v1/submissions"))
        .content_type("application/json")
        .header("authorization", format!("Bearer {key}"))
        .header("idempotency-key", idem)
        .send(body)
        .expect("request");
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn two_centres_on_one_database_store_review_and_number_each_submission_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database();
    let db_file = dir.path().join("db.url");
    write_private(&db_file, &format!("# the review database\n{url}\n"));
    let keys = dir.path().join("keys");
    let lines: String = (0..KIOSKS).map(|k| format!("K-{k:02} {}\n", key_of(k))).collect();
    write_private(&keys, &lines);
    let a = centre(dir.path(), "a", &db_file, &keys, &[]);
    let b = centre(dir.path(), "b", &db_file, &keys, &[]);
    let cfg = test_config(dir.path());
    let gz = RegionCode::new("440100").unwrap();
    let photo = base64::engine::general_purpose::STANDARD.encode(&sample_photo(&cfg, DocumentId::IdCard, &gz, None).0);

    // Every kiosk sends each submission to both centres at the same moment.
    let barrier = Arc::new(Barrier::new(KIOSKS * 2));
    let urls = [a.url(), b.url()];
    let mut threads = vec![];
    for k in 0..KIOSKS {
        for (side, u) in urls.iter().enumerate() {
            let (u, barrier, photo) = (u.clone(), barrier.clone(), photo.clone());
            threads.push(std::thread::spawn(move || {
                let mut ids = vec![];
                for n in 0..PER_KIOSK {
                    // Both sides build the same bytes: the claim code is derived, not random.
                    let body = serde_json::to_vec(&serde_json::json!({
                        "kiosk_id": format!("K-{k:02}"),
                        "doc": "id-card",
                        "region": "440100",
                        "details": {"name": "张三", "id_number": TEST_ID_NUMBER},
                        "claim_code": format!("{:032x}", (k * 1000 + n) as u128 + 0xabc0_0000),
                        "photo_jpeg_b64": photo,
                    }))
                    .unwrap();
                    if n == 0 {
                        barrier.wait();
                    }
                    let (st, b) = submit(&u, &key_of(k), &format!("sub-{k}-{n}"), &body);
                    assert!(st == 202 || st == 200, "side {side}: {st} {b}");
                    let acc: SubmitAccepted = serde_json::from_str(&b).unwrap();
                    ids.push((k, n, acc.id));
                }
                ids
            }));
        }
    }
    let mut by_key: HashMap<(usize, usize), HashSet<String>> = HashMap::new();
    for t in threads {
        for (k, n, id) in t.join().unwrap() {
            by_key.entry((k, n)).or_default().insert(id);
        }
    }
    assert_eq!(by_key.len(), KIOSKS * PER_KIOSK);
    assert!(
        by_key.values().all(|ids| ids.len() == 1),
        "both centres answered with the same submission for every key"
    );
    let total = (KIOSKS * PER_KIOSK) as i64;
    assert_eq!(
        query_i64(&url, "SELECT COUNT(*) FROM submissions"),
        total,
        "one per key"
    );

    let t0 = Instant::now();
    while query_i64(&url, "SELECT COUNT(*) FROM submissions WHERE state='approved'") < total {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "not all approved: {} of {total}; logs:\n{}\n{}",
            query_i64(&url, "SELECT COUNT(*) FROM submissions WHERE state='approved'"),
            a.log(),
            b.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        query_i64(&url, "SELECT COUNT(DISTINCT receipt_number) FROM submissions"),
        total,
        "receipt numbers unique"
    );
    // Each submission machine-checked once and approved once, whichever centre did it: a
    // centre logs a check or an approval only when its guarded update took effect, so the
    // two logs hold exactly one line of each per submission. (Counted, not matched by id:
    // the log redactor masks an id whose digits look like a mobile or ID number. A centre
    // logs just after its commit: wait for the last lines.)
    let lines = |what: &str| {
        format!("{}{}", a.log(), b.log())
            .lines()
            .filter(|l| l.contains(what))
            .count() as i64
    };
    let t0 = Instant::now();
    while (lines(": machine check passed") < total || lines(": approved by auto") < total)
        && t0.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(lines(": machine check passed"), total, "each machine-checked once");
    assert_eq!(lines(": approved by auto"), total, "each approved once");
    let logs = format!("{}{}", a.log(), b.log());
    assert!(
        a.log().contains("approved by auto") && b.log().contains("approved by auto"),
        "both centres did review work"
    );
    // Either centre answers for any submission, with the same number.
    let (id, k) = by_key
        .iter()
        .map(|((k, _), ids)| (ids.iter().next().unwrap().clone(), *k))
        .next()
        .unwrap();
    let numbers: HashSet<String> = urls
        .iter()
        .map(|u| {
            let mut r = agent()
                .get(format!("{u}/v1/submissions/{id}"))
                .header("authorization", format!("Bearer {}", key_of(k)))
                .call()
                .unwrap();
            let v: SubmissionView = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
            match v.status {
                Status::Approved { receipt_number, .. } => receipt_number.as_str().to_string(),
                s => panic!("{s:?}"),
            }
        })
        .collect();
    assert_eq!(numbers.len(), 1);
    assert!(!logs.contains(PG_PASSWORD), "the password is never logged");
    assert!(!logs.contains(TEST_ID_NUMBER) && !logs.contains("张三"));
}

/// Runs `kiosk review-center` with `args` (and `env`) to its exit: (code, stderr).
fn refused(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiosk"));
    c.arg("review-center")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("KIOSK_CONFIG")
        .env_remove("KIOSK_REVIEW_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn a_bad_database_setting_exits_2_naming_it_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let good = fresh_database();
    let file = |name: &str, url: &str| {
        let p = dir.path().join(name);
        write_private(&p, url);
        p.display().to_string()
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    type Case<'a> = (&'a str, Vec<String>, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "password on the command line",
            vec!["--db".into(), good.clone()],
            vec![],
            "process list",
        ),
        (
            "wrong password",
            vec![
                "--db-file".into(),
                file("wrong", &good.replace(PG_PASSWORD, "nope-nope")),
            ],
            vec![],
            "refused the login",
        ),
        (
            "missing database",
            vec!["--db-file".into(), file("missing", &format!("{good}_missing"))],
            vec![],
            "does not exist",
        ),
        (
            "unreachable server",
            vec!["--db-connect-timeout".into(), "2".into()],
            vec![(
                "KIOSK_REVIEW_DB",
                format!("postgres://kiosk:{PG_PASSWORD}@127.0.0.1:{port}/x"),
            )],
            "cannot reach",
        ),
        (
            "not a URL",
            vec![],
            vec![(
                "KIOSK_REVIEW_DB",
                format!("postgres://kiosk:{PG_PASSWORD}@127.0.0.1:notaport/x"),
            )],
            "KIOSK_REVIEW_DB",
        ),
        ("no database at all", vec![], vec![], "no database given"),
    ];
    for (what, args, env, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (code, err) = refused(&args, &env);
        assert_eq!(code, Some(2), "{what}: {err}");
        assert!(err.contains(needle), "{what}: {err}");
        assert!(
            err.contains("Fix") || err.contains("--db"),
            "{what} names the fix: {err}"
        );
        assert!(
            !err.contains(PG_PASSWORD) && !err.contains("nope-nope"),
            "{what}: {err}"
        );
        assert!(!err.contains("panicked"), "{what}: {err}");
    }
    // A --db-file others can read is refused before it is read.
    let shared = dir.path().join("shared.url");
    std::fs::write(&shared, &good).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, err) = refused(&["--db-file", shared.to_str().unwrap()], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    // The good file works: the centre serves.
    let keys = dir.path().join("keys");
    write_private(&keys, &format!("K-00 {}\n", key_of(0)));
    let c = centre(dir.path(), "ok", Path::new(&file("good", &good)), &keys, &[]);
    assert!(http_get(c.port, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200")));
}

/// A TCP balancer for the fault test: each connection goes to the next upstream that
/// accepts it (a dead one is skipped), bytes copied both ways.
fn balancer(upstreams: Vec<std::net::SocketAddr>) -> std::net::SocketAddr {
    use std::net::{TcpListener, TcpStream};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for (next, client) in l.incoming().map_while(Result::ok).enumerate() {
            let up = (0..upstreams.len()).find_map(|i| {
                let a = upstreams[(next + i) % upstreams.len()];
                TcpStream::connect_timeout(&a, Duration::from_millis(500)).ok()
            });
            let Some(up) = up else { continue };
            let (mut c2, mut u2) = (client.try_clone().unwrap(), up.try_clone().unwrap());
            let (mut c1, mut u1) = (client, up);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c1, &mut u1);
                let _ = u1.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut u2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    addr
}

#[test]
fn a_centre_killed_and_postgres_restarted_mid_run_lose_and_double_nothing() {
    use kiosk::ports::{Decision, Uploader};
    use kiosk::review::ReviewClient;
    use kiosk::testkit::review::{fast_options, sample_submission, wait_decision};
    const N_KIOSKS: usize = 8;
    const EACH: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    // A server of this test's own: it is restarted.
    let pg = kiosk::testkit::postgres::PgServer::start().unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
    let url = pg.create_database("faults").unwrap();
    let db_file = dir.path().join("db.url");
    write_private(&db_file, &url);
    let keys = dir.path().join("keys");
    let lines: String = (0..N_KIOSKS).map(|k| format!("K-{k:02} {}\n", key_of(k))).collect();
    write_private(&keys, &lines);
    let fast = ["--claim-lease", "2", "--db-backoff-max", "1", "--db-wait-timeout", "2"];
    let a = centre(dir.path(), "fa", &db_file, &keys, &fast);
    let b = centre(dir.path(), "fb", &db_file, &keys, &fast);
    let front = balancer(vec![
        format!("127.0.0.1:{}", a.port).parse().unwrap(),
        format!("127.0.0.1:{}", b.port).parse().unwrap(),
    ]);
    let cfg = test_config(dir.path());
    let gz = RegionCode::new("440100").unwrap();
    // Make the photo once before the kiosks start (it takes a moment in the dev profile).
    let _ = sample_photo(&cfg, DocumentId::IdCard, &gz, None);
    let started = Arc::new(Barrier::new(N_KIOSKS + 1));
    let kiosks: Vec<_> = (0..N_KIOSKS)
        .map(|k| {
            let (cfg, gz, started) = (cfg.clone(), gz.clone(), started.clone());
            let data = dir.path().join(format!("kiosk-{k}"));
            std::fs::create_dir_all(&data).unwrap();
            let base = format!("http://{front}");
            std::thread::spawn(move || {
                let mut o = fast_options(&base, &format!("K-{k:02}"), &key_of(k), &data);
                o.request_timeout = Duration::from_secs(5);
                let mut client = ReviewClient::start(o).unwrap();
                let mut numbers = vec![];
                started.wait();
                for _ in 0..EACH {
                    client
                        .submit(sample_submission(&cfg, DocumentId::IdCard, &gz))
                        .expect("queued");
                    match wait_decision(&mut client, Duration::from_secs(120)) {
                        Some(Decision::Approved { number, .. }) => numbers.push(number.as_str().to_string()),
                        d => panic!("kiosk {k}: {d:?}"),
                    }
                }
                numbers
            })
        })
        .collect();
    started.wait();
    // Mid-run: one centre is killed outright, then the database restarts under load.
    let total = (N_KIOSKS * EACH) as i64;
    let approved = || query_i64(&url, "SELECT COUNT(*) FROM submissions WHERE state='approved'");
    std::thread::sleep(Duration::from_millis(700));
    let mut a = a;
    a.proc.child.kill().unwrap();
    let _ = a.proc.child.wait();
    let at_kill = approved();
    std::thread::sleep(Duration::from_millis(700));
    let at_restart = approved();
    pg.restart().unwrap_or_else(|e| panic!("restart: {e}"));
    assert!(
        at_restart < total,
        "the faults came mid-run ({at_kill}, {at_restart} of {total} done)"
    );
    eprintln!("faults: killed a centre at {at_kill}, restarted PostgreSQL at {at_restart} of {total} approvals");
    let mut numbers = vec![];
    for k in kiosks {
        numbers.extend(k.join().expect("every kiosk gets every receipt"));
    }
    assert_eq!(numbers.len() as i64, total);
    let unique: HashSet<_> = numbers.iter().collect();
    assert_eq!(unique.len() as i64, total, "no receipt number twice");
    assert_eq!(
        query_i64(&url, "SELECT COUNT(*) FROM submissions"),
        total,
        "0 lost, 0 doubled"
    );
    assert_eq!(
        query_i64(&url, "SELECT COUNT(*) FROM submissions WHERE state='approved'"),
        total
    );
    let blog = b.log();
    assert!(
        blog.contains("unavailable") || blog.contains("retrying"),
        "the surviving centre saw the database go away: {blog}"
    );
}

#[test]
fn a_sqlite_centre_moves_to_postgres_with_migrate_from() {
    use kiosk::review::store::{decided_by, Insert, NewSubmission, Store};
    use kiosk::testkit::review::{operator_login, OPERATOR, OPERATOR_PASSWORD};
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.sqlite");
    let gz = RegionCode::new("440100").unwrap();
    let sub = |idem: &str| NewSubmission {
        kiosk_id: "K-00".into(),
        idem_key: idem.into(),
        body_sha256: idem.into(),
        doc: DocumentId::IdCard,
        region: gz.clone(),
        claim_code: kiosk::domain::ClaimCode::random(),
        details_json: "{}".into(),
        photo: format!("photo of {idem}").into_bytes(),
    };
    // The old centre: approved, rejected and pending submissions, a revoked kiosk, an
    // operator.
    let first_number = {
        let store = Store::open_sqlite(&old).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let now = chrono::Utc::now();
            let mut ids = vec![];
            for idem in ["a", "b", "c"] {
                let Insert::Created(r) = store.insert(sub(idem), now).await.unwrap() else {
                    panic!()
                };
                assert!(store.mark_checked(&r.id, now).await.unwrap());
                ids.push(r.id);
            }
            assert!(store.approve(&ids[0], now, 180, decided_by::AUTO).await.unwrap());
            assert!(store.reject(&ids[1], &[], now, decided_by::MACHINE).await.unwrap());
            assert!(store.revoke_kiosk("K-09", now).await.unwrap());
            store.by_id(&ids[0]).await.unwrap().unwrap().receipt_number.unwrap()
        })
    };
    kiosk::staff::StaffAuth::open(&old, Default::default())
        .unwrap()
        .add_user(OPERATOR, OPERATOR_PASSWORD)
        .unwrap();

    let url = fresh_database();
    let db_file = dir.path().join("db.url");
    write_private(&db_file, &url);
    let migrate = |src: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .args(["review-center", "--db-file"])
            .arg(&db_file)
            .args(["--migrate-from", src])
            .env_remove("KIOSK_CONFIG")
            .env_remove("KIOSK_REVIEW_DB")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let src = format!("sqlite:{}", old.display());
    let (code, out, err) = migrate(&src);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("3 submission(s) copied, 0 already there"), "{out}");
    assert!(out.contains("1 revoked kiosk(s), 1 operator account(s)"), "{out}");
    assert!(!out.contains(PG_PASSWORD) && !err.contains(PG_PASSWORD));
    // Again: nothing doubled.
    let (code, out, _) = migrate(&src);
    assert_eq!(code, Some(0));
    assert!(out.contains("0 submission(s) copied, 3 already there"), "{out}");
    assert_eq!(query_i64(&url, "SELECT COUNT(*) FROM submissions"), 3);
    assert_eq!(
        query_i64(
            &url,
            "SELECT COUNT(*) FROM submissions WHERE photo = convert_to('photo of c', 'UTF8') AND state='pending'"
        ),
        1,
        "photos move byte for byte"
    );
    // A missing source, and a SQLite destination, are refused.
    let (code, _, err) = migrate("sqlite:/nonexistent/old.sqlite");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no such SQLite database"), "{err}");
    let (code, _, err) = {
        let out = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .args(["review-center", "--db"])
            .arg(dir.path().join("new.sqlite"))
            .args(["--migrate-from", &src])
            .env_remove("KIOSK_REVIEW_DB")
            .output()
            .unwrap();
        (out.status.code(), (), String::from_utf8_lossy(&out.stderr).to_string())
    };
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("copies into PostgreSQL"), "{err}");

    // The centre on PostgreSQL carries on: the old receipt verifies, the old operator logs
    // in and approves the pending photo with the next number of the day, the revoked kiosk
    // stays revoked.
    let keys = dir.path().join("keys");
    write_private(&keys, &format!("K-00 {}\nK-09 {}\n", key_of(0), key_of(9)));
    let pending = kiosk::testkit::postgres::query_strings(&url, "SELECT id FROM submissions WHERE state='pending'");
    assert_eq!(pending.len(), 1);
    let c = centre(dir.path(), "moved", &db_file, &keys, &[]);
    let mut r = agent()
        .get(format!("{}/v1/receipts/{first_number}/verify", c.url()))
        .call()
        .unwrap();
    assert!(r.body_mut().read_to_string().unwrap().contains("valid"));
    let op = operator_login(&c.url(), OPERATOR, OPERATOR_PASSWORD);
    // This centre also auto-approves (`--auto-approve-after 0`): the operator or the loop,
    // whichever is first, numbers it once.
    let (st, _, _) = op.post(&format!("/review/{}/approve", pending[0]), &[]);
    assert!(st == 303 || st == 409, "{st}");
    let t0 = Instant::now();
    while query_i64(&url, "SELECT COUNT(*) FROM submissions WHERE state='approved'") < 2 {
        assert!(t0.elapsed() < Duration::from_secs(20), "not approved");
        std::thread::sleep(Duration::from_millis(50));
    }
    let numbers = kiosk::testkit::postgres::query_strings(
        &url,
        "SELECT receipt_number FROM submissions WHERE receipt_number IS NOT NULL ORDER BY receipt_number",
    );
    assert_eq!(numbers.len(), 2);
    assert_eq!(numbers[0], first_number);
    assert_eq!(&numbers[1][..14], &first_number[..14], "same region and day");
    assert!(numbers[1] > first_number, "the sequence carried on: {numbers:?}");
    let (st, _) = submit(&c.url(), &key_of(9), "x", b"{}");
    assert_eq!(st, 401, "still revoked");
}

#[test]
fn while_postgres_is_down_a_centre_answers_503_and_recovers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let pg = kiosk::testkit::postgres::PgServer::start().unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
    let url = pg.create_database("outage").unwrap();
    let db_file = dir.path().join("db.url");
    write_private(&db_file, &url);
    let keys = dir.path().join("keys");
    write_private(&keys, &format!("K-00 {}\n", key_of(0)));
    let c = centre(
        dir.path(),
        "outage",
        &db_file,
        &keys,
        &[
            "--db-backoff-max",
            "1",
            "--db-wait-timeout",
            "2",
            "--db-connect-timeout",
            "1",
        ],
    );
    assert!(http_get(c.port, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200")));
    pg.stop();
    let t0 = Instant::now();
    let down = http_get(c.port, "/healthz").unwrap_or_default();
    assert!(down.starts_with("HTTP/1.1 503"), "{down}");
    assert!(down.to_ascii_lowercase().contains("retry-after: 1"), "{down}");
    assert!(down.contains("\"unavailable\""), "{down}");
    let (st, b) = submit(&c.url(), &key_of(0), "k1", b"{\"kiosk_id\":\"K-00\"}");
    assert_eq!(st, 503, "{b}");
    assert!(t0.elapsed() < Duration::from_secs(10), "503 promptly, not a hang");
    pg.restart().unwrap();
    let t0 = Instant::now();
    while !http_get(c.port, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
        assert!(t0.elapsed() < Duration::from_secs(15), "the centre did not reconnect");
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = c.log();
    assert!(log.contains("unavailable"), "{log}");
    assert!(!log.contains(PG_PASSWORD));
}
