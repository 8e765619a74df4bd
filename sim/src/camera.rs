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
use crate::indicator::{ResolvedIndicators, StateIndicator};

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

/// The configured cameras, rendered through one offscreen context (switching the fixed
/// camera between frames, as `mujoco.Renderer.update_scene(camera=…)` does) — one GL context
/// instead of one per camera.
#[derive(Default)]
pub struct CameraRig {
    renderer: Option<MjRenderer>,
    cams: Vec<(String, usize)>,
    size: usize,
    convention: ImageConvention,
    indicators: ResolvedIndicators,
}

impl CameraRig {
    /// Renderers for cameras `names` of `model` at `size × size` (none: nothing is created).
    pub fn new(
        model: &MjModel,
        names: &[String],
        size: u32,
        convention: ImageConvention,
    ) -> Result<Self> {
        let cams = names
            .iter()
            .map(|name| {
                model
                    .name_to_id(MjtObjBase::mjOBJ_CAMERA, name)
                    .map(|id| (name.clone(), id))
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
                            name: name.clone(),
                            known: format!(" (known: {})", known.join(", ")),
                        }
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let Some((first_name, first)) = cams.first().cloned() else {
            return Ok(Self {
                renderer: None,
                cams,
                size: size as usize,
                convention,
                indicators: ResolvedIndicators::default(),
            });
        };
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
            .camera(MjvCamera::new_fixed(first))
            .build(model)
            .map_err(|e| SimError::Render {
                reason: format!(
                    "could not create an offscreen OpenGL context for camera {first_name} ({e:?}); \
                     headless rendering needs EGL (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri)"
                ),
            })?;
        Ok(Self {
            renderer: Some(renderer),
            cams,
            size: size as usize,
            convention,
            indicators: ResolvedIndicators::default(),
        })
    }

    /// Show `indicators`' geoms in the frames while their joints are on (checked against
    /// `model`, the model the rig was made for).
    pub fn with_indicators(
        mut self,
        model: &MjModel,
        indicators: &[StateIndicator],
    ) -> Result<Self> {
        self.indicators = ResolvedIndicators::new(model, indicators)?;
        Ok(self)
    }

    /// Number of cameras.
    pub fn len(&self) -> usize {
        self.cams.len()
    }

    /// Whether there are no cameras.
    pub fn is_empty(&self) -> bool {
        self.cams.is_empty()
    }

    /// Render every camera for the current state of `data`, in configuration order.
    pub fn render_all(
        &mut self,
        data: &mut MjData<std::sync::Arc<MjModel>>,
    ) -> Result<Vec<CameraFrame>> {
        let Some(renderer) = self.renderer.as_mut() else {
            return Ok(Vec::new());
        };
        self.indicators
            .apply(data.qpos(), &mut renderer.opts_mut().geomgroup);
        let row = self.size * 3;
        let mut frames = Vec::with_capacity(self.cams.len());
        for (name, id) in &self.cams {
            let fail = |e: &dyn std::fmt::Debug| SimError::Render {
                reason: format!("camera {name}: {e:?}"),
            };
            renderer.set_camera(MjvCamera::new_fixed(*id));
            renderer.sync_data(data).map_err(|e| fail(&e))?;
            renderer.render().map_err(|e| fail(&e))?;
            let rgb = renderer.rgb_flat().ok_or_else(|| fail(&"no RGB buffer"))?;
            let rgb = match self.convention {
                ImageConvention::TopDown => rgb.to_vec(),
                ImageConvention::OpenGl => rgb.chunks_exact(row).rev().flatten().copied().collect(),
            };
            frames.push(CameraFrame {
                camera: name.clone(),
                width: self.size,
                height: self.size,
                rgb,
            });
        }
        Ok(frames)
    }
}
