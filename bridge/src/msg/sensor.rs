//! `sensor_msgs`: Image, CompressedImage, JointState.

use serde::{Deserialize, Serialize};

use super::RosMessage;
use super::std::Header;
use crate::error::{BridgeError, Result};

/// `sensor_msgs/msg/Image`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Image {
    /// Header.
    pub header: Header,
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
    /// Pixel encoding (`rgb8`, `bgr8`, `mono8`, `rgba8`, `bgra8`).
    pub encoding: String,
    /// 1 if big-endian multi-byte pixels.
    pub is_bigendian: u8,
    /// Bytes per row (≥ width × bytes per pixel; rows may be padded).
    pub step: u32,
    /// `step × height` bytes, rows top to bottom.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// Bytes per pixel of the 8-bit encodings we read.
pub fn bytes_per_pixel(encoding: &str) -> Option<usize> {
    match encoding {
        "rgb8" | "bgr8" => Some(3),
        "rgba8" | "bgra8" => Some(4),
        "mono8" | "8UC1" => Some(1),
        _ => None,
    }
}

impl Image {
    /// A tightly packed `rgb8` image from top-down HWC bytes.
    pub fn rgb8(header: Header, width: u32, height: u32, data: Vec<u8>) -> Self {
        Self {
            header,
            height,
            width,
            encoding: "rgb8".into(),
            is_bigendian: 0,
            step: width * 3,
            data,
        }
    }

    /// Convert to tightly packed top-down RGB8 (honours `step` padding and the encoding).
    pub fn to_rgb8(&self) -> Result<Vec<u8>> {
        self.check()?;
        let bpp = bytes_per_pixel(&self.encoding).unwrap_or(3);
        let (w, h, step) = (
            self.width as usize,
            self.height as usize,
            self.step as usize,
        );
        let mut out = Vec::with_capacity(w * h * 3);
        for row in self.data.chunks_exact(step).take(h) {
            for px in row[..w * bpp].chunks_exact(bpp) {
                match self.encoding.as_str() {
                    "rgb8" | "rgba8" => out.extend_from_slice(&px[..3]),
                    "bgr8" | "bgra8" => out.extend_from_slice(&[px[2], px[1], px[0]]),
                    _ => out.extend_from_slice(&[px[0], px[0], px[0]]),
                }
            }
        }
        Ok(out)
    }

    fn check(&self) -> Result<()> {
        let bad = |reason: String| BridgeError::Invalid {
            type_name: Self::TYPE_NAME,
            reason,
        };
        let bpp = bytes_per_pixel(&self.encoding)
            .ok_or_else(|| bad(format!("unknown encoding {:?}", self.encoding)))?;
        let (w, h, step) = (
            self.width as usize,
            self.height as usize,
            self.step as usize,
        );
        if step < w * bpp {
            return Err(bad(format!("step {step} < width {w} × {bpp} bytes")));
        }
        if self.data.len() != step * h {
            return Err(bad(format!(
                "{} data bytes, step {step} × height {h} = {}",
                self.data.len(),
                step * h
            )));
        }
        Ok(())
    }
}

/// `sensor_msgs/msg/CompressedImage` (JPEG or PNG; see [`CompressedImage::to_rgb8`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CompressedImage {
    /// Header.
    pub header: Header,
    /// `jpeg` or `png`.
    pub format: String,
    /// Compressed bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// Largest decoded image side accepted from a compressed image (pixels).
pub const MAX_DECODED_SIDE: u32 = 8192;

/// A decoded RGB8 image: top-down rows, tightly packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb8 {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `width × height × 3` bytes.
    pub data: Vec<u8>,
}

impl CompressedImage {
    /// The container format named by `format`: `jpeg`/`png`, or image_transport's
    /// `"<encoding>; jpeg compressed <encoding>"`; empty means "sniff the bytes".
    fn image_format(&self) -> Result<image::ImageFormat> {
        let format = self.format.to_ascii_lowercase();
        if format.contains("jpeg") || format.contains("jpg") {
            Ok(image::ImageFormat::Jpeg)
        } else if format.contains("png") {
            Ok(image::ImageFormat::Png)
        } else if format.trim().is_empty() {
            image::guess_format(&self.data).map_err(|e| BridgeError::Invalid {
                type_name: Self::TYPE_NAME,
                reason: format!("empty format and unrecognised bytes: {e}"),
            })
        } else {
            Err(BridgeError::Invalid {
                type_name: Self::TYPE_NAME,
                reason: format!("unsupported format {:?} (want jpeg or png)", self.format),
            })
        }
    }

