//! The embedded MediaPipe models (Apache-2.0, `assets/models/LICENSE`) and a thin runner
//! over tract. Each [`Net`] keeps its tract state so buffers are reused frame to frame.

use super::VisionError;
use std::sync::Arc;
use tract_onnx::prelude::*;

pub const FACE_DETECTION_SHORT: &[u8] = include_bytes!("../../assets/models/face_detection_short_range.onnx");
pub const FACE_DETECTION_FULL: &[u8] = include_bytes!("../../assets/models/face_detection_full_range.onnx");
pub const FACE_LANDMARK: &[u8] = include_bytes!("../../assets/models/face_landmark.onnx");
pub const SELFIE_SEGMENTATION: &[u8] = include_bytes!("../../assets/models/selfie_segmentation.onnx");

/// One loaded model with its reusable run state.
pub struct Net {
    name: &'static str,
    shape: [usize; 4],
    state: TypedSimpleState,
}

impl Net {
    /// Loads, optimises and plans a model from embedded bytes.
    pub fn load(name: &'static str, bytes: &[u8], shape: [usize; 4]) -> Result<Net, VisionError> {
        let err = |e: TractError| VisionError::Model {
            model: name,
            reason: format!("{e:#}"),
        };
        let plan: Arc<TypedRunnableModel> = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))
            .map_err(err)?
            .with_input_fact(0, f32::fact(shape).into())
            .map_err(err)?
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        let state = plan.spawn().map_err(err)?;
        Ok(Net { name, shape, state })
    }

    /// Runs the model on an NCHW float input of the model's shape; returns every output
    /// flattened.
    pub fn run(&mut self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, VisionError> {
        let err = |e: TractError| VisionError::Model {
            model: self.name,
            reason: format!("{e:#}"),
        };
        let t = Tensor::from_shape(&self.shape, &input).map_err(err)?;
        let out = self.state.run(tvec!(t.into())).map_err(err)?;
        out.iter()
            .map(|o| {
                o.to_plain_array_view::<f32>()
                    .map(|v| v.iter().copied().collect())
                    .map_err(err)
            })
            .collect()
    }
}
