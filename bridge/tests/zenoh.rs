//! The zenoh transport on loopback: two nodes exchange typed messages on rmw_zenoh keys with
//! attachments and liveliness tokens; wrong type hashes, missing attachments and malformed
//! payloads are rejected and counted while the subscription keeps working.
#![cfg(feature = "zenoh")]
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use std::time::Duration;

use ddvla_bridge::msg::sensor::Image;
use ddvla_bridge::msg::std::{Header, StringMsg};
use ddvla_bridge::rmw::{endpoint_gid, topic_key};
use ddvla_bridge::{TopicSpec, Transport, encode, publish_msg};
use zenoh::Wait;

use common::{free_port, node, retry};

#[test]
fn two_nodes_exchange_messages_on_rmw_zenoh_keys() {
    let port = free_port();
    let robot = node("robot", port, true);
    let ddvla = node("ddvla", port, false);

    let spec = TopicSpec::of::<StringMsg>("/instruction").unwrap();
    let sub = ddvla.subscribe(&spec, 16).unwrap();
    let publisher = robot.publisher(&spec).unwrap();
    let first = retry(Duration::from_secs(10), || {
        publish_msg(
            publisher.as_ref(),
            &StringMsg {
                data: "probe".into(),
            },
        )
        .unwrap();
        sub.recv_msg::<StringMsg>(Duration::from_millis(50))
    })
    .expect("no sample within 10 s");
    assert_eq!(first.0.data, "probe");
    while sub.try_recv().is_some() {}

    for i in 0..5 {
        publish_msg(
            publisher.as_ref(),
            &StringMsg {
                data: format!("pick {i}"),
            },
        )
        .unwrap();
    }
    let got: Vec<_> = (0..5)
        .map(|_| {
            sub.recv_msg::<StringMsg>(Duration::from_secs(5))
                .expect("message")
        })
        .collect();
    assert_eq!(got[4].0.data, "pick 4");
    let seqs: Vec<i64> = got
        .iter()
        .map(|(_, s)| s.attachment.unwrap().sequence)
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let att = got[0].1.attachment.unwrap();
    assert!(att.source_time_ns > 1_600_000_000_000_000_000);
    assert_ne!(att.gid, [0; 16]);

    // Images go through unchanged.
    let img_spec = TopicSpec::of::<Image>("/camera/agentview/image_raw").unwrap();
    let img_sub = ddvla.subscribe(&img_spec, 2).unwrap();
    let img_pub = robot.publisher(&img_spec).unwrap();
    let image = Image::rgb8(Header::default(), 224, 224, vec![7; 224 * 224 * 3]);
    let (decoded, _) = retry(Duration::from_secs(10), || {
        publish_msg(img_pub.as_ref(), &image).unwrap();
        img_sub.recv_msg::<Image>(Duration::from_millis(50))
    })
    .unwrap();
    assert_eq!(decoded, image);
}

