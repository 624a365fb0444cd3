//! libpq's password file, so a PostgreSQL URL may leave its password out (and so out of
//! every file but this one): `$PGPASSFILE`, else `~/.pgpass`, one
//! `host:port:database:user:password` per line, `*` matching anything, `\:` and `\\`
//! escaping, the first matching line winning — the format and lookup order of libpq's
//! documentation ("The Password File"). Like libpq, a file others can read is not used;
//! unlike libpq, which only warns, that is an error naming the file and the fix.

use super::DbError;
use std::path::{Path, PathBuf};
use tokio_postgres::config::Host;

/// The password file to read: `$PGPASSFILE`, else `$HOME/.pgpass`.
pub(super) fn location() -> Option<PathBuf> {
    match std::env::var_os("PGPASSFILE") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")),
    }
}

/// The password for `config` from the file at `path`: none when the file is missing or
/// has no matching line.
pub(super) fn lookup(config: &tokio_postgres::Config, path: &Path) -> Result<Option<String>, DbError> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(None);
    };
    let file_err = |message: String, fix: String| DbError::Config {
        db: path.display().to_string(),
        message,
        fix,
    };
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(file_err(
            format!("the password file is readable by other users (mode {:o})", mode & 0o777),
            format!("chmod 600 {}", path.display()),
        ));
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        file_err(
            format!("cannot read the password file: {e}"),
            "make it readable by the service's user, or unset PGPASSFILE".into(),
        )
    })?);
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // libpq names the default socket directory "localhost".
        Some(Host::Unix(_)) | None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user().unwrap_or("");
    let db = config.get_dbname().unwrap_or(user);
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split(line);
        let [h, p, d, u, password] = fields.as_slice() else {
            continue;
        };
        let matches = |field: &str, value: &str| field == "*" || field == value;
        if matches(h, &host) && matches(p, &port) && matches(d, db) && matches(u, user) {
            return Ok(Some(password.clone()));
        }
    }
    Ok(None)
}

/// A line's fields: split on `:` not escaped, `\x` read as `x`.
fn split(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), out.last_mut()) {
                    last.push(next);
                }
            }
            // The password is the rest of the line, colons and all.
            ':' if out.len() < 5 => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::str::FromStr;

    fn file(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let p = dir.join("pgpass");
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn cfg(url: &str) -> tokio_postgres::Config {
        tokio_postgres::Config::from_str(url).unwrap()
    }

    #[test]
    fn the_first_matching_line_wins_with_wildcards_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(
            dir.path(),
            "# comment\n\
             db.example:5432:review:rev:first\n\
             db.example:*:console:con:p\\:w\\\\x\n\
             *:*:*:rev:fallback:with:colons\n",
            0o600,
        );
        let get = |url: &str| lookup(&cfg(url), &p).unwrap();
        assert_eq!(get("postgres://rev@db.example/review").as_deref(), Some("first"));
        assert_eq!(get("postgres://con@db.example:6543/console").as_deref(), Some("p:w\\x"));
        assert_eq!(
            get("postgres://rev@other:5433/x").as_deref(),
            Some("fallback:with:colons")
        );
        assert_eq!(get("postgres://nobody@db.example/review"), None);
        // The database defaults to the user's name, as in libpq.
        let p2 = file(dir.path(), "h:5432:rev:rev:byuser\n", 0o600);
        assert_eq!(
            lookup(&cfg("postgres://rev@h"), &p2).unwrap().as_deref(),
            Some("byuser")
        );
    }

    #[test]
    fn a_file_others_can_read_is_an_error_naming_it_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(dir.path(), "*:*:*:*:secret\n", 0o644);
        let e = lookup(&cfg("postgres://u@h/d"), &p).unwrap_err().to_string();
        assert!(
            e.contains("chmod 600") && e.contains("pgpass") && !e.contains("secret"),
            "{e}"
        );
        assert_eq!(
            lookup(&cfg("postgres://u@h/d"), &dir.path().join("none")).unwrap(),
            None
        );
    }
}
