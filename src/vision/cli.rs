//! `kiosk check-photo` and `kiosk make-photo`.

use crate::config::{Config, DocumentId};
use crate::Verdict;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CheckPhotoArgs {
    /// Document whose standard applies: id-card, social-security, driving-licence, exit-entry, residence-permit.
    #[arg(long, value_name = "DOC")]
    pub doc: DocumentId,
    /// One JSON object per image per line instead of readable lines.
    #[arg(long)]
    pub json: bool,
    /// Captures to check (JPEG or PNG).
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct MakePhotoArgs {
    /// Document whose standard applies.
    #[arg(long, value_name = "DOC")]
    pub doc: DocumentId,
    /// Region whose overrides apply (GB/T 2260 code, e.g. 440100).
    #[arg(long, value_name = "CODE")]
    pub region: Option<crate::config::RegionCode>,
    /// Print the output-check report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The capture to turn into the document photo.
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Where to write the compliant JPEG (never half-written).
    #[arg(short = 'o', long = "output", value_name = "OUTPUT.jpg")]
    pub output: PathBuf,
}

pub fn check_photo(_cfg: &Config, _args: &CheckPhotoArgs) -> anyhow::Result<Verdict> {
    crate::cli::not_implemented("check-photo", "#4 (vision)")
}

pub fn make_photo(_cfg: &Config, _args: &MakePhotoArgs) -> anyhow::Result<Verdict> {
    crate::cli::not_implemented("make-photo", "#4 (vision)")
}
