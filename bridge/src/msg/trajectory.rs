//! `trajectory_msgs`.

use serde::{Deserialize, Serialize};

use super::RosMessage;
use super::std::{Duration, Header};

/// `trajectory_msgs/msg/JointTrajectoryPoint`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JointTrajectoryPoint {
    /// Positions.
    pub positions: Vec<f64>,
    /// Velocities.
    pub velocities: Vec<f64>,
    /// Accelerations.
    pub accelerations: Vec<f64>,
    /// Efforts.
    pub effort: Vec<f64>,
    /// Time from the trajectory start.
    pub time_from_start: Duration,
}

/// `trajectory_msgs/msg/JointTrajectory`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JointTrajectory {
    /// Header.
    pub header: Header,
    /// Joint names.
    pub joint_names: Vec<String>,
    /// Waypoints.
    pub points: Vec<JointTrajectoryPoint>,
}

impl RosMessage for JointTrajectory {
    const TYPE_NAME: &'static str = "trajectory_msgs/msg/JointTrajectory";
    const DEFINITION: &'static str = concat!(
        "std_msgs/Header header\nstring[] joint_names\nJointTrajectoryPoint[] points\n",
        header_deps!(),
        "================================================================================\n",
        "MSG: trajectory_msgs/JointTrajectoryPoint\n",
        "float64[] positions\nfloat64[] velocities\nfloat64[] accelerations\nfloat64[] effort\n",
        "builtin_interfaces/Duration time_from_start\n",
        "================================================================================\n",
        "MSG: builtin_interfaces/Duration\nint32 sec\nuint32 nanosec\n"
    );
}
