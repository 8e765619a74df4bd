//! CDR encoding: known bytes, round trips for every type, and malformed input.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use ddvla_bridge::msg::geometry::{
    Point, Pose, PoseStamped, Quaternion, Twist, TwistStamped, Vector3,
};
use ddvla_bridge::msg::sensor::{CompressedImage, Image, JointState};
use ddvla_bridge::msg::std::{Duration, Float32MultiArray, Header, StringMsg, Time};
use ddvla_bridge::msg::trajectory::{JointTrajectory, JointTrajectoryPoint};
use ddvla_bridge::{BridgeError, RosMessage, decode, decode_limited, encode};
use proptest::prelude::*;

#[test]
fn string_bytes_match_the_ros2_wire_format() {
    let bytes = encode(&StringMsg {
        data: "hello".into(),
    })
    .unwrap();
    // Encapsulation CDR_LE, length 6 (with the NUL), "hello\0".
    assert_eq!(
        &bytes[..10],
        &[0x00, 0x01, 0x00, 0x00, 6, 0, 0, 0, b'h', b'e']
    );
    assert_eq!(&bytes[8..14], b"hello\0");
    let header = encode(&Header {
        stamp: Time { sec: 1, nanosec: 2 },
        frame_id: "a".into(),
    })
    .unwrap();
    // int32 sec, uint32 nanosec, string (len 2, "a\0").
    assert_eq!(
        &header[4..],
        &[1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, b'a', 0][..header.len() - 4]
    );
}

#[test]
fn image_checks_step_size_and_encoding() {
    let h = Header::default();
    let mut img = Image {
        header: h.clone(),
        height: 2,
        width: 2,
        encoding: "bgr8".into(),
        is_bigendian: 0,
        step: 8,
        data: vec![0; 16],
    };
    // Padded rows: 2 px × 3 bytes + 2 padding bytes.
    img.data[..6].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
    let back: Image = decode(&encode(&img).unwrap()).unwrap();
    assert_eq!(&back.to_rgb8().unwrap()[..6], &[3, 2, 1, 6, 5, 4]);
    img.data.pop();
    assert!(matches!(
        decode::<Image>(&encode(&img).unwrap()),
        Err(BridgeError::Invalid { .. })
    ));
    img.data.push(0);
    img.encoding = "yuv422".into();
    assert!(
        decode::<Image>(&encode(&img).unwrap())
            .unwrap_err()
            .to_string()
            .contains("unknown encoding")
    );
    img.encoding = "rgb8".into();
    img.step = 5;
    assert!(decode::<Image>(&encode(&img).unwrap()).is_err());
}

#[test]
fn malformed_payloads_are_errors() {
    let good = encode(&JointState {
        header: Header::default(),
        name: vec!["j1".into()],
        position: vec![0.5],
        velocity: vec![],
        effort: vec![],
    })
    .unwrap();
    for cut in [0, 3, 4, 9, good.len() - 1] {
        assert!(
            decode::<JointState>(&good[..cut]).is_err(),
            "truncated at {cut}"
        );
    }
    let mut xcdr2 = good.clone();
    xcdr2[1] = 0x07;
    assert!(
        decode::<JointState>(&xcdr2)
            .unwrap_err()
            .to_string()
            .contains("encapsulation")
    );
    // A huge sequence length must not allocate or panic.
    // Offset of the `name` sequence length: 4 (encapsulation) + 8 (stamp) + 4 + 1 (empty
    // frame_id with its NUL) + 3 (alignment).
    let mut huge = good.clone();
    huge[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode::<JointState>(&huge).is_err());
    assert!(matches!(
        decode_limited::<JointState>(&good, 8),
        Err(BridgeError::TooLarge { .. })
    ));
    let bad = encode(&JointState {
        header: Header::default(),
        name: vec!["j1".into()],
        position: vec![0.5, 0.6],
        velocity: vec![],
        effort: vec![],
    })
    .unwrap();
    assert!(matches!(
        decode::<JointState>(&bad),
        Err(BridgeError::Invalid { .. })
    ));
}

fn round_trip<M: RosMessage + PartialEq + std::fmt::Debug>(m: &M) {
    let back: M = decode(&encode(m).unwrap()).unwrap();
    assert_eq!(&back, m);
}

fn header() -> impl Strategy<Value = Header> {
    (any::<i32>(), 0_u32..1_000_000_000, "[a-z_/]{0,12}").prop_map(|(sec, nanosec, frame_id)| {
        Header {
            stamp: Time { sec, nanosec },
            frame_id,
        }
    })
}

