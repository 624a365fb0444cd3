//! The one device-string grammar, shared by the config file and every CLI flag.
//!
//! ```text
//! camera:  v4l:INDEX | v4l:PATH | replay:DIR[@FPS]        (DIR `builtin` = frames embedded in the binary)
//! printer: serial:PATH[,BAUD[,58|80]] | pdf:DIR | none
//! idcard:  serial:PATH[,BAUD] | none                     (the ID-card reader has no paper)
//! review:  embedded | http://HOST[:PORT][/PATH] | https://…
//! ```
//! Parsing happens once, in [`parse_device`]; the role-specific types below only
//! accept the kinds that make sense for their role, so a printer can never be
//! configured as `v4l:0`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Default replay rate when `@FPS` is omitted.
pub const DEFAULT_REPLAY_FPS: f64 = 15.0;
/// Default serial speed when `,BAUD` is omitted.
pub const DEFAULT_BAUD: u32 = 115_200;

#[derive(Debug, Clone, PartialEq)]
pub enum Device {
    V4l(V4lId),
    Replay {
        dir: PathBuf,
        fps: f64,
    },
    Serial {
        path: PathBuf,
        baud: u32,
        paper: PaperWidth,
    },
    Pdf {
        dir: PathBuf,
    },
    None,
    Embedded,
    Http {
        url: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum V4lId {
    Index(u32),
    Path(PathBuf),
}

/// Thermal paper width; decides the raster width in dots (203 dpi heads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PaperWidth {
    #[serde(rename = "58")]
    Mm58,
    #[serde(rename = "80")]
    Mm80,
}

impl PaperWidth {
    /// Printable width in dots at 8 dots/mm (escpos.md §5).
    pub fn dots(self) -> u32 {
        match self {
            PaperWidth::Mm58 => 384,
            PaperWidth::Mm80 => 576,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid device string `{input}`: {reason}. Allowed: {allowed}")]
pub struct DeviceError {
    pub input: String,
    pub reason: String,
    pub allowed: &'static str,
}

const ALLOWED_ALL: &str =
    "v4l:INDEX|PATH, replay:DIR[@FPS], serial:PATH[,BAUD[,58|80]], pdf:DIR, none, embedded, http(s)://URL";
pub const ALLOWED_CAMERA: &str = "v4l:INDEX, v4l:PATH, replay:DIR[@FPS] (DIR may be `builtin`)";
pub const ALLOWED_PRINTER: &str = "serial:PATH[,BAUD[,58|80]], pdf:DIR, none";
pub const ALLOWED_REVIEW: &str = "embedded, http://… or https://… URL";
pub const ALLOWED_IDCARD: &str = "serial:PATH[,BAUD], none";

fn err(input: &str, reason: impl Into<String>, allowed: &'static str) -> DeviceError {
    DeviceError {
        input: input.to_string(),
        reason: reason.into(),
        allowed,
    }
}

/// Parses any device string. This is the only parser of the grammar.
pub fn parse_device(input: &str) -> Result<Device, DeviceError> {
    let s = input.trim();
    if s == "none" {
        return Ok(Device::None);
    }
    if s == "embedded" {
        return Ok(Device::Embedded);
    }
    if s.starts_with("http://") || s.starts_with("https://") {
        let rest = s.split_once("://").map(|(_, r)| r).unwrap_or("");
        if rest.is_empty() || rest.starts_with('/') {
            return Err(err(input, "the URL has no host", ALLOWED_ALL));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(err(input, "the URL contains white space", ALLOWED_ALL));
        }
        if s.starts_with("http://") && !is_loopback_host(rest) {
            return Err(err(
                input,
                "plain http:// would send the kiosk's key, names, ID numbers and photos unencrypted over \
                 the hall network. Fix: use https://, or http:// only to 127.0.0.1/localhost (a TLS proxy on this machine)",
                ALLOWED_ALL,
            ));
        }
        return Ok(Device::Http {
            url: s.trim_end_matches('/').to_string(),
        });
    }
    let Some((kind, arg)) = s.split_once(':') else {
        return Err(err(input, "missing `KIND:` prefix", ALLOWED_ALL));
    };
    if arg.is_empty() {
        return Err(err(input, format!("`{kind}:` needs an argument"), ALLOWED_ALL));
    }
    match kind {
        "v4l" => {
            if let Ok(i) = arg.parse::<u32>() {
                Ok(Device::V4l(V4lId::Index(i)))
            } else if arg.starts_with('/') {
                Ok(Device::V4l(V4lId::Path(PathBuf::from(arg))))
            } else {
                Err(err(
                    input,
                    "v4l needs a device index (0) or an absolute path (/dev/kiosk-camera)",
                    ALLOWED_CAMERA,
                ))
            }
        }
        "replay" => {
            let (dir, fps) = match arg.rsplit_once('@') {
                Some((d, f)) => {
                    let fps: f64 = f
                        .parse()
                        .map_err(|_| err(input, format!("`{f}` is not a frame rate"), ALLOWED_CAMERA))?;
                    if !(fps > 0.0 && fps <= 240.0) {
                        return Err(err(input, "frame rate must be in (0, 240]", ALLOWED_CAMERA));
                    }
                    (d, fps)
                }
                None => (arg, DEFAULT_REPLAY_FPS),
            };
            if dir.is_empty() {
                return Err(err(input, "replay needs a directory", ALLOWED_CAMERA));
            }
            Ok(Device::Replay {
                dir: PathBuf::from(dir),
                fps,
            })
        }
        "serial" => {
            let mut parts = arg.split(',');
            let path = parts.next().unwrap_or_default();
            if path.is_empty() {
                return Err(err(input, "serial needs a device path", ALLOWED_PRINTER));
            }
            let baud = match parts.next() {
                Some(b) => {
                    let baud: u32 = b
                        .parse()
                        .map_err(|_| err(input, format!("`{b}` is not a baud rate"), ALLOWED_PRINTER))?;
                    if !(300..=4_000_000).contains(&baud) {
                        return Err(err(input, "baud must be between 300 and 4000000", ALLOWED_PRINTER));
                    }
                    baud
                }
                None => DEFAULT_BAUD,
            };
            let paper = match parts.next() {
                None | Some("80") => PaperWidth::Mm80,
                Some("58") => PaperWidth::Mm58,
                Some(w) => {
                    return Err(err(
                        input,
                        format!("paper width `{w}` is neither 58 nor 80"),
                        ALLOWED_PRINTER,
                    ))
                }
            };
            if parts.next().is_some() {
                return Err(err(input, "too many comma-separated fields", ALLOWED_PRINTER));
            }
            Ok(Device::Serial {
                path: PathBuf::from(path),
                baud,
                paper,
            })
        }
        "pdf" => Ok(Device::Pdf {
            dir: PathBuf::from(arg),
        }),
        other => Err(err(input, format!("unknown device kind `{other}`"), ALLOWED_ALL)),
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::V4l(V4lId::Index(i)) => write!(f, "v4l:{i}"),
            Device::V4l(V4lId::Path(p)) => write!(f, "v4l:{}", p.display()),
            Device::Replay { dir, fps } => write!(f, "replay:{}@{fps}", dir.display()),
            Device::Serial { path, baud, paper } => {
                let w = if *paper == PaperWidth::Mm58 { 58 } else { 80 };
                write!(f, "serial:{},{baud},{w}", path.display())
            }
            Device::Pdf { dir } => write!(f, "pdf:{}", dir.display()),
            Device::None => f.write_str("none"),
            Device::Embedded => f.write_str("embedded"),
            Device::Http { url } => f.write_str(url),
        }
    }
}

/// Whether the authority of a URL (`host[:port][/path]`, no scheme) names this machine.
pub fn is_loopback_host(authority_and_path: &str) -> bool {
    let authority = authority_and_path.split(['/', '?', '#']).next().unwrap_or("");
    // Userinfo (`user:pass@host`) must not hide the host.
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What a role checks beyond the kinds it allows. Roles take the defaults; a role with
/// its own rules (the ID-card reader: no paper width) implements them itself.
trait RoleRules {
    /// Refuses a string whose kind is allowed but whose form is not (the reason).
    fn check(_input: &str) -> Result<(), &'static str> {
        Ok(())
    }
    /// Writes the device as this role spells it (must parse back).
    fn show(d: &Device, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(d, f)
    }
}

macro_rules! role {
    (@custom $(#[$m:meta])* $name:ident, $allowed:ident, $($pat:pat),+) => {
        role!(@base $(#[$m])* $name, $allowed, $($pat),+);
    };
    ($(#[$m:meta])* $name:ident, $allowed:ident, $($pat:pat),+) => {
        role!(@base $(#[$m])* $name, $allowed, $($pat),+);
        impl RoleRules for $name {}
    };
    (@base $(#[$m:meta])* $name:ident, $allowed:ident, $($pat:pat),+) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name(Device);

        impl $name {
            pub fn device(&self) -> &Device {
                &self.0
            }
        }

        impl TryFrom<Device> for $name {
            type Error = DeviceError;
            fn try_from(d: Device) -> Result<Self, DeviceError> {
                match d {
                    $($pat)|+ => Ok($name(d)),
                    other => Err(err(&other.to_string(), "not allowed here", $allowed)),
                }
            }
        }

        impl FromStr for $name {
            type Err = DeviceError;
            fn from_str(s: &str) -> Result<Self, DeviceError> {
                let d = parse_device(s).map_err(|mut e| {
                    e.allowed = $allowed;
                    e
                })?;
                let role = $name::try_from(d)?;
                <$name as RoleRules>::check(s).map_err(|reason| err(s, reason, $allowed))?;
                Ok(role)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                <$name as RoleRules>::show(&self.0, f)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                let s = String::deserialize(de)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
    };
}

role!(
    /// Where frames come from.
    CameraSpec, ALLOWED_CAMERA, Device::V4l(_), Device::Replay { .. }
);
role!(
    /// Where receipts go.
    PrinterSpec, ALLOWED_PRINTER, Device::Serial { .. }, Device::Pdf { .. }, Device::None
);
role!(
    /// Which review centre the kiosk talks to.
    ReviewSpec, ALLOWED_REVIEW, Device::Embedded, Device::Http { .. }
);
role!(
    @custom
    /// The resident ID-card reader (居民身份证阅读器), or none: details are typed.
    IdCardSpec, ALLOWED_IDCARD, Device::Serial { .. }, Device::None
);

impl RoleRules for IdCardSpec {
    fn check(input: &str) -> Result<(), &'static str> {
        let fields = input.trim().strip_prefix("serial:").map_or(0, |a| a.split(',').count());
        if fields > 2 {
            return Err("an ID-card reader takes a path and a baud rate only (no paper width)");
        }
        Ok(())
    }
    fn show(d: &Device, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match d {
            Device::Serial { path, baud, .. } => write!(f, "serial:{},{baud}", path.display()),
            other => fmt::Display::fmt(other, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(parse_device("v4l:0").unwrap(), Device::V4l(V4lId::Index(0)));
        assert_eq!(
            parse_device("v4l:/dev/kiosk-camera").unwrap(),
            Device::V4l(V4lId::Path("/dev/kiosk-camera".into()))
        );
        assert_eq!(
            parse_device("replay:frames/good").unwrap(),
            Device::Replay {
                dir: "frames/good".into(),
                fps: 15.0
            }
        );
        assert_eq!(
            parse_device("replay:/x@user@30").unwrap(),
            Device::Replay {
                dir: "/x@user".into(),
                fps: 30.0
            }
        );
        assert_eq!(
            parse_device("serial:/dev/ttyUSB0").unwrap(),
            Device::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 115200,
                paper: PaperWidth::Mm80
            }
        );
        assert_eq!(
            parse_device("serial:/dev/ttyUSB0,9600,58").unwrap(),
            Device::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 9600,
                paper: PaperWidth::Mm58
            }
        );
        assert_eq!(
            parse_device("pdf:/tmp/r").unwrap(),
            Device::Pdf { dir: "/tmp/r".into() }
        );
        assert_eq!(parse_device("none").unwrap(), Device::None);
        assert_eq!(parse_device("embedded").unwrap(), Device::Embedded);
        assert_eq!(
            parse_device("https://review.example.cn/").unwrap(),
            Device::Http {
                url: "https://review.example.cn".into()
            }
        );
    }

    #[test]
    fn rejects_bad_strings_with_allowed_forms() {
        for bad in [
            "",
            "v4l:",
            "v4l:cam",
            "replay:",
            "replay:d@0",
            "replay:d@x",
            "serial:",
            "serial:/d,fast",
            "serial:/d,9600,70",
            "serial:/d,1,58",
            "serial:/d,9600,58,x",
            "usb:1",
            "http://",
            "foo",
        ] {
            let e = parse_device(bad).unwrap_err();
            assert!(e.to_string().contains("Allowed"), "{bad}: {e}");
        }
    }

    #[test]
    fn roles_only_accept_their_kinds() {
        assert!("v4l:0".parse::<CameraSpec>().is_ok());
        assert!("replay:builtin@15".parse::<CameraSpec>().is_ok());
        assert!("pdf:/tmp".parse::<CameraSpec>().is_err());
        assert!("serial:/dev/kiosk-printer,115200,58".parse::<PrinterSpec>().is_ok());
        assert!("none".parse::<PrinterSpec>().is_ok());
        let e = "v4l:0".parse::<PrinterSpec>().unwrap_err();
        assert_eq!(e.allowed, ALLOWED_PRINTER);
        assert!("embedded".parse::<ReviewSpec>().is_ok());
        // Plain http only to this machine (issue #13: keys and faces in clear otherwise).
        for ok in [
            "http://127.0.0.1:8700",
            "http://localhost/x",
            "http://[::1]:80",
            "https://review.example.cn",
        ] {
            assert!(ok.parse::<ReviewSpec>().is_ok(), "{ok}");
        }
        for bad in [
            "http://review.example.cn",
            "http://10.0.0.5:8700",
            "http://127.0.0.1@evil.example:80",
            "http://localhost.evil.example",
        ] {
            let e = bad.parse::<ReviewSpec>().unwrap_err().to_string();
            assert!(e.contains("https://"), "{bad}: {e}");
        }
        assert!("none".parse::<ReviewSpec>().is_err());
    }

    #[test]
    fn the_idcard_role_takes_serial_without_paper_width_or_none() {
        let r: IdCardSpec = "serial:/dev/kiosk-idcard".parse().unwrap();
        assert_eq!(r.to_string(), "serial:/dev/kiosk-idcard,115200");
        assert_eq!(r.to_string().parse::<IdCardSpec>().unwrap(), r);
        let r: IdCardSpec = "serial:/dev/kiosk-idcard,9600".parse().unwrap();
        assert!(matches!(r.device(), Device::Serial { baud: 9600, .. }));
        assert_eq!("none".parse::<IdCardSpec>().unwrap().device(), &Device::None);
        for bad in [
            "serial:/dev/kiosk-idcard,9600,80",
            "serial:/dev/kiosk-idcard,9600,58",
            "pdf:/tmp",
            "v4l:0",
            "embedded",
        ] {
            let e = bad.parse::<IdCardSpec>().unwrap_err();
            assert_eq!(e.allowed, ALLOWED_IDCARD, "{bad}");
            assert!(e.to_string().contains("serial:PATH[,BAUD], none"), "{bad}: {e}");
        }
        let e = "serial:/d,9600,80".parse::<IdCardSpec>().unwrap_err().to_string();
        assert!(e.contains("no paper width"), "{e}");
        // The printer keeps its paper width.
        assert!("serial:/d,9600,58".parse::<PrinterSpec>().is_ok());
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "v4l:3",
            "replay:dir@25",
            "serial:/dev/x,9600,58",
            "pdf:/d",
            "none",
            "embedded",
            "http://127.0.0.1:8080",
        ] {
            let d = parse_device(s).unwrap();
            assert_eq!(parse_device(&d.to_string()).unwrap(), d);
        }
    }
}
