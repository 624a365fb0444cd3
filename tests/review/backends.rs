//! The review store's contract on both backends (SQLite file, real PostgreSQL server from
//! `kiosk::testkit::postgres`), and what only PostgreSQL must do: hold with several
//! instances at once (idempotency, numbering, claims, migrations), keep staff logins
//! shared, and explain a bad database setting. And TLS to the server: verified against
//! `--db-ca-file` (a test CA), refused with the fix when the certificate is not trusted
//! or the server offers no TLS.

use chrono::{NaiveDate, Utc};
use kiosk::config::{DocumentId, RegionCode};
use kiosk::domain::{ClaimCode, Prompt};
use kiosk::review::store::{decided_by, DbTarget, Insert, NewSubmission, PgOptions, Store};
use kiosk::review::ReviewError;
use kiosk::staff::{Added, LoginError, StaffSettings};
use kiosk::testkit::postgres::{self, fresh_database, PgServer, PG_PASSWORD};
use kiosk::testkit::review::test_pg_options;
use std::collections::HashSet;
use std::time::Duration;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn gz() -> RegionCode {
    RegionCode::new("440100").unwrap()
}

fn sub(kiosk: &str, idem: &str, body: &str, claim: &ClaimCode) -> NewSubmission {
    NewSubmission {
        kiosk_id: kiosk.into(),
        idem_key: idem.into(),
        body_sha256: body.into(),
        doc: DocumentId::IdCard,
        region: gz(),
        claim_code: claim.clone(),
        details_json: "{\"name\":\"张三\"}".into(),
        photo: b"jpeg".to_vec(),
    }
}

async fn open_pg(url: &str) -> Store {
    let t = DbTarget::parse(url, "test").unwrap();
    Store::open(&t, &test_pg_options())
        .await
        .expect("open PostgreSQL store")
}

