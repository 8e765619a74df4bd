//! Replay of a recording as a message stream: at the recorded pace (optionally scaled) or as
//! fast as possible, with a topic filter, into a callback or onto a transport.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::error::{BridgeError, Result};
use crate::record::RecordedMessage;
use crate::transport::{Publisher, TopicSpec, Transport};

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Deliver each message as soon as the previous one was handled.
    AsFastAsPossible,
    /// Keep the recorded log-time spacing, divided by `speed` (1.0 = real time).
    Recorded {
        /// Playback speed factor, > 0.
        speed: f64,
    },
}

/// Waits until an offset from the start of playback; a trait so tests and the runtime's
/// mock clock can replay without sleeping.
pub trait Pacer {
    /// Block until `offset_ns` after the start of playback.
    fn wait_until(&mut self, offset_ns: u64);
}

/// Wall-clock pacing with the monotonic clock.
#[derive(Debug)]
pub struct WallClock {
    start: Instant,
}

impl WallClock {
    /// Playback starts now.
    pub fn start_now() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Pacer for WallClock {
    fn wait_until(&mut self, offset_ns: u64) {
        let target = self.start + Duration::from_nanos(offset_ns);
        let now = Instant::now();
        if target > now {
            std::thread::sleep(target - now);
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplayStats {
    /// Messages delivered.
    pub messages: u64,
    /// Log time spanned by the delivered messages (ns).
    pub span_ns: u64,
}

/// Deliver `messages` (in log-time order) to `sink` at `pace`. `sink` errors stop playback.
pub fn replay(
    messages: &[RecordedMessage],
    pace: Pace,
    pacer: &mut dyn Pacer,
    mut sink: impl FnMut(&RecordedMessage) -> Result<()>,
) -> Result<ReplayStats> {
    let speed = match pace {
        Pace::Recorded { speed } if !(speed.is_finite() && speed > 0.0) => {
            return Err(BridgeError::Config {
                what: "replay speed".into(),
                reason: format!("{speed} is not a positive finite factor"),
            });
        }
        Pace::Recorded { speed } => Some(speed),
        Pace::AsFastAsPossible => None,
    };
    let mut ordered: Vec<&RecordedMessage> = messages.iter().collect();
    ordered.sort_by_key(|m| m.log_time_ns); // stable: file order among equal times
    let Some(first) = ordered.first().map(|m| m.log_time_ns) else {
        return Ok(ReplayStats::default());
    };
    let mut stats = ReplayStats::default();
    for message in ordered {
        let offset_ns = message.log_time_ns - first;
        if let Some(speed) = speed {
            pacer.wait_until((offset_ns as f64 / speed) as u64);
        }
        sink(message)?;
        stats.messages += 1;
        stats.span_ns = offset_ns;
    }
    Ok(stats)
}

/// Publish `messages` on `transport`, one publisher per topic declared up front from the
/// recorded schemas (so their type hashes are the recorded types').
pub fn replay_to_transport(
    messages: &[RecordedMessage],
    pace: Pace,
    pacer: &mut dyn Pacer,
    transport: &dyn Transport,
) -> Result<ReplayStats> {
    let mut publishers: BTreeMap<&str, Box<dyn Publisher>> = BTreeMap::new();
    for m in messages {
        if !publishers.contains_key(m.topic.as_str()) {
            let spec = TopicSpec::from_definition(&m.topic, &m.type_name, &m.definition)?;
            publishers.insert(&m.topic, transport.publisher(&spec)?);
        }
    }
    replay(messages, pace, pacer, |m| {
        match publishers.get(m.topic.as_str()) {
            Some(publisher) => publisher.publish(&m.data),
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Recording(Vec<u64>);

    impl Pacer for Recording {
        fn wait_until(&mut self, offset_ns: u64) {
            self.0.push(offset_ns);
        }
    }

    fn message(topic: &str, t: u64) -> RecordedMessage {
        RecordedMessage {
            topic: topic.into(),
            type_name: "std_msgs/msg/String".into(),
            definition: "string data\n".into(),
            log_time_ns: t,
            publish_time_ns: t,
            data: vec![0, 1, 0, 0, 1, 0, 0, 0, 0],
        }
    }

    #[test]
    fn paces_by_log_time_scaled_by_speed() {
        let msgs = [
            message("/b", 3_000),
            message("/a", 1_000),
            message("/a", 2_000),
        ];
        let mut pacer = Recording(Vec::new());
        let mut order = Vec::new();
        let stats = replay(&msgs, Pace::Recorded { speed: 2.0 }, &mut pacer, |m| {
            order.push(m.log_time_ns);
            Ok(())
        })
        .expect("replay");
        assert_eq!(order, [1_000, 2_000, 3_000]);
        assert_eq!(pacer.0, [0, 500, 1_000]);
        assert_eq!(stats.span_ns, 2_000);
        let mut none = Recording(Vec::new());
        replay(&msgs, Pace::AsFastAsPossible, &mut none, |_| Ok(())).expect("replay");
        assert!(none.0.is_empty());
        assert!(replay(&msgs, Pace::Recorded { speed: 0.0 }, &mut none, |_| Ok(())).is_err());
    }

    #[test]
    fn wall_clock_replay_takes_the_recorded_time() {
        let msgs = [message("/a", 0), message("/a", 30_000_000)];
        let started = Instant::now();
        replay(
            &msgs,
            Pace::Recorded { speed: 1.0 },
            &mut WallClock::start_now(),
            |_| Ok(()),
        )
        .expect("replay");
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn publishes_onto_a_transport() {
        use crate::msg::std::StringMsg;
        let transport = crate::transport::inproc::InProcessTransport::new();
        let sub = transport
            .subscribe(&TopicSpec::of::<StringMsg>("/a").expect("spec"), 8)
            .expect("sub");
        let msgs = [message("/a", 0), message("/a", 10)];
        let stats = replay_to_transport(
            &msgs,
            Pace::AsFastAsPossible,
            &mut WallClock::start_now(),
            &transport,
        )
        .expect("replay");
        assert_eq!(stats.messages, 2);
        assert_eq!(sub.counts().received, 2);
        let (msg, _) = sub
            .recv_msg::<StringMsg>(Duration::from_millis(10))
            .expect("message");
        assert_eq!(msg.data, "");
    }
}
