//! The policy server's wire messages: CDR with `ros2msg` schemas (like every other ddvla
//! message: non-executable, recordable, decodable by stock ROS 2 tools), never pickle.

use ddvla_bridge::RosMessage;
use ddvla_bridge::msg::sensor::Image;
use serde::{Deserialize, Serialize};

/// The separator and header blocks of a definition that embeds `sensor_msgs/Image`.
macro_rules! image_deps {
    () => {
        concat!(
            "================================================================================\n",
            "MSG: sensor_msgs/Image\n",
            "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\nuint32 step\nuint8[] data\n",
            "================================================================================\n",
            "MSG: std_msgs/Header\nbuiltin_interfaces/Time stamp\nstring frame_id\n",
            "================================================================================\n",
            "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n"
        )
    };
}

/// `ddvla_msgs/msg/InferenceRequest`: one observation to decode a chunk from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InferenceRequestMsg {
    /// The robot loop's tick the observation belongs to.
    pub start_tick: u64,
    /// Time left before the robot's queue runs dry (anytime decoding budget; 0 = none).
    pub budget_ns: u64,
    /// Instruction.
    pub instruction: String,
    /// Proprioception in robot units.
    pub proprio: Vec<f32>,
    /// One frame per camera, in the model's camera order.
    pub images: Vec<Image>,
}

impl RosMessage for InferenceRequestMsg {
    const TYPE_NAME: &'static str = "ddvla_msgs/msg/InferenceRequest";
    const DEFINITION: &'static str = concat!(
        "uint64 start_tick\nuint64 budget_ns\nstring instruction\nfloat32[] proprio\nsensor_msgs/Image[] images\n",
        image_deps!()
    );
}

/// `ddvla_msgs/msg/InferenceResponse`: a chunk, or why there is none.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InferenceResponseMsg {
    /// The request's tick.
    pub start_tick: u64,
    /// Empty on success, else what failed.
    pub error: String,
    /// Actions in the chunk.
    pub horizon: u32,
    /// Values per action.
    pub action_dim: u32,
    /// `horizon × action_dim` values, row-major, in robot units.
    pub actions: Vec<f32>,
    /// When the server's anytime decoder cut the chunk short to meet the request's budget:
    /// the rounds it ran (at least 1); 0 when every round ran. Added after the first
    /// version, at the end: older robots ignore it, and an older server's answer (without
    /// it) is refused with an error that says so ([`decode_response`]).
    pub rounds_cut: u32,
    /// The decode's remasking trace as JSON (`ddvla_policy::decode::DecodeTrace`: per
    /// round, the slots committed and re-masked with bins and confidences), so the robot's
    /// live view can draw it; empty when there is none (errors). Added after `rounds_cut`,
    /// at the end: an answer without it decodes with an empty trace.
    pub trace_json: String,
}

impl RosMessage for InferenceResponseMsg {
    const TYPE_NAME: &'static str = "ddvla_msgs/msg/InferenceResponse";
    const DEFINITION: &'static str = "uint64 start_tick\nstring error\nuint32 horizon\nuint32 action_dim\nfloat32[] actions\nuint32 rounds_cut\nstring trace_json\n";

    fn validate(&self) -> ddvla_bridge::Result<()> {
        if self.error.is_empty()
            && self.actions.len() != self.horizon as usize * self.action_dim as usize
        {
            return Err(ddvla_bridge::BridgeError::Invalid {
                type_name: Self::TYPE_NAME,
                reason: format!(
                    "{} values for horizon {} × dim {}",
                    self.actions.len(),
                    self.horizon,
                    self.action_dim
                ),
            });
        }
        Ok(())
    }
}

/// The first version of [`InferenceResponseMsg`] (no `rounds_cut`), only to recognise an
/// older server's answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct InferenceResponseV1 {
    start_tick: u64,
    error: String,
    horizon: u32,
    action_dim: u32,
    actions: Vec<f32>,
}

impl RosMessage for InferenceResponseV1 {
    const TYPE_NAME: &'static str = "ddvla_msgs/msg/InferenceResponse";
    const DEFINITION: &'static str =
        "uint64 start_tick\nstring error\nuint32 horizon\nuint32 action_dim\nfloat32[] actions\n";
}

/// The second version of [`InferenceResponseMsg`] (`rounds_cut`, no `trace_json`): still
/// accepted, with an empty trace.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct InferenceResponseV2 {
    start_tick: u64,
    error: String,
    horizon: u32,
    action_dim: u32,
    actions: Vec<f32>,
    rounds_cut: u32,
}

impl RosMessage for InferenceResponseV2 {
    const TYPE_NAME: &'static str = "ddvla_msgs/msg/InferenceResponse";
    const DEFINITION: &'static str = "uint64 start_tick\nstring error\nuint32 horizon\nuint32 action_dim\nfloat32[] actions\nuint32 rounds_cut\n";
}