/// Every operation the service uses, with the answers both backends must give.
async fn contract(store: &Store) {
    let now = Utc::now();
    let claim = ClaimCode::random();
    let Insert::Created(row) = store.insert(sub("K-1", "i-1", "sha-a", &claim), now).await.unwrap() else {
        panic!("first insert creates")
    };
    assert_eq!(row.state, "received");
    assert!(matches!(
        store.insert(sub("K-1", "i-1", "sha-a", &ClaimCode::random()), now).await.unwrap(),
        Insert::Replayed(r) if r.id == row.id
    ));
    assert!(matches!(
        store
            .insert(sub("K-1", "i-1", "sha-b", &ClaimCode::random()), now)
            .await
            .unwrap(),
        Insert::Conflict
    ));
    assert!(matches!(
        store.insert(sub("K-1", "i-2", "sha-c", &claim), now).await.unwrap(),
        Insert::ClaimTaken
    ));
    // Another kiosk may use the same idempotency key.
    let Insert::Created(other) = store
        .insert(sub("K-2", "i-1", "sha-a", &ClaimCode::random()), now)
        .await
        .unwrap()
    else {
        panic!("another kiosk's key is its own")
    };
    assert_eq!(store.count_state("received").await.unwrap(), 2);
    assert_eq!(store.by_claim(&claim.0).await.unwrap().unwrap().id, row.id);
    assert_eq!(store.photo(&row.id).await.unwrap().as_deref(), Some(&b"jpeg"[..]));

    let claimed = store.claim_unchecked(10, now).await.unwrap();
    assert_eq!(claimed.len(), 2, "both wait for the machine check");
    assert!(store.mark_checked(&row.id, now).await.unwrap());
    assert!(!store.mark_checked(&row.id, now).await.unwrap(), "checked once");
    assert!(store
        .reject(
            &other.id,
            &[Prompt::new("glare", "反光", "Glare")],
            now,
            decided_by::MACHINE
        )
        .await
        .unwrap());
    assert!(
        store.photo(&other.id).await.unwrap().is_none(),
        "a rejected photo is removed"
    );
    assert_eq!(
        store
            .pending_checked_before(now.timestamp_millis())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.pending_for_operator().await.unwrap().len(), 1);
    // A validity past the calendar is an error, and changes nothing.
    assert!(store.approve(&row.id, now, u32::MAX, "auto").await.is_err());
    assert_eq!(store.count_state("pending").await.unwrap(), 1);
    assert!(store
        .approve(&row.id, now, 180, &decided_by::staff("alice"))
        .await
        .unwrap());
    assert!(
        !store.approve(&row.id, now, 180, "auto").await.unwrap(),
        "numbered once"
    );
    assert!(!store.reject(&row.id, &[], now, "machine").await.unwrap());
    let approved = store.by_id(&row.id).await.unwrap().unwrap();
    let number = approved.receipt_number.clone().expect("a number");
    assert!(number.starts_with("440100"), "{number}");
    assert_eq!(store.by_number(&number).await.unwrap().unwrap().id, row.id);
    assert_eq!(approved.decided_by.as_deref(), Some("staff:alice"));
    let recent = store.recent_decisions(10).await.unwrap();
    assert_eq!(recent.len(), 2);

    // The next approval the same day gets the next number.
    let Insert::Created(third) = store
        .insert(sub("K-1", "i-3", "sha-d", &ClaimCode::random()), now)
        .await
        .unwrap()
    else {
        panic!()
    };
    store.claim_unchecked(10, now).await.unwrap();
    assert!(store.mark_checked(&third.id, now).await.unwrap());
    assert!(store.approve(&third.id, now, 180, "auto").await.unwrap());
    let n3 = store.by_id(&third.id).await.unwrap().unwrap().receipt_number.unwrap();
    assert_ne!(n3, number);
    assert!(n3[..n3.len() - 1] > number[..number.len() - 1], "{number} then {n3}");

    // Retention: nothing before the receipt expires plus grace; then photo and details go.
    let valid_until = approved.valid_until.unwrap();
    assert_eq!(store.purge(valid_until, 7).await.unwrap(), 0);
    let later = valid_until + chrono::Days::new(8);
    assert_eq!(store.purge(later, 7).await.unwrap(), 2);
    assert_eq!(store.purge(later, 7).await.unwrap(), 0, "purged once");
    assert!(store.photo(&row.id).await.unwrap().is_none());
    assert!(store.by_number(&number).await.unwrap().unwrap().purged);
    assert_eq!(store.purge(NaiveDate::MIN, u32::MAX).await.unwrap(), 0);

    // Revocation.
    assert!(!store.is_revoked("K-1").await.unwrap());
    assert!(store.revoke_kiosk("K-1", now).await.unwrap());
    assert!(!store.revoke_kiosk("K-1", now).await.unwrap());
    assert!(store.is_revoked("K-1").await.unwrap());
}

#[test]
fn the_store_contract_holds_on_sqlite() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&d.path().join("r.sqlite")).unwrap();
    rt().block_on(contract(&store));
}

#[test]
fn the_store_contract_holds_on_postgres() {
    let url = fresh_database();
    let rt = rt();
    rt.block_on(async {
        let store = open_pg(&url).await;
        contract(&store).await;
        // A second instance opening the same database applies nothing twice and sees it all.
        let again = open_pg(&url).await;
        assert!(again.is_revoked("K-1").await.unwrap());
    });
    assert_eq!(postgres::query_i64(&url, "SELECT COUNT(*) FROM kiosk_migrations"), 2);
}

#[test]
fn instances_starting_together_migrate_once() {
    let url = fresh_database();
    rt().block_on(async {
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { open_pg(&url).await })
            })
            .collect();
        for o in opens {
            o.await.unwrap();
        }
    });
    assert_eq!(postgres::query_i64(&url, "SELECT COUNT(*) FROM kiosk_migrations"), 2);
}

