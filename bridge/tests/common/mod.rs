//! Helpers shared by the bridge's integration tests.
#![allow(dead_code, clippy::unwrap_used)] // not every test file uses every helper

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ddvla_bridge::transport::zenoh::{ZenohConfig, ZenohTransport};

/// The interop venv's Python made by scripts/setup.sh.
pub fn python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/venv-bridge/bin/python");
    assert!(
        py.exists(),
        "{} missing: run scripts/setup.sh (creates the interop venv)",
        py.display()
    );
    py
}

/// A committed script under bridge/scripts.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    ddvla_bridge::transport::zenoh::free_loopback_port().unwrap()
}

/// A zenoh node listening on `port` (or connecting to it), no router, domain 0.
pub fn node(name: &str, port: u16, listen: bool) -> ZenohTransport {
    ZenohTransport::open(&ZenohConfig::loopback(name, port, listen)).unwrap()
}

/// Call `attempt` every 20 ms until it returns `Some` or `timeout` passes (zenoh routes are
/// established asynchronously after a declaration).
pub fn retry<T>(timeout: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(value) = attempt() {
            return Some(value);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
