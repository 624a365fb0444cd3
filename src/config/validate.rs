//! Validation of a merged config: every rule names the field and what is allowed, so
//! the error points at the line to fix.

use super::load::Origin;
use super::*;

/// Longest receipt validity a config may set: ten years (receipts are valid for months).
pub const MAX_VALIDITY_DAYS: u32 = 3653;

impl Config {
    /// Checks what serde cannot: consistency between sections.
    pub(super) fn validate(&self, o: &Origin) -> Result<(), ConfigError> {
        let k = &self.kiosk;
        if k.id.is_empty()
            || !k
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ConfigError::invalid(
                o,
                "kiosk.id",
                "must be non-empty ASCII letters, digits, - or _",
            ));
        }
        if k.inactivity_timeout_s < 15 {
            return Err(ConfigError::invalid(
                o,
                "kiosk.inactivity_timeout_s",
                "must be at least 15 seconds",
            ));
        }
        if k.still_there_s == 0 || k.still_there_s > 60 {
            return Err(ConfigError::invalid(o, "kiosk.still_there_s", "must be 1–60 seconds"));
        }
        if k.admin_idle_s == 0 || k.admin_idle_s > 3600 {
            return Err(ConfigError::invalid(o, "kiosk.admin_idle_s", "must be 1–3600 seconds"));
        }
        if k.setup_code_valid_min == 0 || k.setup_code_valid_min > 1440 {
            return Err(ConfigError::invalid(
                o,
                "kiosk.setup_code_valid_min",
                "must be 1–1440 minutes",
            ));
        }
        if k.done_clear_s == 0 || k.done_clear_s > 300 {
            return Err(ConfigError::invalid(o, "kiosk.done_clear_s", "must be 1–300 seconds"));
        }
        if let Some(home) = &k.home_region {
            if !self.regions.contains_key(home) {
                return Err(ConfigError::invalid(
                    o,
                    "kiosk.home_region",
                    format!("{home} is not one of the configured [regions]"),
                ));
            }
        }
        if k.posing_fail_limit == 0 {
            return Err(ConfigError::invalid(o, "kiosk.posing_fail_limit", "must be at least 1"));
        }
        if k.posing_time_limit_s < 10 {
            return Err(ConfigError::invalid(
                o,
                "kiosk.posing_time_limit_s",
                "must be at least 10 seconds",
            ));
        }
        if k.decision_deadline_s == 0 {
            return Err(ConfigError::invalid(
                o,
                "kiosk.decision_deadline_s",
                "must be at least 1 second",
            ));
        }
        if let Some(url) = &self.console.url {
            if !console_url_ok(url) {
                return Err(ConfigError::invalid(
                    o,
                    "console.url",
                    "must be https://HOST[:PORT] (http:// only on 127.0.0.1, ::1 or localhost)",
                ));
            }
            if self.console.key_file.is_none() {
                return Err(ConfigError::invalid(
                    o,
                    "console.key_file",
                    "is needed with console.url: the file with this kiosk's console key",
                ));
            }
        }
        let c = &self.console;
        for (field, v) in [
            ("console.heartbeat_s", c.heartbeat_s),
            ("console.timeout_ms", c.timeout_ms),
            ("console.retry_s", c.retry_s),
            ("console.alert_wait_ms", c.alert_wait_ms),
            ("console.queue_max", c.queue_max),
        ] {
            if v == 0 {
                return Err(ConfigError::invalid(o, field, "must be at least 1"));
            }
        }
        if self.audio.volume > 100 {
            return Err(ConfigError::invalid(o, "audio.volume", "must be 0–100"));
        }
        if matches!(self.devices.review.device(), Device::Http { .. }) && self.devices.review_key_file.is_none() {
            return Err(ConfigError::invalid(
                o,
                "devices.review_key_file",
                "an http(s) review service needs the kiosk's key file (e.g. /var/lib/kiosk/review.key)",
            ));
        }
        let ic = &self.idcard;
        if !(50..=10_000).contains(&ic.reply_timeout_ms) {
            return Err(ConfigError::invalid(
                o,
                "idcard.reply_timeout_ms",
                "must be 50–10000 ms",
            ));
        }
        if !(100..=10_000).contains(&ic.poll_interval_ms) {
            return Err(ConfigError::invalid(
                o,
                "idcard.poll_interval_ms",
                "must be 100–10000 ms",
            ));
        }
        if ic.log_interval_s > 3600 {
            return Err(ConfigError::invalid(
                o,
                "idcard.log_interval_s",
                "must be 0–3600 seconds",
            ));
        }
        parse_hex_bytes(&self.printer.cut_command).map_err(|m| ConfigError::invalid(o, "printer.cut_command", m))?;
        if !(1..=255).contains(&self.printer.strip_rows) {
            return Err(ConfigError::invalid(o, "printer.strip_rows", "must be 1–255"));
        }
        if self.printer.idle_poll_ms != 0 && self.printer.idle_poll_ms < 100 {
            return Err(ConfigError::invalid(
                o,
                "printer.idle_poll_ms",
                "must be 0 (off) or at least 100 ms",
            ));
        }
        if self.printer.noise_log_interval_ms < 1000 {
            return Err(ConfigError::invalid(
                o,
                "printer.noise_log_interval_ms",
                "must be at least 1000 ms (one log line a second at most)",
            ));
        }
        if !(8..=65_536).contains(&self.printer.max_queued_replies) {
            return Err(ConfigError::invalid(o, "printer.max_queued_replies", "must be 8–65536"));
        }
        if !(self.printer.gamma > 0.1 && self.printer.gamma < 5.0) {
            return Err(ConfigError::invalid(o, "printer.gamma", "must be between 0.1 and 5"));
        }
        for (id, d) in &self.documents {
            let f = |name: &str| format!("documents.{id}.{name}");
            if d.id != *id {
                return Err(ConfigError::invalid(
                    o,
                    &f("id"),
                    format!("must be `{id}` (the table's key)"),
                ));
            }
            self.validate_document(o, d, &f)?;
        }
        for id in DocumentId::ALL {
            if !self.documents.contains_key(&id) {
                return Err(ConfigError::invalid(o, &format!("documents.{id}"), "profile missing"));
            }
        }
        // Regions in code order: a province (`440000`) comes before its cities (`4401xx`),
        // so a bad province override is reported at the province, not at each city.
        for (code, r) in &self.regions {
            for doc in r.overrides.keys() {
                let field = format!("regions.{code}.overrides.{doc}");
                // What applies in this region: its province's overrides, then its own.
                let chain = self.override_chain(*doc, Some(code));
                let stacked = match code.province() {
                    Some(p) if chain.len() > 1 => format!(" (with province {p}'s overrides.{doc} applied first)"),
                    _ => String::new(),
                };
                let spec = self
                    .spec_with(*doc, &chain)
                    .map_err(|m| ConfigError::invalid(o, &field, format!("{m}{stacked}")))?;
                self.validate_document(o, &spec, &|n| format!("{field}.{n}"))
                    .map_err(|e| match e {
                        ConfigError::Invalid {
                            path,
                            line,
                            field,
                            message,
                        } => ConfigError::Invalid {
                            path,
                            line,
                            field,
                            message: format!("{message}{stacked}"),
                        },
                        e => e,
                    })?;
            }
            for (doc, days) in &r.validity_days {
                if !(1..=MAX_VALIDITY_DAYS).contains(days) {
                    return Err(ConfigError::invalid(
                        o,
                        &format!("regions.{code}.validity_days.{doc}"),
                        format!("must be 1–{MAX_VALIDITY_DAYS} days (ten years)"),
                    ));
                }
            }
            if r.documents.is_empty() {
                return Err(ConfigError::invalid(
                    o,
                    &format!("regions.{code}.documents"),
                    "list at least one document",
                ));
            }
            for (doc, layout) in &r.receipt {
                let field = format!("regions.{code}.receipt.{doc}");
                if layout
                    .title
                    .as_ref()
                    .is_some_and(|t| t.trim().is_empty() || t.chars().count() > 64)
                {
                    return Err(ConfigError::invalid(
                        o,
                        &format!("{field}.title"),
                        "must be 1–64 characters (leave it out for the default title)",
                    ));
                }
                if layout
                    .notes
                    .as_ref()
                    .is_some_and(|n| n.is_empty() || n.iter().any(|l| l.trim().is_empty()))
                {
                    return Err(ConfigError::invalid(
                        o,
                        &format!("{field}.notes"),
                        "list at least one non-empty line (leave it out for the default notes)",
                    ));
                }
            }
        }
        // Last, so a file's other mistakes are reported first.
        if self.devices.review.device() == &Device::Embedded && !k.demo {
            return Err(ConfigError::invalid(
                o,
                "devices.review",
                "the embedded review centre approves every photo by itself and keeps names, ID numbers \
                 and photos on this kiosk: it is for demonstrations only. Fix: set review = \"https://…\" \
                 and review_key_file for a real review centre, or add `demo = true` under [kiosk] for a demonstration",
            ));
        }
        Ok(())
    }

    fn validate_document(&self, o: &Origin, d: &DocumentSpec, f: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
        if !(100..=2000).contains(&d.width) || !(100..=2000).contains(&d.height) {
            return Err(ConfigError::invalid(
                o,
                &f("width"),
                "width and height must be 100–2000 px",
            ));
        }
        if !(72..=1200).contains(&d.dpi) {
            return Err(ConfigError::invalid(o, &f("dpi"), "must be 72–1200"));
        }
        if d.backgrounds.is_empty() {
            return Err(ConfigError::invalid(
                o,
                &f("backgrounds"),
                "list at least one colour, e.g. [\"#FFFFFF\"]",
            ));
        }
        if !(1..=100).contains(&d.jpeg_quality_min) {
            return Err(ConfigError::invalid(o, &f("jpeg_quality_min"), "must be 1–100"));
        }
        if d.file_kb.min == 0 {
            return Err(ConfigError::invalid(o, &f("file_kb"), "minimum must be at least 1 KB"));
        }
        if !(1..=MAX_VALIDITY_DAYS).contains(&d.validity_days) {
            return Err(ConfigError::invalid(
                o,
                &f("validity_days"),
                format!("must be 1–{MAX_VALIDITY_DAYS} days (ten years)"),
            ));
        }
        if let Some((name, allowed)) = d.limits.checks.invalid() {
            return Err(ConfigError::invalid(o, &f(&format!("limits.checks.{name}")), allowed));
        }
        if d.fields.contains(&Field::Mobile) && self.kiosk.decision_notifier.is_none() {
            return Err(ConfigError::invalid(
                o,
                &f("fields"),
                "`mobile` is collected only where kiosk.decision_notifier is configured",
            ));
        }
        Ok(())
    }
}

/// A console URL is `https://`, or `http://` on loopback only: alerts and the kiosk's key
/// never cross the hall network in clear.
pub fn console_url_ok(url: &str) -> bool {
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty();
    }
    url.strip_prefix("http://").is_some_and(super::device::is_loopback_host)
}