#[test]
fn two_instances_racing_on_one_key_store_one_submission_and_number_each_once() {
    let url = fresh_database();
    rt().block_on(async {
        let a = open_pg(&url).await;
        let b = open_pg(&url).await;
        // 20 keys, each sent 4 times at once, half to each instance.
        let mut tasks = vec![];
        for k in 0..20 {
            let claim = ClaimCode::random();
            for i in 0..4 {
                let s = if i % 2 == 0 { a.clone() } else { b.clone() };
                let n = sub("K-1", &format!("key-{k}"), "same", &claim);
                tasks.push(tokio::spawn(async move { s.insert(n, Utc::now()).await }));
            }
        }
        let (mut created, mut replayed) = (0, 0);
        for t in tasks {
            match t.await.unwrap().unwrap() {
                Insert::Created(_) => created += 1,
                Insert::Replayed(_) => replayed += 1,
                _ => panic!("same key and content must replay"),
            }
        }
        assert_eq!((created, replayed), (20, 60));
        // Both instances claim work at once: disjoint sets.
        let (ca, cb) = tokio::join!(a.claim_unchecked(15, Utc::now()), b.claim_unchecked(15, Utc::now()));
        let (ca, cb) = (ca.unwrap(), cb.unwrap());
        let ids_a: HashSet<_> = ca.iter().map(|c| c.0.clone()).collect();
        let ids_b: HashSet<_> = cb.iter().map(|c| c.0.clone()).collect();
        assert_eq!(ids_a.len() + ids_b.len(), 20, "every row claimed once");
        assert!(ids_a.is_disjoint(&ids_b));
        assert!(a.claim_unchecked(15, Utc::now()).await.unwrap().is_empty(), "leased");
        for id in ids_a.iter().chain(&ids_b) {
            assert!(a.mark_checked(id, Utc::now()).await.unwrap());
        }
        // Both approve every row at once: each is numbered once, numbers unique.
        let mut tasks = vec![];
        for id in ids_a.iter().chain(&ids_b) {
            for s in [a.clone(), b.clone()] {
                let id = id.clone();
                tasks.push(tokio::spawn(
                    async move { s.approve(&id, Utc::now(), 180, "auto").await },
                ));
            }
        }
        let mut approvals = 0;
        for t in tasks {
            approvals += usize::from(t.await.unwrap().unwrap());
        }
        assert_eq!(approvals, 20);
    });
    assert_eq!(
        postgres::query_i64(&url, "SELECT COUNT(DISTINCT receipt_number) FROM submissions"),
        20
    );
    assert_eq!(postgres::query_i64(&url, "SELECT MAX(last)::bigint FROM sequences"), 20);
}

#[test]
fn a_claim_left_by_a_dead_instance_is_taken_over_after_the_lease() {
    let url = fresh_database();
    rt().block_on(async {
        let t = DbTarget::parse(&url, "test").unwrap();
        let opts = PgOptions {
            claim_lease: Duration::from_millis(300),
            ..test_pg_options()
        };
        let a = Store::open(&t, &opts).await.unwrap();
        let b = Store::open(&t, &opts).await.unwrap();
        a.insert(sub("K-1", "k", "s", &ClaimCode::random()), Utc::now())
            .await
            .unwrap();
        assert_eq!(a.claim_unchecked(5, Utc::now()).await.unwrap().len(), 1);
        // `a` dies without checking it.
        drop(a);
        assert!(b.claim_unchecked(5, Utc::now()).await.unwrap().is_empty());
        let later = Utc::now() + chrono::Duration::milliseconds(400);
        let taken = b.claim_unchecked(5, later).await.unwrap();
        assert_eq!(taken.len(), 1, "the lease ran out");
        assert!(b.mark_checked(&taken[0].0, later).await.unwrap());
    });
}

