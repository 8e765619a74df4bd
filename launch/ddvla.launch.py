"""ROS 2 launch file: starts `ddvla serve` as a node of a ROS 2 graph that uses rmw_zenoh.

    ros2 launch launch/ddvla.launch.py config:=launch/robot.toml

ddvla speaks the rmw_zenoh wire format itself (it links no ROS library); this file only
sets RMW_IMPLEMENTATION=rmw_zenoh_cpp for the nodes started next to it, so that they and
ddvla meet through the zenoh router (`ros2 run rmw_zenoh_cpp rmw_zenohd`, which ddvla's
default [zenoh] connect endpoint tcp/127.0.0.1:7447 reaches). `ddvla` must be on PATH (or
pass ddvla:=/path/to/ddvla). SIGINT from `ros2 launch` stops the loop cleanly and closes the
recording. The live rerun view (a build with `--features rerun`) is set in the config's
[rerun] section (`rrd`, `connect`), like everything else about the run.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("config", default_value="launch/robot.toml",
                              description="ddvla serve config (TOML)"),
        DeclareLaunchArgument("ddvla", default_value="ddvla",
                              description="path to the ddvla binary"),
        SetEnvironmentVariable("RMW_IMPLEMENTATION", "rmw_zenoh_cpp"),
        ExecuteProcess(
            cmd=[LaunchConfiguration("ddvla"), "serve", "--config", LaunchConfiguration("config")],
            name="ddvla",
            output="screen",
            sigterm_timeout="5",
        ),
    ])
