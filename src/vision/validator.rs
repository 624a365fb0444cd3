//! The photo validator behind `check-photo`: analyse a still image, run the ten checks.

use super::analysis::Analyzer;
use super::checks::{self, Check, Measures};
use super::models;
use super::pose::Pose;
use super::VisionError;
use crate::config::DocumentSpec;
use image::RgbImage;

/// Models plus the checks.
pub struct Validator {
    pub analyzer: Analyzer,
}

/// The verdict on one image.
#[derive(Debug, Clone)]
pub struct Report {
    pub checks: Vec<Check>,
    pub face_box: Option<[f32; 4]>,
    pub pose: Option<Pose>,
    pub measures: Measures,
}

impl Report {
    pub fn pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks.iter().filter(|c| !c.pass).map(|c| c.name).collect()
    }
}

impl Validator {
    pub fn new() -> Result<Validator, VisionError> {
        Ok(Validator {
            analyzer: Analyzer::preloading(&[&models::FULL, &models::MESH, &models::SEGMENTATION, &models::HAIR])?,
        })
    }

    pub fn check(&mut self, img: &RgbImage, spec: &DocumentSpec) -> Result<Report, VisionError> {
        let still = self.analyzer.analyse_still(img)?;
        let measures = Measures::of(&mut self.analyzer, img, &still, spec);
        Ok(Report {
            checks: checks::evaluate(&measures, spec),
            face_box: still.face.as_ref().map(|f| f.bbox),
            pose: still.face.as_ref().map(|f| f.pose),
            measures,
        })
    }
}