#[test]
fn staff_logins_are_shared_by_instances_on_postgres() {
    let url = fresh_database();
    rt().block_on(async {
        let a = open_pg(&url).await.staff_auth(StaffSettings::default()).unwrap();
        let b = open_pg(&url).await.staff_auth(StaffSettings::default()).unwrap();
        assert_eq!(a.count_accounts().await.unwrap(), 0);
        assert_eq!(
            a.set_user_password("alice", "alice's long password").await.unwrap(),
            Added::New
        );
        assert_eq!(
            b.set_user_password("alice", "alice's new password").await.unwrap(),
            Added::Replaced
        );
        assert!(matches!(
            a.sign_in("alice", "alice's long password", "10.0.0.1").await,
            Err(LoginError::Wrong)
        ));
        let (token, info) = a.sign_in("alice", "alice's new password", "10.0.0.1").await.unwrap();
        // The session and its CSRF token are known to the other instance.
        assert_eq!(b.session(&token).await.unwrap(), Some(info));
        b.logout(&token).await.unwrap();
        assert_eq!(a.session(&token).await.unwrap(), None, "logged out everywhere");
        assert_eq!(a.session("not a token").await.unwrap(), None);
    });
    // Only the hash is stored, never the password or the cookie token.
    assert_eq!(
        postgres::query_i64(
            &url,
            "SELECT COUNT(*) FROM staff_accounts WHERE hash LIKE '$argon2id$%' AND hash NOT LIKE '%new password%'"
        ),
        1
    );
}