/// Why a policy server's answer was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The answer is the first message version, without `rounds_cut`: the server runs an
    /// older ddvla.
    #[error(
        "the policy server answered with an older InferenceResponse (no rounds_cut field, \
         {len} bytes): update ddvla on the policy server"
    )]
    OldServer {
        /// Payload size.
        len: usize,
    },
    /// Not an `InferenceResponse` at all.
    #[error(transparent)]
    Decode(#[from] ddvla_bridge::BridgeError),
}

/// Decode a policy server's answer (at most `max_len` bytes), telling an older server's
/// answer apart from a corrupt one.
pub fn decode_response(
    bytes: &[u8],
    max_len: usize,
) -> Result<InferenceResponseMsg, ResponseError> {
    match ddvla_bridge::decode_limited::<InferenceResponseMsg>(bytes, max_len) {
        Ok(msg) => Ok(msg),
        Err(e) => {
            if let Ok(v2) = ddvla_bridge::decode_limited::<InferenceResponseV2>(bytes, max_len) {
                Ok(InferenceResponseMsg {
                    start_tick: v2.start_tick,
                    error: v2.error,
                    horizon: v2.horizon,
                    action_dim: v2.action_dim,
                    actions: v2.actions,
                    rounds_cut: v2.rounds_cut,
                    trace_json: String::new(),
                })
            } else if ddvla_bridge::decode_limited::<InferenceResponseV1>(bytes, max_len).is_ok() {
                Err(ResponseError::OldServer { len: bytes.len() })
            } else {
                Err(e.into())
            }
        }
    }
}

/// What the server's `describe` query answers (JSON): the model's input/output shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelShape {
    /// Cameras the model takes.
    pub cameras: usize,
    /// Side of the square images the model takes (px); larger frames are resized.
    pub image_size: usize,
    /// Proprioception values the robot sends: the model's, less the episode step when
    /// `episode_step_input` (a client from before the step existed then sends one value too
    /// few and the server refuses the request by name, instead of a padded zero step).
    pub proprio_dim: usize,
    /// The model also takes the episode step (control steps since the instruction began),
    /// which the serve loop appends after the robot's `proprio_dim` values. Absent in
    /// answers of servers from before it existed: `false`.
    #[serde(default)]
    pub episode_step_input: bool,
    /// The model's instruction names the part of a multi-step task
    /// ([`ddvla_policy::skill_prompt`]): the serve loop counts the skills its sent commands
    /// finished and composes the instruction. Absent in answers of servers from before it
    /// existed, and for models without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_prompt: Option<ddvla_policy::skill_prompt::SkillPromptConfig>,
    /// The model's first three action values are target positions
    /// ([`ddvla_policy::position_target`]): the serve loop sends each as the delta from the
    /// newest measured position. Absent for delta models and from older servers. A robot
    /// built before this field ignores it and would send the targets as deltas: serve
    /// position-target models to robots of this version or later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_position_target: Option<ddvla_policy::position_target::PositionTarget>,
    /// Actions per chunk.
    pub chunk_len: usize,
    /// Values per action.
    pub action_dim: usize,
    /// Whether the weights were trained (a random-weight server says so).
    pub trained: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use ddvla_bridge::encode;

    use super::*;

    #[test]
    fn responses_round_trip_and_an_older_servers_answer_is_named() {
        let msg = InferenceResponseMsg {
            start_tick: 7,
            error: String::new(),
            horizon: 2,
            action_dim: 1,
            actions: vec![0.5, -0.25],
            rounds_cut: 3,
            trace_json: r#"{"decoder":"diffusion","rounds":[]}"#.into(),
        };
        let bytes = encode(&msg).unwrap();
        assert_eq!(decode_response(&bytes, 1 << 20).unwrap(), msg);

        // The second version (no trace) still decodes, with an empty trace.
        let v2 = InferenceResponseV2 {
            start_tick: 7,
            error: String::new(),
            horizon: 2,
            action_dim: 1,
            actions: vec![0.5, -0.25],
            rounds_cut: 3,
        };
        let got = decode_response(&encode(&v2).unwrap(), 1 << 20).unwrap();
        assert_eq!(got.actions, msg.actions);
        assert_eq!(got.rounds_cut, 3);
        assert!(got.trace_json.is_empty());

        let old = InferenceResponseV1 {
            start_tick: 7,
            error: String::new(),
            horizon: 2,
            action_dim: 1,
            actions: vec![0.5, -0.25],
        };
        let err = decode_response(&encode(&old).unwrap(), 1 << 20).unwrap_err();
        assert!(matches!(err, ResponseError::OldServer { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("update ddvla on the policy server")
        );

        // An older robot reads a new answer: the trailing field is ignored.
        let read_by_old: InferenceResponseV1 = ddvla_bridge::decode(&bytes).unwrap();
        assert_eq!(read_by_old.actions, msg.actions);

        let err = decode_response(&[0, 1, 0, 0, 0xff], 1 << 20).unwrap_err();
        assert!(matches!(err, ResponseError::Decode(_)), "{err}");
    }
}
