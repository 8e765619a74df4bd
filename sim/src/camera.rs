//! Offscreen cameras (mujoco-rs renderer: EGL device, works headless on Mesa llvmpipe).
//!
//! Image convention: mujoco-rs flips OpenGL's bottom-up read-back, so frames come out
//! **top-down** (row 0 is the top of the picture), like a normal image file. robosuite (and
//! therefore LIBERO datasets) return OpenGL's **bottom-up** rows, which is why LIBERO
//! pipelines rotate frames by 180°; choose [`ImageConvention::OpenGl`] to get robosuite's
//! convention so that preprocessing stays valid.

use mujoco_rs::prelude::*;
use mujoco_rs::renderer::MjRenderer;

use crate::error::{Result, SimError};

/// Row order of returned frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageConvention {
    /// Row 0 is the top of the picture.
    #[default]
    TopDown,
    /// Row 0 is the bottom (robosuite / LIBERO `IMAGE_CONVENTION = "opengl"`).
    OpenGl,
}

/// One rendered RGB frame, row-major HWC.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraFrame {
    /// Camera name.
    pub camera: String,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height × width × 3` bytes.
    pub rgb: Vec<u8>,
}

/// A named camera with its renderer.
pub struct Camera {
    name: String,
    renderer: MjRenderer,
    size: usize,
    convention: ImageConvention,
}

impl Camera {
    /// A `size × size` renderer for camera `name` of `model`.
    pub fn new(
        model: &MjModel,
        name: &str,
        size: u32,
        convention: ImageConvention,
    ) -> Result<Self> {
        let cam = model
            .name_to_id(MjtObjBase::mjOBJ_CAMERA, name)
            .ok_or_else(|| {
                let known: Vec<String> = (0..model.ncam() as usize)
                    .filter_map(|i| {
                        model
                            .id_to_name(MjtObjBase::mjOBJ_CAMERA, i)
                            .map(str::to_owned)
                    })
                    .collect();
                SimError::UnknownName {
                    kind: "camera",
                    name: name.to_owned(),
                    known: format!(" (known: {})", known.join(", ")),
                }
            })?;
        let global = &model.vis().global;
        if size == 0 || size > global.offwidth as u32 || size > global.offheight as u32 {
            return Err(SimError::Config {
                field: "image_size",
                reason: format!(
                    "{size} must be in 1..={} (the scene's offscreen buffer)",
                    global.offwidth.min(global.offheight)
                ),
            });
        }
        let renderer = MjRenderer::builder()
            .width(size)
            .height(size)
            .rgb(true)
            .depth(false)
            .camera(MjvCamera::new_fixed(cam))
            .build(model)
            .map_err(|e| SimError::Render {
                reason: format!(
                    "could not create an offscreen OpenGL context for camera {name} ({e:?}); \
                     headless rendering needs EGL (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri)"
                ),
            })?;
        Ok(Self {
            name: name.to_owned(),
            renderer,
            size: size as usize,
            convention,
        })
    }

    /// Render the current state of `data`.
    pub fn render(&mut self, data: &mut MjData<std::sync::Arc<MjModel>>) -> Result<CameraFrame> {
        let fail = |e: &dyn std::fmt::Debug| SimError::Render {
            reason: format!("camera {}: {e:?}", self.name),
        };
        self.renderer.sync_data(data).map_err(|e| fail(&e))?;
        self.renderer.render().map_err(|e| fail(&e))?;
        let rgb = self
            .renderer
            .rgb_flat()
            .ok_or_else(|| fail(&"no RGB buffer"))?;
        let row = self.size * 3;
        let rgb = match self.convention {
            ImageConvention::TopDown => rgb.to_vec(),
            ImageConvention::OpenGl => rgb.chunks_exact(row).rev().flatten().copied().collect(),
        };
        Ok(CameraFrame {
            camera: self.name.clone(),
            width: self.size,
            height: self.size,
            rgb,
        })
    }
}
