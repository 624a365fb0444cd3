//! The embedded MediaPipe models (Apache-2.0, `assets/models/LICENSE`) and a thin runner
//! over tract.
//!
//! Loading a model (parse + `into_optimized()` + plan) is the expensive part of start-up,
//! so each optimised plan is built once per process and shared (`Arc`) by every
//! [`Net`] — the live guide, the maker and the validator no longer load their own copies —
//! and only when first needed (the full-range detector is rarely needed while tracking).
//! Each [`Net`] keeps its own tract state so buffers are reused frame to frame.

use super::VisionError;
use std::sync::{Arc, OnceLock};
use tract_onnx::prelude::*;

pub const FACE_DETECTION_SHORT: &[u8] = include_bytes!("../../assets/models/face_detection_short_range.onnx");
pub const FACE_DETECTION_FULL: &[u8] = include_bytes!("../../assets/models/face_detection_full_range.onnx");
pub const FACE_LANDMARK: &[u8] = include_bytes!("../../assets/models/face_landmark.onnx");
pub const SELFIE_SEGMENTATION: &[u8] = include_bytes!("../../assets/models/selfie_segmentation.onnx");
pub const HAIR_SEGMENTATION: &[u8] = include_bytes!("../../assets/models/hair_segmentation.onnx");

pub type Plan = Arc<TypedRunnableModel>;

/// One embedded model: its bytes, input shape and the process-wide optimised plan.
pub struct ModelDef {
    pub name: &'static str,
    bytes: &'static [u8],
    pub shape: [usize; 4],
    plan: OnceLock<Result<Plan, String>>,
}

impl ModelDef {
    const fn new(name: &'static str, bytes: &'static [u8], shape: [usize; 4]) -> ModelDef {
        ModelDef {
            name,
            bytes,
            shape,
            plan: OnceLock::new(),
        }
    }

    /// A new plan, bypassing the process-wide one (what a cold start pays; benchmarks).
    pub fn build_uncached(&self) -> Result<Plan, VisionError> {
        build(self.bytes, self.shape).map_err(|e| VisionError::Model {
            model: self.name,
            reason: format!("{e:#}"),
        })
    }

    /// The optimised plan, built on first use (concurrent callers wait for one build).
    pub fn plan(&self) -> Result<Plan, VisionError> {
        self.plan
            .get_or_init(|| build(self.bytes, self.shape).map_err(|e| format!("{e:#}")))
            .clone()
            .map_err(|reason| VisionError::Model {
                model: self.name,
                reason,
            })
    }
}

pub static SHORT: ModelDef = ModelDef::new("face_detection_short_range", FACE_DETECTION_SHORT, [1, 3, 128, 128]);
pub static FULL: ModelDef = ModelDef::new("face_detection_full_range", FACE_DETECTION_FULL, [1, 3, 192, 192]);
pub static MESH: ModelDef = ModelDef::new("face_landmark", FACE_LANDMARK, [1, 3, 192, 192]);
pub static SEGMENTATION: ModelDef = ModelDef::new("selfie_segmentation", SELFIE_SEGMENTATION, [1, 3, 256, 256]);
/// Hair vs everything else; input RGB plus the previous mask (0 for a still).
pub static HAIR: ModelDef = ModelDef::new("hair_segmentation", HAIR_SEGMENTATION, [1, 4, 512, 512]);

fn build(bytes: &[u8], shape: [usize; 4]) -> TractResult<Plan> {
    tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))?
        .with_input_fact(0, f32::fact(shape).into())?
        .into_optimized()?
        .into_runnable()
}

/// Builds the plans of `defs` now, in parallel (one thread each), so that the first frame
/// does not pay for them. Errors are kept and reported by the first run as well.
pub fn preload(defs: &[&'static ModelDef]) -> Result<(), VisionError> {
    let results: Vec<Result<Plan, VisionError>> = std::thread::scope(|s| {
        let handles: Vec<_> = defs.iter().map(|d| s.spawn(move || d.plan())).collect();
        handles
            .into_iter()
            .zip(defs)
            .map(|(h, d)| {
                h.join().unwrap_or_else(|_| {
                    Err(VisionError::Model {
                        model: d.name,
                        reason: "loading panicked".into(),
                    })
                })
            })
            .collect()
    });
    results.into_iter().try_for_each(|r| r.map(|_| ()))
}

/// One model with its reusable run state (created on first run).
pub struct Net {
    def: &'static ModelDef,
    /// A plan of its own instead of the process-wide one (cold-start benchmark).
    own_plan: Option<Plan>,
    state: Option<TypedSimpleState>,
    input: Tensor,
}

impl Net {
    pub fn new(def: &'static ModelDef) -> Net {
        Net {
            def,
            own_plan: None,
            state: None,
            input: Tensor::zero::<f32>(&def.shape).expect("a static f32 shape"),
        }
    }

    /// A net running `plan` (built by [`ModelDef::build_uncached`]).
    pub fn with_plan(def: &'static ModelDef, plan: Plan) -> Net {
        Net {
            own_plan: Some(plan),
            ..Net::new(def)
        }
    }

    fn err(&self) -> impl Fn(TractError) -> VisionError {
        let model = self.def.name;
        move |e| VisionError::Model {
            model,
            reason: format!("{e:#}"),
        }
    }

    /// The input tensor (NCHW, the model's shape) to fill before [`Net::run`]; reused
    /// between runs instead of allocating a new one per frame.
    pub fn input_mut(&mut self) -> &mut [f32] {
        self.input
            .to_plain_array_view_mut::<f32>()
            .ok()
            .and_then(|v| v.into_slice())
            .expect("the input tensor is a contiguous f32 array by construction")
    }

    /// Runs the model on the current input; returns every output flattened.
    pub fn run(&mut self) -> Result<Vec<Vec<f32>>, VisionError> {
        let err = self.err();
        if self.state.is_none() {
            let plan = match &self.own_plan {
                Some(p) => p.clone(),
                None => self.def.plan()?,
            };
            self.state = Some(plan.spawn().map_err(&err)?);
        }
        let state = self.state.as_mut().expect("set above");
        let out = state.run(tvec!(self.input.clone().into())).map_err(&err)?;
        out.iter()
            .map(|o| {
                o.to_plain_array_view::<f32>()
                    // Contiguous outputs (all of ours) are one memcpy.
                    .map(|v| {
                        v.as_slice()
                            .map_or_else(|| v.iter().copied().collect(), <[f32]>::to_vec)
                    })
                    .map_err(&err)
            })
            .collect()
    }
}
