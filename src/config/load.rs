//! Loading: the built-in defaults, finding the file (`--config`, `$KIOSK_CONFIG`,
//! `/etc/kiosk/kiosk.toml`), merging it onto the defaults, and errors that name the file,
//! the line and the field.

use super::*;

/// A config problem, naming the file, the line (when known), the field and what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}. Fix: check the path given by --config or ${ENV_CONFIG}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}{}: {field}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        field: String,
        message: String,
    },
}

impl ConfigError {
    pub(super) fn invalid(origin: &Origin, field: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            path: origin.path.clone(),
            line: origin.text.as_deref().and_then(|t| find_line(t, field)),
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Where a config came from: the file's path and text (for line numbers), or the defaults.
pub(super) struct Origin {
    pub(super) path: PathBuf,
    pub(super) text: Option<String>,
}

impl Config {
    /// The built-in defaults: they run with no hardware at all.
    pub fn builtin() -> Config {
        let data_dir = default_data_dir();
        Config {
            kiosk: KioskSection {
                id: "KIOSK-DEV-0001".into(),
                site_zh: "开发测试点".into(),
                site_en: "Development site".into(),
                data_dir: data_dir.clone(),
                language: Language::Zh,
                inactivity_timeout_s: 60,
                still_there_s: 30,
                done_clear_s: 20,
                admin_idle_s: 60,
                setup_code_valid_min: 30,
                retake_limit: 3,
                reject_limit: 2,
                posing_fail_limit: 3,
                posing_time_limit_s: 120,
                decision_deadline_s: 120,
                public_receipt_url: None,
                home_region: None,
                decision_notifier: None,
                help_desk_zh: None,
                help_desk_en: None,
                demo: true,
            },
            devices: DevicesSection {
                camera: "replay:builtin@15".parse().expect("valid default"),
                printer: format!("pdf:{}", data_dir.join("receipts").display())
                    .parse()
                    .expect("valid default"),
                review: "embedded".parse().expect("valid default"),
                review_key_file: None,
                idcard: "none".parse().expect("valid default"),
            },
            camera: CameraSection {
                width: 1280,
                height: 720,
                fps: 30,
                lock_exposure: false,
                lock_white_balance: false,
                mirror_preview: true,
            },
            printer: PrinterSection {
                cut_command: "1D 56 42 00".into(),
                strip_rows: 24,
                job_timeout_s: 60,
                status_timeout_ms: 500,
                dither: Dither::FloydSteinberg,
                threshold: 128,
                gamma: 1.8,
                use_asb: true,
                flow_control: FlowControl::Software,
                buffer_bytes: 4096,
                roll_length_mm: 50_000,
                qr_content: QrContent::Url,
                idle_poll_ms: 2000,
                noise_log_interval_ms: 60_000,
                max_queued_replies: 64,
                english_labels: false,
            },
            idcard: IdCardSection {
                reply_timeout_ms: 1000,
                poll_interval_ms: 500,
                log_interval_s: 60,
            },
            audio: AudioSection {
                mute: false,
                volume: 80,
            },
            metrics: MetricsSection { listen: None },
            console: ConsoleSection {
                url: None,
                key_file: None,
                heartbeat_s: 30,
                timeout_ms: 3000,
                retry_s: 5,
                alert_wait_ms: 2000,
                queue_max: 1000,
            },
            documents: builtin_documents().into_iter().map(|d| (d.id, d)).collect(),
            regions: builtin_regions(),
        }
    }

    /// Resolves the config path: `--config`, else `$KIOSK_CONFIG`, else `/etc/kiosk/kiosk.toml`
    /// if it exists, else the built-in defaults (`None`).
    pub fn locate(flag: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = flag {
            return Some(p.to_path_buf());
        }
        if let Some(p) = std::env::var_os(ENV_CONFIG).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        let sys = Path::new(SYSTEM_CONFIG);
        sys.exists().then(|| sys.to_path_buf())
    }

    /// Loads the config the way every subcommand does.
    pub fn load(flag: Option<&Path>) -> Result<Config, ConfigError> {
        match Config::locate(flag) {
            Some(path) => Config::from_file(&path),
            None => {
                let c = Config::builtin();
                c.validate(&Origin {
                    path: "<built-in defaults>".into(),
                    text: None,
                })?;
                Ok(c)
            }
        }
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml_str(&text, path)
    }

    /// Parses `text` (named `path` in errors) and merges it onto the defaults.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let origin = Origin {
            path: path.to_path_buf(),
            text: Some(text.to_string()),
        };
        let user: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: e.span().map(|s| line_of(text, s.start)),
            field: "syntax".into(),
            message: e.message().trim().to_string(),
        })?;
        let mut merged = toml::Table::try_from(Config::builtin()).expect("defaults serialise");
        // Regions in the file replace the built-in list as a whole when `[regions]` is
        // given with `replace_builtin = true`; otherwise they add to / override it.
        let mut user = user;
        if let Some(toml::Value::Table(regions)) = user.get_mut("regions") {
            match regions.remove("replace_builtin") {
                Some(toml::Value::Boolean(true)) => {
                    merged.insert("regions".into(), toml::Value::Table(toml::Table::new()));
                }
                Some(toml::Value::Boolean(false)) | None => {}
                // A typo such as `replace_builtin = "yes"` must not silently keep the
                // built-in regions the operator meant to drop.
                Some(other) => {
                    return Err(ConfigError::invalid(
                        &origin,
                        "regions.replace_builtin",
                        format!(
                            "must be true or false, found {} `{other}` (true: the file's regions replace the built-in list)",
                            other.type_str()
                        ),
                    ));
                }
            }
        }
        // The default printer writes PDFs under the data directory: follow a data_dir
        // the file moves, unless the file names its own printer.
        let sets_printer = user.get("devices").and_then(|d| d.get("printer")).is_some();
        // Demo mode is the built-in defaults' alone: a file turns it on only by saying so.
        let sets_demo = user.get("kiosk").and_then(|k| k.get("demo")).is_some();
        deep_merge(&mut merged, user);
        let de = toml::Value::Table(merged);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let message = e.into_inner().message().trim().to_string();
            ConfigError::invalid(&origin, &field, message)
        })?;
        let mut config = config;
        if !sets_demo {
            config.kiosk.demo = false;
        }
        if !sets_printer {
            let spec = format!("pdf:{}", config.kiosk.data_dir.join("receipts").display());
            config.devices.printer = spec
                .parse()
                .map_err(|e: DeviceError| ConfigError::invalid(&origin, "kiosk.data_dir", e.to_string()))?;
        }
        config.validate(&origin)?;
        Ok(config)
    }

    /// The config as commented-free TOML (for `diag --print-config`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

