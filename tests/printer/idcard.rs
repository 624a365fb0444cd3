//! The ID-card reader driver against its emulator over a real pty (issue #14): every
//! fault the driver knows, from real bytes. Each test runs its own emulator.

use crate::common;
use kiosk::config::Config;
use kiosk::domain::{CardAdvice, CardFault, CardKind, CardRead};
use kiosk::idcard_sim::{self, SimArgs, SimHandle};
use kiosk::ports::IdCardReader;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The driver's reply timeout in these tests.
const REPLY_MS: u32 = 200;
/// The longest one poll may take: three commands, each at most the reply timeout plus
/// the line time of its answer, and slack for a loaded machine.
const POLL_LIMIT: Duration = Duration::from_secs(3);

struct Rig {
    dir: tempfile::TempDir,
    cfg: Config,
    sim: SimHandle,
    reader: Box<dyn IdCardReader>,
}

const RESIDENT: &str = r#"
name = "张三"
sex = "1"
nation = "01"
birth = "19800101"
address = "广东省广州市越秀区某路1号"
id_number = "440104198001010016"
authority = "广州市公安局越秀分局"
valid_from = "20200101"
valid_to = "20400101"
"#;

fn card_file(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{RESIDENT}{extra}")).unwrap();
    p
}

fn rig(with_card: bool) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("kiosk-idcard");
    let mut a = SimArgs::new(&link);
    if with_card {
        a.card = Some(card_file(dir.path(), "card.toml", ""));
    }
    let sim = idcard_sim::start(&a).expect("emulator starts");
    let mut cfg = Config::builtin();
    cfg.kiosk.data_dir = dir.path().join("data");
    cfg.devices.idcard = format!("serial:{}", link.display()).parse().unwrap();
    cfg.idcard.reply_timeout_ms = REPLY_MS;
    let reader = kiosk::idcard::open(&cfg).expect("a serial reader is configured");
    Rig { dir, cfg, sim, reader }
}

impl Rig {
    /// One poll, which must come back in bounded time whatever the reader does.
    fn poll(&mut self) -> CardRead {
        let t0 = Instant::now();
        let r = self.reader.poll();
        assert!(t0.elapsed() < POLL_LIMIT, "a poll took {:?}: {r:?}", t0.elapsed());
        r
    }

    fn ok(&self, cmd: &str) {
        let r = self.sim.command(cmd);
        assert!(r.starts_with("ok"), "{cmd}: {r}");
    }

    fn expect_card(&mut self) {
        match self.poll() {
            CardRead::Card(c) => {
                assert_eq!((c.name.as_str(), c.id_number.as_str()), ("张三", "440104198001010016"));
                assert_eq!(c.kind, CardKind::Resident);
            }
            other => panic!("expected the card, got {other:?}"),
        }
    }

    fn expect_fault(&mut self, want: CardFault) {
        assert_eq!(self.poll(), CardRead::Fault(want));
    }
}

#[test]
fn idcard_reads_a_placed_card_and_nothing_without_one() {
    let mut r = rig(false);
    assert_eq!(r.poll(), CardRead::NoCard);
    r.ok("place");
    r.expect_card();
    // Find → select → read is repeated for every read.
    r.expect_card();
    r.ok("remove");
    assert_eq!(r.poll(), CardRead::NoCard);
    assert_eq!(
        r.reader.describe(),
        format!("serial:{},115200", r.dir.path().join("kiosk-idcard").display())
    );
}

#[test]
fn idcard_bad_checksum_garbage_and_wrong_length_are_typed_faults_then_recover() {
    let mut r = rig(true);
    r.expect_card();
    for (cmd, fault) in [
        ("checksum", CardFault::Checksum),
        ("garbage", CardFault::Garbled),
        ("wrong-length", CardFault::WrongLength),
    ] {
        r.ok(cmd);
        r.expect_fault(fault);
        assert_eq!(fault.advice(), CardAdvice::PlaceAgain, "{cmd}");
        assert!(fault.prompt().zh.starts_with("请重新放置身份证"), "{cmd}");
        r.ok("clear");
        r.expect_card();
    }
}

#[test]
fn idcard_every_sw3_error_is_reported_with_its_code() {
    let mut r = rig(true);
    for step in ["find", "select", "read"] {
        for code in [0x10u8, 0x11, 0x21, 0x24, 0x31, 0x32, 0x33, 0x40, 0x41, 0x60, 0x66, 0x81] {
            r.ok(&format!("sw3 {code:02x} {step}"));
            r.expect_fault(CardFault::Status(code));
        }
    }
    // SW3 41 (reading the card failed): place the card again; SW3 60 (SAM): broken reader.
    assert_eq!(CardFault::Status(0x41).prompt().zh, "请重新放置身份证，或手动输入");
    assert_eq!(CardFault::Status(0x60).prompt().zh, "读卡器故障，请手动输入");
    // 80 at any step: the card was taken away.
    r.ok("sw3 80 read");
    assert_eq!(r.poll(), CardRead::NoCard);
    r.ok("clear");
    r.expect_card();
}

