//! ddvla-bridge: Transports (zenoh with the rmw_zenoh wire format, r2r behind ros2), CDR messages, MCAP recording and replay.
//!
//! Not written yet: this crate is filled by its own issue (see `issues`). It exists so the
//! workspace has its final shape.