proptest! {
    #[test]
    fn every_type_round_trips(h in header(), names in proptest::collection::vec("[a-z0-9_]{1,8}", 0..5), xs in proptest::collection::vec(-1e6_f64..1e6, 0..5), fs in proptest::collection::vec(-1e3_f32..1e3, 0..20), w in 1_u32..6, hgt in 1_u32..6) {
        round_trip(&StringMsg { data: names.join(" ") });
        round_trip(&Float32MultiArray::action_chunk(1, fs.len(), fs.clone()));
        round_trip(&PoseStamped { header: h.clone(), pose: Pose { position: Point { x: 1.0, y: -2.0, z: 0.5 }, orientation: Quaternion { x: 0.0, y: 0.0, z: 0.6, w: 0.8 } } });
        round_trip(&TwistStamped { header: h.clone(), twist: Twist { linear: Vector3 { x: 0.1, y: 0.0, z: 0.0 }, angular: Vector3 { x: 0.0, y: 0.0, z: -0.3 } } });
        let n = names.len();
        round_trip(&JointState { header: h.clone(), name: names.clone(), position: vec![0.25; n], velocity: vec![], effort: vec![1.0; n] });
        round_trip(&JointTrajectory { header: h.clone(), joint_names: names.clone(), points: vec![JointTrajectoryPoint { positions: xs.clone(), velocities: vec![], accelerations: xs.clone(), effort: vec![], time_from_start: Duration { sec: 1, nanosec: 5 } }] });
        round_trip(&Image::rgb8(h.clone(), w, hgt, (0..w * hgt * 3).map(|i| i as u8).collect()));
        round_trip(&CompressedImage { header: h, format: "png".into(), data: vec![1, 2, 3] });
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode::<Image>(&bytes);
        let _ = decode::<JointState>(&bytes);
        let _ = decode::<JointTrajectory>(&bytes);
        let _ = decode::<Float32MultiArray>(&bytes);
        let _ = decode::<PoseStamped>(&bytes);
        let mut framed = vec![0, 1, 0, 0];
        framed.extend_from_slice(&bytes);
        let _ = decode::<Image>(&framed);
        let _ = decode::<JointTrajectory>(&framed);
        let _ = decode::<StringMsg>(&framed);
    }
}

#[test]
fn compressed_images_decode_png_exactly_and_jpeg_closely() {
    use ddvla_bridge::msg::sensor::Rgb8;
    let rgb = Rgb8 {
        width: 32,
        height: 16,
        data: (0..32 * 16)
            .flat_map(|i| [(i % 32 * 8) as u8, (i / 32 * 16) as u8, 128])
            .collect(),
    };
    let png = CompressedImage::from_rgb8(Header::default(), &rgb, image::ImageFormat::Png).unwrap();
    assert_eq!(png.format, "png");
    let wire: CompressedImage = decode(&encode(&png).unwrap()).unwrap();
    assert_eq!(wire.to_rgb8().unwrap(), rgb);
    let jpeg =
        CompressedImage::from_rgb8(Header::default(), &rgb, image::ImageFormat::Jpeg).unwrap();
    let back = jpeg.to_rgb8().unwrap();
    assert_eq!((back.width, back.height), (32, 16));
    let max_err = back
        .data
        .iter()
        .zip(&rgb.data)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(max_err < 40, "jpeg error {max_err}");
    // image_transport's format string, and sniffing when the format is empty.
    let named = CompressedImage {
        format: "rgb8; jpeg compressed bgr8".into(),
        ..jpeg.clone()
    };
    assert!(named.to_rgb8().is_ok());
    let sniffed = CompressedImage {
        format: String::new(),
        ..png.clone()
    };
    assert_eq!(sniffed.to_rgb8().unwrap(), rgb);
    // Unknown formats, corrupt bytes and a format that disagrees with the bytes are errors.
    let unknown = CompressedImage {
        format: "tiff".into(),
        ..png.clone()
    };
    assert!(unknown.to_rgb8().unwrap_err().to_string().contains("tiff"));
    let corrupt = CompressedImage {
        data: png.data[..png.data.len() / 2].to_vec(),
        ..png.clone()
    };
    assert!(corrupt.to_rgb8().is_err());
    let mismatched = CompressedImage {
        format: "jpeg".into(),
        ..png
    };
    assert!(mismatched.to_rgb8().is_err());
}