#[test]
fn idcard_a_silent_or_slow_reader_times_out_and_never_hangs() {
    let mut r = rig(true);
    r.ok("silent");
    let t0 = Instant::now();
    r.expect_fault(CardFault::Silent);
    // One command's timeout, not more: find is the one that went unanswered.
    assert!(
        t0.elapsed() >= Duration::from_millis(u64::from(REPLY_MS)),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(CardFault::Silent.prompt().zh, "读卡器故障，请手动输入");
    r.ok("clear");
    r.expect_card();
    // Slower than the timeout: silent; the late answer must not be taken for the next one's.
    r.ok("slow 600");
    r.expect_fault(CardFault::Silent);
    r.ok("clear");
    std::thread::sleep(Duration::from_millis(800));
    r.expect_card();
    // Slow but within the timeout: read.
    r.ok("slow 50");
    r.expect_card();
}

#[test]
fn idcard_a_reply_cut_mid_frame_is_a_short_frame() {
    let mut r = rig(true);
    r.ok("cut");
    r.expect_fault(CardFault::ShortFrame);
    r.ok("clear");
    r.expect_card();
}

#[test]
fn idcard_an_unplugged_reader_is_a_fault_until_it_is_back() {
    let mut r = rig(true);
    r.expect_card();
    r.ok("unplug");
    r.expect_fault(CardFault::Unplugged);
    // Still gone: the same fault, at once (the device path does not exist).
    r.expect_fault(CardFault::Unplugged);
    assert_eq!(CardFault::Unplugged.prompt().zh, "读卡器故障，请手动输入");
    r.ok("replug");
    r.expect_card();
}

#[test]
fn idcard_other_card_types_are_decoded_only_where_the_spec_documents_them() {
    let mut r = rig(false);
    // 外国人永久居留身份证: layout not documented → plainly unsupported, never a name.
    let foreign = card_file(r.dir.path(), "i.toml", "card_type = \"I\"\n");
    r.ok(&format!("place {}", foreign.display()));
    r.expect_fault(CardFault::UnsupportedCard);
    assert_eq!(
        CardFault::UnsupportedCard.prompt().zh,
        "本机不能读取这种证件，请手动输入"
    );
    // 港澳台居民居住证: the resident layout.
    let permit = r.dir.path().join("j.toml");
    std::fs::write(
        &permit,
        RESIDENT
            .replace("张三", "陈大文")
            .replace("440104198001010016", "810000199001010019")
            .replace("valid_to", "card_type = \"J\"\nvalid_to"),
    )
    .unwrap();
    r.ok(&format!("place {}", permit.display()));
    match r.poll() {
        CardRead::Card(c) => assert_eq!((c.name.as_str(), c.kind), ("陈大文", CardKind::HkMacaoTaiwanPermit)),
        other => panic!("expected the permit, got {other:?}"),
    }
    // A number failing GB 11643 (a mis-read) is never shown.
    let bad = r.dir.path().join("bad.toml");
    std::fs::write(&bad, RESIDENT.replace("440104198001010016", "440104198001010017")).unwrap();
    r.ok(&format!("place {}", bad.display()));
    r.expect_fault(CardFault::Undecodable);
}

#[test]
fn idcard_diag_shows_the_reader_status() {
    let r = rig(false);
    let check = |cfg: &Config| {
        kiosk::wiring::device_checks(cfg)
            .into_iter()
            .find(|c| c.name == "idcard")
            .expect("an idcard check")
    };
    let c = check(&r.cfg);
    assert!(c.ok, "{c:?}");
    assert!(c.detail.contains("kiosk-idcard") && c.detail.contains("ready"), "{c:?}");
    r.ok("silent");
    let c = check(&r.cfg);
    assert!(!c.ok, "{c:?}");
    assert!(
        c.detail.contains("did not answer") && c.detail.contains("kiosk-idcard"),
        "{c:?}"
    );
    r.ok("unplug");
    let c = check(&r.cfg);
    assert!(
        !c.ok && c.fix.as_deref().unwrap_or("").contains("/dev/kiosk-idcard"),
        "{c:?}"
    );
    let mut none = r.cfg.clone();
    none.devices.idcard = "none".parse().unwrap();
    let c = check(&none);
    assert!(c.ok && c.detail.contains("none"), "{c:?}");
}

#[test]
fn idcard_sim_command_runs_on_a_pty_with_a_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("idcard");
    let _sim = common::Proc {
        child: std::process::Command::new(common::kiosk_bin())
            .args(["idcard-sim", "--link"])
            .arg(&link)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("idcard-sim.log")).unwrap())
            .spawn()
            .unwrap(),
        name: "idcard-sim",
    };
    let control = PathBuf::from(format!("{}.control", link.display()));
    common::wait_for("the idcard-sim pty and socket", Duration::from_secs(30), || {
        link.exists() && control.exists()
    });
    let mut cfg = Config::builtin();
    cfg.devices.idcard = format!("serial:{}", link.display()).parse().unwrap();
    cfg.idcard.reply_timeout_ms = REPLY_MS;
    let mut reader = kiosk::idcard::open(&cfg).unwrap();
    assert_eq!(reader.poll(), CardRead::NoCard);
    let s = std::os::unix::net::UnixStream::connect(&control).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut w = s.try_clone().unwrap();
    let mut lines = BufReader::new(s).lines();
    writeln!(w, "place").unwrap();
    assert!(lines.next().unwrap().unwrap().starts_with("ok"));
    assert!(matches!(reader.poll(), CardRead::Card(c) if c.name == "张三"));
    writeln!(w, "sw3 41").unwrap();
    assert!(lines.next().unwrap().unwrap().starts_with("ok"));
    assert_eq!(reader.poll(), CardRead::Fault(CardFault::Status(0x41)));
    writeln!(w, "bogus").unwrap();
    assert!(lines.next().unwrap().unwrap().starts_with("error: unknown command"));
}

#[test]
fn idcard_sim_refuses_a_bad_card_file_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("long.toml");
    std::fs::write(&bad, RESIDENT.replace("张三", "一二三四五六七八九十一二三四五六")).unwrap();
    let mut a = SimArgs::new(&dir.path().join("l"));
    a.card = Some(bad.clone());
    let e = idcard_sim::start(&a).err().expect("refused").to_string();
    assert!(e.contains("long.toml") && e.contains("name"), "{e}");
}
