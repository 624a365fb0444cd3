//! TLS to the PostgreSQL server (#17 scale-out: the server is on another machine, and the
//! password exchange and personal data cross the network).
//!
//! * rustls with its ring provider, the same rustls 0.23 and provider `ureq` uses, through
//!   the `tokio-postgres-rustls` adapter. One [`Connector`] per database setting serves the
//!   pool and the console's listening connection alike.
//! * The URL's `sslmode` decides whether TLS is used (tokio-postgres): `disable` plain,
//!   `prefer` (the default) TLS when the server offers it, `require` TLS or fail.
//! * Whenever TLS is used the server's certificate is verified, chain and host name (the
//!   URL's host, a name or an IP address): against the CA of `--db-ca-file` when given (a
//!   private server's own CA, the usual case), else against the Mozilla roots compiled in
//!   (`webpki-roots`). Nothing accepts an unverified certificate.

use super::DbError;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the pool and the listener connect with: a cheap clone.
pub type Connector = tokio_postgres_rustls::MakeRustlsConnect;

/// Where the trust anchors come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The Mozilla roots compiled in (`webpki-roots`).
    SystemRoots,
    /// The certificates in this PEM file (`--db-ca-file`).
    CaFile(PathBuf),
}

/// The TLS connector trusting `trust`'s anchors. `db` names the database in the error.
pub fn connector(trust: &Trust, db: &str) -> Result<Connector, DbError> {
    let mut roots = RootCertStore::empty();
    match trust {
        Trust::SystemRoots => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Trust::CaFile(path) => {
            for cert in read_ca_file(path, db)? {
                roots
                    .add(cert)
                    .map_err(|e| ca_error(path, db, format!("not a usable CA certificate ({e})")))?;
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Config {
            db: db.to_string(),
            message: format!("cannot set up TLS ({e})"),
            fix: "report this: the TLS library refused its own defaults".into(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::new(config))
}

fn ca_error(path: &Path, db: &str, message: String) -> DbError {
    DbError::Config {
        db: db.to_string(),
        message: format!("--db-ca-file {}: {message}", path.display()),
        fix:
            "give the PEM file (-----BEGIN CERTIFICATE-----) of the CA that signed the PostgreSQL server's certificate"
                .into(),
    }
}

/// The PEM certificates in `path`: at least one.
fn read_ca_file(path: &Path, db: &str) -> Result<Vec<CertificateDer<'static>>, DbError> {
    let bytes = std::fs::read(path).map_err(|e| ca_error(path, db, format!("cannot read it ({e})")))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ca_error(path, db, format!("not a PEM file ({e})")))?;
    if certs.is_empty() {
        return Err(ca_error(path, db, "holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// A start-up connection failure caused by TLS, explained (`None`: not a TLS failure).
pub(super) fn explain(e: &tokio_postgres::Error) -> Option<(String, String)> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        // An io::Error wrapping rustls's error does not give it as its source.
        let s = match s.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => inner as &(dyn std::error::Error + 'static),
            None => s,
        };
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            return Some(match r {
                rustls::Error::InvalidCertificate(why) => (
                    format!(
                        "the server's TLS certificate was not trusted: {} ({why:?})",
                        untrusted(why)
                    ),
                    "give --db-ca-file with the CA certificate (PEM) that signed the server's certificate, \
                     and make the URL's host one of the names (or IP addresses) in that certificate \
                     (Debian's PostgreSQL starts with a self-signed one: give it a certificate from your CA, \
                     or on a trusted private link only, add sslmode=disable to the URL)"
                        .into(),
                ),
                other => (
                    format!("the TLS handshake with the server failed ({other})"),
                    "check the server's ssl settings (ssl_cert_file, ssl_min_protocol_version) and its log".into(),
                ),
            });
        }
        if s.to_string().contains("server does not support TLS") {
            return Some((
                "the URL says sslmode=require but the server does not offer TLS".into(),
                "turn TLS on in the server (ssl = on, ssl_cert_file, ssl_key_file in postgresql.conf), \
                 or on a trusted network only, drop sslmode=require from the URL"
                    .into(),
            ));
        }
        source = s.source();
    }
    None
}

/// Why a certificate was refused, in words.
fn untrusted(why: &rustls::CertificateError) -> &'static str {
    use rustls::CertificateError as C;
    match why {
        C::UnknownIssuer => "it is not signed by a CA this client trusts",
        C::NotValidForName | C::NotValidForNameContext { .. } => "it is not issued for the URL's host",
        C::Expired | C::ExpiredContext { .. } => "it has expired",
        C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet (check the clocks)",
        C::Revoked => "it is revoked",
        _ => "it failed verification",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ca_file_is_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = connector(&Trust::CaFile(missing.clone()), "postgres://u@h:5432/d")
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains(&missing.display().to_string()) && e.contains("cannot read"),
            "{e}"
        );
        assert!(e.contains("Fix:") && e.contains("CA"), "{e}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let e = connector(&Trust::CaFile(junk), "d").err().unwrap().to_string();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
        let e = connector(&Trust::CaFile(bad), "d").err().unwrap().to_string();
        assert!(
            e.contains("not a usable CA certificate") || e.contains("not a PEM file"),
            "{e}"
        );
        assert!(connector(&Trust::SystemRoots, "d").is_ok());
    }
}