#[test]
fn staff_sessions_expire_on_postgres() {
    let url = fresh_database();
    rt().block_on(async {
        let settings = StaffSettings {
            session_ttl: Duration::from_millis(300),
            ..StaffSettings::default()
        };
        let a = open_pg(&url).await.staff_auth(settings).unwrap();
        a.set_user_password("bob", "bob's long password").await.unwrap();
        let (token, _) = a.sign_in("bob", "bob's long password", "10.0.0.1").await.unwrap();
        assert!(a.session(&token).await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(a.session(&token).await.unwrap().is_none(), "expired");
    });
}

fn open_err(url: &str) -> String {
    let t = DbTarget::parse(url, "test").unwrap();
    let opts = PgOptions {
        connect_timeout: Duration::from_secs(2),
        ..test_pg_options()
    };
    match rt().block_on(Store::open(&t, &opts)) {
        Err(e @ ReviewError::DbConfig { .. }) => e.to_string(),
        Err(e) => panic!("not a configuration error: {e}"),
        Ok(_) => panic!("{url} opened"),
    }
}

#[test]
fn a_bad_database_setting_says_what_and_how_to_fix_it() {
    let good = fresh_database();
    let wrong_pw = good.replace(PG_PASSWORD, "not-the-password");
    let e = open_err(&wrong_pw);
    assert!(e.contains("refused the login") && e.contains("Fix:"), "{e}");
    assert!(!e.contains("not-the-password"), "no password in messages: {e}");
    let missing = format!("{}_missing", good);
    let e = open_err(&missing);
    assert!(e.contains("does not exist") && e.contains("createdb"), "{e}");
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = open_err(&format!("postgres://kiosk@127.0.0.1:{port}/x"));
    assert!(e.contains("cannot reach") && e.contains("listen"), "{e}");
}

#[test]
fn tables_live_in_the_urls_default_schema() {
    let url = fresh_database();
    postgres::execute(&url, "CREATE SCHEMA review");
    let in_schema = format!("{url}?options=-csearch_path%3Dreview");
    rt().block_on(async {
        let store = open_pg(&in_schema).await;
        let claim = ClaimCode::random();
        assert!(matches!(
            store.insert(sub("K-1", "k", "s", &claim), Utc::now()).await.unwrap(),
            Insert::Created(_)
        ));
    });
    let tables = |schema: &str| {
        postgres::query_i64(
            &url,
            &format!(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='{schema}' \
                 AND table_name IN ('submissions','sequences','revoked_kiosks','staff_accounts','staff_sessions','kiosk_migrations')"
            ),
        )
    };
    assert_eq!((tables("review"), tables("public")), (6, 0));
    assert_eq!(postgres::query_i64(&url, "SELECT COUNT(*) FROM review.submissions"), 1);
}

/// A private server with TLS on (a test CA signed its certificate for 127.0.0.1 and
/// localhost), and a new database on it: the server, its CA file and the database's URL
/// (without sslmode).
fn tls_server(db: &str) -> (PgServer, std::path::PathBuf, String) {
    let server = PgServer::start_tls().unwrap_or_else(|e| panic!("PostgreSQL with TLS could not start: {e}"));
    let ca = server.ca_file().expect("a TLS server has a CA").to_path_buf();
    let url = server
        .create_database(db)
        .unwrap_or_else(|e| panic!("create {db}: {e}"));
    (server, ca, url)
}

fn with_ca(url: &str, ca: &std::path::Path) -> DbTarget {
    DbTarget::parse(url, "test").unwrap().with_ca_file(Some(ca)).unwrap()
}

/// `application_name`s of the server's client connections over TLS, and of its plain ones.
fn ssl_apps(url: &str) -> (Vec<String>, Vec<String>) {
    // The test's own session is plain: the URL without its query (sslmode).
    let url = url.split('?').next().unwrap_or(url).replace("localhost", "127.0.0.1");
    let apps = |ssl: &str| {
        let mut v = postgres::query_strings(
            &url,
            &format!(
                "SELECT a.application_name FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
                 WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid() AND s.ssl = {ssl}"
            ),
        );
        v.sort();
        v
    };
    (apps("true"), apps("false"))
}

#[test]
fn the_review_store_works_over_tls_verified_against_the_ca_file() {
    let (_server, ca, url) = tls_server("tls_review");
    for (i, url) in [
        format!("{url}?sslmode=require"),
        // The default, prefer: TLS because the server offers it.
        url.clone(),
        // A host name in the certificate works as well as its IP address.
        format!("{}?sslmode=require", url.replace("127.0.0.1", "localhost")),
    ]
    .iter()
    .enumerate()
    {
        let rt = rt();
        let store = rt.block_on(async {
            let store = Store::open(&with_ca(url, &ca), &test_pg_options())
                .await
                .unwrap_or_else(|e| panic!("open over TLS ({url}): {e}"));
            let claim = ClaimCode::random();
            let Insert::Created(row) = store
                .insert(sub("K-1", &format!("tls-{i}"), "sha", &claim), Utc::now())
                .await
                .unwrap()
            else {
                panic!("the insert creates")
            };
            let back = store.by_claim(&claim.0).await.unwrap().expect("read back");
            assert_eq!((&back.id, back.kiosk_id.as_str()), (&row.id, "K-1"));
            assert_eq!(store.photo(&row.id).await.unwrap().as_deref(), Some(&b"jpeg"[..]));
            let Store::Postgres(pg) = &store else {
                panic!("a PostgreSQL store")
            };
            let c = pg.pool().get().await.unwrap();
            let r = c
                .query_one("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
                .await
                .unwrap();
            let (ssl, version): (bool, Option<String>) = (r.get(0), r.get(1));
            assert!(ssl, "the store's connection is TLS ({url})");
            assert!(version.is_some_and(|v| v.starts_with("TLSv1.")), "TLS version");
            drop(c);
            store
        });
        // Seen from another (plain) session while the pool is open: every connection of the
        // review centre is TLS.
        let (tls, plain) = ssl_apps(url);
        assert!(
            tls.iter().any(|a| a == "kiosk review-center"),
            "the review centre's connections are TLS: {tls:?}"
        );
        assert!(
            !plain.iter().any(|a| a.starts_with("kiosk")),
            "no plain kiosk connection: {plain:?}"
        );
        drop(store);
        drop(rt);
    }
}

#[test]
fn the_console_store_and_its_alert_listener_work_over_tls() {
    use kiosk::console::store::ConsoleStore;
    let (_server, ca, url) = tls_server("tls_console");
    let target = with_ca(&format!("{url}?sslmode=require"), &ca);
    let settings = kiosk::pgdb::PoolSettings {
        size: 2,
        connect_timeout: Duration::from_secs(3),
        wait_timeout: Duration::from_secs(3),
    };
    let rt = rt();
    let store = rt
        .block_on(ConsoleStore::open(&target, &settings))
        .unwrap_or_else(|e| panic!("the console store opens over TLS: {e}"));
    let ConsoleStore::Postgres(pg) = &store else {
        panic!("a PostgreSQL console store")
    };
    let (feed, _rx) = tokio::sync::broadcast::channel(8);
    let listener = rt.spawn(pg.clone().listen(feed, Duration::from_secs(1)));
    let listener_app = "kiosk console (alert listener)";
    let t0 = std::time::Instant::now();
    let (tls, plain) = loop {
        let (tls, plain) = ssl_apps(&url);
        let listening = postgres::query_i64(
            &url,
            &format!(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '{listener_app}' \
                 AND query LIKE 'LISTEN %'"
            ),
        );
        if listening == 1 && tls.iter().any(|a| a == listener_app) {
            break (tls, plain);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "the alert listener is not listening over TLS: tls {tls:?}, plain {plain:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(tls.iter().any(|a| a == "kiosk console"), "the pool is TLS: {tls:?}");
    assert!(
        !plain.iter().any(|a| a.starts_with("kiosk")),
        "no plain kiosk connection: {plain:?}"
    );
    listener.abort();
}

#[test]
fn a_certificate_the_client_does_not_trust_is_refused_with_the_fix() {
    let (_server, ca, url) = tls_server("tls_untrusted");
    let refused = |target: DbTarget| {
        let opts = PgOptions {
            connect_timeout: Duration::from_secs(3),
            ..test_pg_options()
        };
        match rt().block_on(Store::open(&target, &opts)) {
            Err(e @ ReviewError::DbConfig { .. }) => e.to_string(),
            Err(e) => panic!("not a configuration error: {e}"),
            Ok(_) => panic!("opened with an untrusted certificate"),
        }
    };
    // The compiled-in public roots do not know the test CA: with require, and with the
    // default prefer (the server offers TLS, so its certificate must be trusted too).
    for u in [format!("{url}?sslmode=require"), url.clone()] {
        let e = refused(DbTarget::parse(&u, "test").unwrap());
        assert!(
            e.contains("certificate was not trusted") && e.contains("CA") && e.contains("--db-ca-file"),
            "{e}"
        );
        assert!(!e.contains(PG_PASSWORD), "no password in messages: {e}");
    }
    // The right CA, but the URL's host is not a name in the certificate.
    let other_name = format!(
        "{}?sslmode=require&hostaddr=127.0.0.1",
        url.replace("@127.0.0.1:", "@db.other.example:")
    );
    let e = refused(with_ca(&other_name, &ca));
    assert!(
        e.contains("not trusted") && e.contains("not issued for the URL's host"),
        "{e}"
    );
    // sslmode=disable talks plain, as asked.
    rt().block_on(async {
        let plain = DbTarget::parse(&format!("{url}?sslmode=disable"), "test").unwrap();
        let store = Store::open(&plain, &test_pg_options())
            .await
            .expect("sslmode=disable opens without TLS");
        let Store::Postgres(pg) = &store else {
            panic!("a PostgreSQL store")
        };
        let c = pg.pool().get().await.unwrap();
        let ssl: bool = c
            .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        assert!(!ssl);
    });
}

#[test]
fn require_against_a_server_without_tls_is_a_configuration_error() {
    let url = format!("{}?sslmode=require", fresh_database());
    let e = open_err(&url);
    assert!(e.contains("does not offer TLS") && e.contains("ssl = on"), "{e}");
}

#[test]
fn review_center_add_user_over_tls_and_a_missing_ca_file() {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt;
    let (_server, ca, url) = tls_server("tls_cli");
    let d = tempfile::tempdir().unwrap();
    let url_file = d.path().join("db-url");
    std::fs::write(&url_file, format!("{url}?sslmode=require\n")).unwrap();
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let add = |ca: &std::path::Path| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .arg("review-center")
            .arg("--db-file")
            .arg(&url_file)
            .arg("--db-ca-file")
            .arg(ca)
            .args(["--add-user", "tls-operator"])
            .env_remove("KIOSK_CONFIG")
            .env_remove("KIOSK_REVIEW_DB")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let _ = writeln!(child.stdin.take().unwrap(), "a-long-enough-password");
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (code, err) = add(&ca);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        postgres::query_i64(&url, "SELECT COUNT(*) FROM staff_accounts WHERE name = 'tls-operator'"),
        1
    );
    let missing = d.path().join("no-such-ca.pem");
    let (code, err) = add(&missing);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(missing.to_str().unwrap()) && err.contains("--db-ca-file") && err.contains("Fix:"),
        "{err}"
    );
}