pub(super) fn deep_merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => deep_merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// The default data directory: `/var/lib/kiosk` when writable (the installed kiosk),
/// else `$XDG_STATE_HOME/kiosk` or `~/.local/state/kiosk` (a developer's machine).
pub fn default_data_dir() -> PathBuf {
    let sys = Path::new("/var/lib/kiosk");
    if sys.is_dir() && nix::unistd::access(sys, nix::unistd::AccessFlags::W_OK).is_ok() {
        return sys.to_path_buf();
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("kiosk");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/kiosk"),
        None => std::env::temp_dir().join("kiosk"),
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

/// Finds the line where the dotted `field` path (as serde reports it) is written in
/// `text`, matching the longest prefix: a table header `[a.b]`, `[a."b"]`, or a key.
fn find_line(text: &str, field: &str) -> Option<usize> {
    let want: Vec<String> = field
        .split('.')
        .map(|s| s.split('[').next().unwrap_or(s).trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let norm = |s: &str| -> Vec<String> {
        s.split('.')
            .map(|p| p.trim().trim_matches('"').trim_matches('\'').to_string())
            .collect()
    };
    let mut table: Vec<String> = vec![];
    let mut best: Option<(usize, usize)> = None; // (matched segments, line)
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let path = if let Some(h) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            table = norm(h);
            table.clone()
        } else if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            table = norm(h);
            table.clone()
        } else if let Some((k, _)) = line.split_once('=') {
            let mut p = table.clone();
            p.extend(norm(k));
            p
        } else {
            continue;
        };
        let matched = path.iter().zip(&want).take_while(|(a, b)| a == b).count();
        if matched == path.len() && matched > 0 && best.is_none_or(|(m, _)| matched > m) {
            best = Some((matched, i + 1));
        }
    }
    best.map(|(_, l)| l)
}