    /// Decode to RGB8 (grey and RGBA images are converted). Images larger than
    /// [`MAX_DECODED_SIDE`] on a side and corrupt data are errors, never panics.
    pub fn to_rgb8(&self) -> Result<Rgb8> {
        let format = self.image_format()?;
        let mut reader = image::ImageReader::with_format(std::io::Cursor::new(&self.data), format);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_DECODED_SIDE);
        limits.max_image_height = Some(MAX_DECODED_SIDE);
        limits.max_alloc = Some(512 * 1024 * 1024);
        reader.limits(limits);
        let decoded = reader.decode().map_err(|e| BridgeError::Invalid {
            type_name: Self::TYPE_NAME,
            reason: format!("cannot decode {format:?} ({} bytes): {e}", self.data.len()),
        })?;
        let rgb = decoded.into_rgb8();
        Ok(Rgb8 {
            width: rgb.width(),
            height: rgb.height(),
            data: rgb.into_raw(),
        })
    }

    /// Compress top-down RGB8 bytes as `png` (lossless) or `jpeg` (quality 90).
    pub fn from_rgb8(header: Header, image: &Rgb8, format: image::ImageFormat) -> Result<Self> {
        let fail = |reason: String| BridgeError::Encode {
            type_name: Self::TYPE_NAME,
            reason,
        };
        let buffer = image::RgbImage::from_raw(image.width, image.height, image.data.clone())
            .ok_or_else(|| fail("data length is not width × height × 3".into()))?;
        let mut out = std::io::Cursor::new(Vec::new());
        let name = match format {
            image::ImageFormat::Png => {
                buffer
                    .write_to(&mut out, format)
                    .map_err(|e| fail(e.to_string()))?;
                "png"
            }
            image::ImageFormat::Jpeg => {
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
                    .encode_image(&buffer)
                    .map_err(|e| fail(e.to_string()))?;
                "jpeg"
            }
            other => return Err(fail(format!("{other:?} is not jpeg or png"))),
        };
        Ok(Self {
            header,
            format: name.into(),
            data: out.into_inner(),
        })
    }
}

/// `sensor_msgs/msg/JointState`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JointState {
    /// Header.
    pub header: Header,
    /// Joint names.
    pub name: Vec<String>,
    /// Positions (rad or m).
    pub position: Vec<f64>,
    /// Velocities.
    pub velocity: Vec<f64>,
    /// Efforts.
    pub effort: Vec<f64>,
}

impl RosMessage for Image {
    const TYPE_NAME: &'static str = "sensor_msgs/msg/Image";
    const DEFINITION: &'static str = concat!(
        "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\nuint32 step\nuint8[] data\n",
        header_deps!()
    );

    fn validate(&self) -> Result<()> {
        self.check()
    }
}

impl RosMessage for CompressedImage {
    const TYPE_NAME: &'static str = "sensor_msgs/msg/CompressedImage";
    const DEFINITION: &'static str = concat!(
        "std_msgs/Header header\nstring format\nuint8[] data\n",
        header_deps!()
    );
}

impl RosMessage for JointState {
    const TYPE_NAME: &'static str = "sensor_msgs/msg/JointState";
    const DEFINITION: &'static str = concat!(
        "std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n",
        header_deps!()
    );

    fn validate(&self) -> Result<()> {
        let n = self.name.len();
        for (what, len) in [
            ("position", self.position.len()),
            ("velocity", self.velocity.len()),
            ("effort", self.effort.len()),
        ] {
            if len != 0 && len != n {
                return Err(BridgeError::Invalid {
                    type_name: Self::TYPE_NAME,
                    reason: format!("{len} {what} values for {n} names"),
                });
            }
        }
        Ok(())
    }
}
