//! `geometry_msgs`.

use serde::{Deserialize, Serialize};

use super::RosMessage;
use super::std::Header;

/// `geometry_msgs/msg/Point` (m).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// z.
    pub z: f64,
}

/// `geometry_msgs/msg/Vector3`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Vector3 {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// z.
    pub z: f64,
}

/// `geometry_msgs/msg/Quaternion` (x, y, z, w order on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quaternion {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// z.
    pub z: f64,
    /// w.
    pub w: f64,
}

impl Default for Quaternion {
    fn default() -> Self {
        Self {
            x: 0.0,
            y: 0.0,
            z: 0.0,
            w: 1.0,
        }
    }
}

/// `geometry_msgs/msg/Pose`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Pose {
    /// Position.
    pub position: Point,
    /// Orientation.
    pub orientation: Quaternion,
}

/// `geometry_msgs/msg/PoseStamped`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PoseStamped {
    /// Header.
    pub header: Header,
    /// Pose.
    pub pose: Pose,
}

/// `geometry_msgs/msg/Twist`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Twist {
    /// Linear velocity (m/s).
    pub linear: Vector3,
    /// Angular velocity (rad/s).
    pub angular: Vector3,
}

/// `geometry_msgs/msg/TwistStamped`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TwistStamped {
    /// Header.
    pub header: Header,
    /// Twist.
    pub twist: Twist,
}

impl RosMessage for PoseStamped {
    const TYPE_NAME: &'static str = "geometry_msgs/msg/PoseStamped";
    const DEFINITION: &'static str = concat!(
        "std_msgs/Header header\nPose pose\n",
        header_deps!(),
        "================================================================================\n",
        "MSG: geometry_msgs/Pose\nPoint position\nQuaternion orientation\n",
        "================================================================================\n",
        "MSG: geometry_msgs/Point\nfloat64 x\nfloat64 y\nfloat64 z\n",
        "================================================================================\n",
        "MSG: geometry_msgs/Quaternion\nfloat64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1\n"
    );
}

impl RosMessage for TwistStamped {
    const TYPE_NAME: &'static str = "geometry_msgs/msg/TwistStamped";
    const DEFINITION: &'static str = concat!(
        "std_msgs/Header header\nTwist twist\n",
        header_deps!(),
        "================================================================================\n",
        "MSG: geometry_msgs/Twist\nVector3 linear\nVector3 angular\n",
        "================================================================================\n",
        "MSG: geometry_msgs/Vector3\nfloat64 x\nfloat64 y\nfloat64 z\n"
    );
}