#[test]
fn bad_samples_are_rejected_counted_and_survived() {
    let port = free_port();
    let robot = node("robot", port, true);
    let ddvla = node("ddvla", port, false);
    let spec = TopicSpec::of::<StringMsg>("/instruction").unwrap();
    let sub = ddvla.subscribe(&spec, 16).unwrap();
    let publisher = robot.publisher(&spec).unwrap();
    let session = robot.session();
    let key = topic_key(0, "/instruction", "std_msgs/msg/String", &spec.type_hash).unwrap();
    let warm = encode(&StringMsg::default()).unwrap();
    // Both sending paths must reach the subscriber before the test starts: the declared
    // publisher and an undeclared `session.put` (which carries the hand-made bad samples)
    // are routed separately, and the second can lag the first on a loaded machine.
    retry(Duration::from_secs(10), || {
        publish_msg(publisher.as_ref(), &StringMsg::default()).unwrap();
        sub.recv_timeout(Duration::from_millis(50))
    })
    .expect("route for the publisher");
    retry(Duration::from_secs(10), || {
        session.put(key.clone(), warm.clone()).wait().unwrap();
        sub.recv_timeout(Duration::from_millis(50))
    })
    .expect("route for session.put");
    std::thread::sleep(Duration::from_millis(100));
    while sub.try_recv().is_some() {}
    let before = sub.counts();

    let payload = encode(&StringMsg { data: "x".into() }).unwrap();
    // Another definition of the type: a different hash on the key.
    let wrong = format!(
        "0/instruction/std_msgs::msg::dds_::String_/RIHS01_{}",
        "ab".repeat(32)
    );
    session.put(wrong, payload.clone()).wait().unwrap();
    // The right key without an attachment, and with a malformed one.
    session.put(key.clone(), payload.clone()).wait().unwrap();
    session
        .put(key.clone(), payload)
        .attachment(vec![1u8, 2, 3])
        .wait()
        .unwrap();
    // Truncated CDR with a valid attachment.
    publisher.publish(&[0, 1, 0, 0, 9, 0]).unwrap();
    publish_msg(publisher.as_ref(), &StringMsg { data: "ok".into() }).unwrap();

    // The samples with bad attachments are delivered (and counted), the wrong-hash and
    // truncated ones are not, and the subscription still delivers after them. Order between
    // the two sending paths is not part of the contract, so the three are compared as a set.
    let mut delivered = Vec::new();
    for _ in 0..3 {
        let (msg, _) = sub
            .recv_msg::<StringMsg>(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("only {delivered:?} delivered, counts {:?}", sub.counts()));
        delivered.push(msg.data);
    }
    delivered.sort();
    assert_eq!(delivered, ["ok", "x", "x"]);
    let after = retry(Duration::from_secs(5), || {
        let now = sub.counts();
        (now.rejected_type_hash > before.rejected_type_hash).then_some(now)
    })
    .expect("the wrong-hash sample is counted");
    assert_eq!(after.rejected_type_hash - before.rejected_type_hash, 1);
    assert_eq!(after.rejected_attachment - before.rejected_attachment, 2);
    assert_eq!(after.rejected_decode - before.rejected_decode, 1);
    assert!(sub.try_recv().is_none(), "nothing else was delivered");
}

#[test]
fn liveliness_tokens_describe_the_graph() {
    let port = free_port();
    let robot = node("robot", port, true);
    let ddvla = node("ddvla", port, false);
    let spec = TopicSpec::of::<StringMsg>("/ddvla/status").unwrap();
    let _publisher = ddvla.publisher(&spec).unwrap();
    let _sub = ddvla.subscribe(&spec, 1).unwrap();
    let zid = ddvla.node().session_id.clone();
    let tokens = retry(Duration::from_secs(10), || {
        let replies = robot
            .session()
            .liveliness()
            .get("@ros2_lv/0/**")
            .timeout(Duration::from_millis(500))
            .wait()
            .unwrap();
        let mut keys = Vec::new();
        while let Ok(reply) = replies.recv() {
            if let Ok(sample) = reply.result() {
                keys.push(sample.key_expr().as_str().to_owned());
            }
        }
        (keys.iter().filter(|k| k.contains(&zid)).count() >= 3).then_some(keys)
    })
    .expect("tokens");
    let hash = spec.type_hash.to_string();
    let expect = [
        format!("@ros2_lv/0/{zid}/0/0/NN/%/%/ddvla"),
        format!(
            "@ros2_lv/0/{zid}/0/1/MP/%/%/ddvla/%ddvla%status/std_msgs::msg::dds_::String_/{hash}/::,10:,:,:,,"
        ),
        format!(
            "@ros2_lv/0/{zid}/0/2/MS/%/%/ddvla/%ddvla%status/std_msgs::msg::dds_::String_/{hash}/::,10:,:,:,,"
        ),
    ];
    for token in &expect {
        assert!(tokens.contains(token), "{token} not in {tokens:#?}");
    }
    assert_eq!(endpoint_gid(&expect[1]).len(), 16);
}
