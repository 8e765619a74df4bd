//! `ddvla serve`'s edges: turning received messages into the policy's observation, and
//! publishing commands, chunks and status (recording both directions when asked).

use anyhow::Result;
use ddvla_bridge::msg::geometry::{Twist, TwistStamped, Vector3};
use ddvla_bridge::msg::std::{Duration as RosDuration, Float32MultiArray, Header, Time};
use ddvla_bridge::msg::trajectory::{JointTrajectory, JointTrajectoryPoint};
use ddvla_bridge::record::Recorder;
use ddvla_bridge::transport::unix_time_ns;
use ddvla_bridge::{Publisher, RosMessage, encode};
use ddvla_policy::observation::CameraImage;

use super::config::CommandKind;
use crate::runtime::control_loop::ActuatorSink;
use crate::runtime::safety::HoldReason;
use crate::runtime::schedule::Chunk;

/// Convert a ROS image to the policy's RGB frame (any supported encoding, padded rows),
/// resized (bilinear) to `side × side` when it has another size.
pub fn camera_image(image: &ddvla_bridge::msg::sensor::Image, side: usize) -> Result<CameraImage> {
    let rgb = image.to_rgb8()?;
    let (w, h) = (image.width as usize, image.height as usize);
    if (w, h) == (side, side) {
        return Ok(CameraImage {
            width: w,
            height: h,
            rgb,
        });
    }
    let side32 = u32::try_from(side)?;
    let buffer = image::RgbImage::from_raw(image.width, image.height, rgb)
        .ok_or_else(|| anyhow::anyhow!("{w}x{h} image with a wrong byte count"))?;
    let resized = image::imageops::resize(
        &buffer,
        side32,
        side32,
        image::imageops::FilterType::Triangle,
    );
    Ok(CameraImage {
        width: side,
        height: side,
        rgb: resized.into_raw(),
    })
}

/// Publishes and optionally records.
pub struct Outputs {
    /// Per-step command publisher.
    pub command: Box<dyn Publisher>,
    /// Which message the command is.
    pub command_kind: CommandKind,
    /// Joint names for joint commands.
    pub joint_names: Vec<String>,
    /// Frame id of stamped messages.
    pub frame_id: String,
    /// Action chunk publisher.
    pub chunk: Box<dyn Publisher>,
    /// Status publisher.
    pub status: Box<dyn Publisher>,
    /// Runtime events publisher (JSON: inference requests and chunk arrivals).
    pub events: Box<dyn Publisher>,
    /// The whole command vector each tick (`Float32MultiArray`, dims `[action_dim]`).
    pub raw_command: Box<dyn Publisher>,
    /// The recording, if any.
    pub recorder: Option<Recorder>,
    /// Publish or record failures (logged, never fatal).
    pub errors: u64,
}

impl Outputs {
    /// Encode, publish and record `msg` on the `which` output.
    pub fn publish<M: RosMessage>(&mut self, which: Which, msg: &M) {
        let result = encode(msg).and_then(|cdr| {
            let publisher = match which {
                Which::Command => &self.command,
                Which::Chunk => &self.chunk,
                Which::Status => &self.status,
                Which::Events => &self.events,
                Which::RawCommand => &self.raw_command,
            };
            if let Some(recorder) = &mut self.recorder {
                let now = u64::try_from(unix_time_ns()).unwrap_or(0);
                recorder.write_payload(publisher.topic(), &cdr, now, now)?;
            }
            publisher.publish_owned(cdr)
        });
        if let Err(e) = result {
            self.errors += 1;
            tracing::warn!(error = %e, "output failed");
        }
    }

    fn header(&self) -> Header {
        Header {
            stamp: Time::from_ns(u64::try_from(unix_time_ns()).unwrap_or(0)),
            frame_id: self.frame_id.clone(),
        }
    }

    /// Publish a chunk as `Float32MultiArray` with dims `[horizon, action_dim]`.
    pub fn send_chunk(&mut self, chunk: &Chunk) {
        let msg = Float32MultiArray::action_chunk(chunk.horizon, chunk.dim, chunk.actions.clone());
        self.publish(Which::Chunk, &msg);
    }
}

/// Which output.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    /// Per-step command.
    Command,
    /// Action chunk.
    Chunk,
    /// Status.
    Status,
    /// Runtime events.
    Events,
    /// The whole command vector.
    RawCommand,
}

impl ActuatorSink for Outputs {
    fn send(&mut self, _tick: u64, command: &[f32], _held: Option<HoldReason>) {
        let mut raw = Float32MultiArray::action_chunk(1, command.len(), command.to_vec());
        raw.layout.dim.remove(0);
        raw.layout.dim[0].label = "action_dim".into();
        self.publish(Which::RawCommand, &raw);
        let header = self.header();
        match self.command_kind {
            CommandKind::EeDelta => {
                let v = |i: usize| f64::from(command.get(i).copied().unwrap_or(0.0));
                let msg = TwistStamped {
                    header,
                    twist: Twist {
                        linear: Vector3 {
                            x: v(0),
                            y: v(1),
                            z: v(2),
                        },
                        angular: Vector3 {
                            x: v(3),
                            y: v(4),
                            z: v(5),
                        },
                    },
                };
                self.publish(Which::Command, &msg);
            }
            CommandKind::JointPosition => {
                let msg = JointTrajectory {
                    header,
                    joint_names: self.joint_names.clone(),
                    points: vec![JointTrajectoryPoint {
                        positions: command.iter().map(|v| f64::from(*v)).collect(),
                        time_from_start: RosDuration::default(),
                        ..JointTrajectoryPoint::default()
                    }],
                };
                self.publish(Which::Command, &msg);
            }
        }
    }
}
