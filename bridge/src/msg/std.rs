//! `builtin_interfaces` and `std_msgs`.

use serde::{Deserialize, Serialize};

use super::RosMessage;

/// `builtin_interfaces/msg/Time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Time {
    /// Seconds.
    pub sec: i32,
    /// Nanoseconds within the second.
    pub nanosec: u32,
}

impl Time {
    /// From nanoseconds since the epoch (or any origin).
    pub fn from_ns(ns: u64) -> Self {
        Self {
            sec: (ns / 1_000_000_000) as i32,
            nanosec: (ns % 1_000_000_000) as u32,
        }
    }

    /// Back to nanoseconds (negative seconds clamp to 0).
    pub fn as_ns(&self) -> u64 {
        u64::try_from(self.sec).unwrap_or(0) * 1_000_000_000 + u64::from(self.nanosec)
    }
}

/// `builtin_interfaces/msg/Duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Duration {
    /// Seconds.
    pub sec: i32,
    /// Nanoseconds within the second.
    pub nanosec: u32,
}

/// `std_msgs/msg/Header`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Header {
    /// Acquisition time.
    pub stamp: Time,
    /// Coordinate frame.
    pub frame_id: String,
}

/// `std_msgs/msg/String`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StringMsg {
    /// The text.
    pub data: String,
}

/// `std_msgs/msg/MultiArrayDimension`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MultiArrayDimension {
    /// Dimension name.
    pub label: String,
    /// Size of this dimension.
    pub size: u32,
    /// Stride of this dimension (elements).
    pub stride: u32,
}

/// `std_msgs/msg/MultiArrayLayout`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MultiArrayLayout {
    /// Dimensions, outermost first.
    pub dim: Vec<MultiArrayDimension>,
    /// Padding elements at the front of `data`.
    pub data_offset: u32,
}

/// `std_msgs/msg/Float32MultiArray`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Float32MultiArray {
    /// Layout.
    pub layout: MultiArrayLayout,
    /// Values.
    pub data: Vec<f32>,
}

/// `std_msgs/msg/Bool` (e.g. an e-stop flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Bool {
    /// The value.
    pub data: bool,
}

impl RosMessage for Bool {
    const TYPE_NAME: &'static str = "std_msgs/msg/Bool";
    const DEFINITION: &'static str = "bool data\n";
}

impl RosMessage for StringMsg {
    const TYPE_NAME: &'static str = "std_msgs/msg/String";
    const DEFINITION: &'static str = "string data\n";
}

impl RosMessage for Float32MultiArray {
    const TYPE_NAME: &'static str = "std_msgs/msg/Float32MultiArray";
    const DEFINITION: &'static str = concat!(
        "MultiArrayLayout layout\nfloat32[] data\n",
        "================================================================================\n",
        "MSG: std_msgs/MultiArrayLayout\n",
        "MultiArrayDimension[] dim\nuint32 data_offset\n",
        "================================================================================\n",
        "MSG: std_msgs/MultiArrayDimension\n",
        "string label\nuint32 size\nuint32 stride\n"
    );
}

impl Float32MultiArray {
    /// An action chunk (`horizon × action_dim`, row-major) with dims `[horizon, action_dim]`
    /// labelled `horizon` and `action_dim`, so stock ROS tools can read it.
    pub fn action_chunk(horizon: usize, action_dim: usize, data: Vec<f32>) -> Self {
        Self {
            layout: MultiArrayLayout {
                dim: vec![
                    MultiArrayDimension {
                        label: "horizon".into(),
                        size: horizon as u32,
                        stride: (horizon * action_dim) as u32,
                    },
                    MultiArrayDimension {
                        label: "action_dim".into(),
                        size: action_dim as u32,
                        stride: action_dim as u32,
                    },
                ],
                data_offset: 0,
            },
            data,
        }
    }
}

impl RosMessage for Header {
    const TYPE_NAME: &'static str = "std_msgs/msg/Header";
    const DEFINITION: &'static str = concat!(
        "builtin_interfaces/Time stamp\nstring frame_id\n",
        "================================================================================\n",
        "MSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n"
    );
}
