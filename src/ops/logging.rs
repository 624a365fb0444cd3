//! Logging to stderr (journald picks it up under systemd), `RUST_LOG` respected.
//!
//! Call sites never log personal data in clear (they use the `mask_*` helpers). As a
//! second line of defence this logger redacts anything shaped like an 18-character
//! resident ID number or an 11-digit mobile number before it is written.

use log::{Log, Metadata, Record};

struct Redacting {
    inner: env_logger::Logger,
}

impl Log for Redacting {
    fn enabled(&self, m: &Metadata) -> bool {
        self.inner.enabled(m)
    }
    fn log(&self, r: &Record) {
        if !self.inner.matches(r) {
            return;
        }
        let msg = redact(&r.args().to_string());
        self.inner.log(
            &Record::builder()
                .args(format_args!("{msg}"))
                .level(r.level())
                .target(r.target())
                .module_path(r.module_path())
                .file(r.file())
                .line(r.line())
                .build(),
        );
    }
    fn flush(&self) {
        self.inner.flush()
    }
}

/// Installs the logger once (later calls are no-ops). Default level `info`.
pub fn init() {
    let inner = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .build();
    let max = inner.filter();
    if log::set_boxed_logger(Box::new(Redacting { inner })).is_ok() {
        log::set_max_level(max);
    }
}

/// Replaces ID-number-like runs (17 digits + digit/X) and mobile-like runs (11 digits
/// starting with 1) by their masked forms.
pub fn redact(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            let digits = j - i;
            let x_end = digits == 17 && j < chars.len() && matches!(chars[j], 'X' | 'x');
            let run_end = if x_end { j + 1 } else { j };
            let bounded = run_end == chars.len() || !chars[run_end].is_ascii_alphanumeric();
            let run: String = chars[i..run_end].iter().collect();
            if bounded && (digits == 18 || x_end) {
                out.push_str(&crate::session::details::mask_id_number(&run));
            } else if bounded && digits == 11 && chars[i] == '1' {
                out.push_str(&crate::session::details::mask_mobile(&run));
            } else {
                out.push_str(&run);
            }
            i = run_end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_id_and_mobile_shapes_only() {
        assert_eq!(redact("id=44010619900101123X ok"), "id=4401**********123X ok");
        assert_eq!(redact("id 440106199001011234."), "id 4401**********1234.");
        assert_eq!(redact("tel 13800138000"), "tel 138****8000");
        // Receipt numbers are 18 digits too, but they are not personal: they sit inside
        // `receipt=` fields; still, the redactor masks any bare 18-digit run by design.
        assert_eq!(redact("took 1234 ms, 3 frames"), "took 1234 ms, 3 frames");
        assert_eq!(redact("abc44010619900101123X"), "abc44010619900101123X");
        assert_eq!(redact("state=posing"), "state=posing");
    }
}
