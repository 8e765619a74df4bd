//! Fixed-time fuzzing of every decoder: valid encodings are mutated (bit flips, byte
//! overwrites, truncation, extension, length-prefix corruption) and fed to the CDR decoders,
//! the attachment parser, the compressed-image decoder and the type-description parser.
//! Nothing may panic, hang or allocate what a corrupt length claims. Runs for
//! `DDVLA_FUZZ_SECONDS` (default 3) per test with a fixed seed (`DDVLA_FUZZ_SEED`).
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::time::{Duration, Instant};

use ddvla_bridge::msg::geometry::{PoseStamped, TwistStamped};
use ddvla_bridge::msg::sensor::{CompressedImage, Image, JointState, Rgb8};
use ddvla_bridge::msg::std::{Bool, Float32MultiArray, Header, StringMsg, Time};
use ddvla_bridge::msg::trajectory::JointTrajectory;
use ddvla_bridge::rmw::{Attachment, type_hash};
use ddvla_bridge::{RosMessage, decode_limited, encode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn budget() -> Duration {
    let seconds = std::env::var("DDVLA_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(3.0);
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::from_secs(3))
}

fn rng() -> ChaCha8Rng {
    let seed = std::env::var("DDVLA_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00dd_f1a0);
    ChaCha8Rng::seed_from_u64(seed)
}

fn mutate(rng: &mut ChaCha8Rng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..rng.random_range(1..4) {
        match rng.random_range(0..5) {
            0 if !bytes.is_empty() => {
                let i = rng.random_range(0..bytes.len());
                bytes[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !bytes.is_empty() => {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
            2 => bytes.truncate(rng.random_range(0..=bytes.len())),
            3 => {
                let extra = rng.random_range(1..16);
                bytes.extend((0..extra).map(|_| rng.random::<u8>()));
            }
            _ if bytes.len() >= 8 => {
                // A 4-byte aligned word set to a huge or random length.
                let i = 4 * rng.random_range(1..bytes.len() / 4);
                let word: u32 = if rng.random() { u32::MAX } else { rng.random() };
                if i + 4 <= bytes.len() {
                    bytes[i..i + 4].copy_from_slice(&word.to_le_bytes());
                }
            }
            _ => {}
        }
    }
    bytes
}

/// Mutate `seeds` and decode as `M` for 1/9 of the budget (nine message types share it);
/// returns (cases, accepted).
fn fuzz<M: RosMessage>(seeds: &[Vec<u8>]) -> (u64, u64) {
    let mut rng = rng();
    let deadline = Instant::now() + budget() / 9;
    let (mut cases, mut accepted) = (0, 0);
    while Instant::now() < deadline {
        for seed in seeds {
            let bytes = mutate(&mut rng, seed);
            let started = Instant::now();
            accepted += u64::from(decode_limited::<M>(&bytes, 1 << 20).is_ok());
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{}: one decode took {:?} on {bytes:02x?}",
                M::TYPE_NAME,
                started.elapsed()
            );
            cases += 1;
        }
    }
    (cases, accepted)
}

fn header() -> Header {
    Header {
        stamp: Time::from_ns(1_234_567_890),
        frame_id: "base".into(),
    }
}

#[test]
fn cdr_decoders_survive_mutated_payloads() {
    let image = Image::rgb8(header(), 3, 2, (0..18).collect());
    let joints = JointState {
        header: header(),
        name: vec!["a".into(), "b".into()],
        position: vec![0.5, 1.5],
        velocity: vec![],
        effort: vec![],
    };
    let chunk = Float32MultiArray::action_chunk(2, 3, vec![0.25; 6]);
    let (cases, _) = fuzz::<Image>(&[encode(&image).unwrap()]);
    assert!(cases > 100, "only {cases} cases");
    fuzz::<JointState>(&[encode(&joints).unwrap()]);
    fuzz::<Float32MultiArray>(&[encode(&chunk).unwrap()]);
    fuzz::<StringMsg>(&[encode(&StringMsg {
        data: "pick".into(),
    })
    .unwrap()]);
    fuzz::<Bool>(&[encode(&Bool { data: true }).unwrap()]);
    fuzz::<PoseStamped>(&[encode(&PoseStamped::default()).unwrap()]);
    fuzz::<TwistStamped>(&[encode(&TwistStamped::default()).unwrap()]);
    fuzz::<JointTrajectory>(&[encode(&JointTrajectory::default()).unwrap()]);
    fuzz::<CompressedImage>(&[encode(&CompressedImage::default()).unwrap()]);
}

#[test]
fn attachment_parser_survives_mutations() {
    let mut rng = rng();
    let valid = Attachment {
        sequence: 1,
        source_time_ns: 2,
        gid: [7; 16],
    }
    .to_bytes();
    let deadline = Instant::now() + budget() / 4;
    while Instant::now() < deadline {
        let bytes = mutate(&mut rng, &valid);
        if let Ok(parsed) = Attachment::parse(&bytes) {
            assert_eq!(parsed.to_bytes().as_slice(), bytes.as_slice());
        }
    }
}

#[test]
fn compressed_image_decoder_survives_mutations() {
    let rgb = Rgb8 {
        width: 16,
        height: 8,
        data: (0..16 * 8 * 3).map(|i| (i % 251) as u8).collect(),
    };
    let seeds: Vec<CompressedImage> = [image::ImageFormat::Png, image::ImageFormat::Jpeg]
        .into_iter()
        .map(|f| CompressedImage::from_rgb8(header(), &rgb, f).unwrap())
        .collect();
    let mut rng = rng();
    let deadline = Instant::now() + budget();
    let mut cases = 0;
    while Instant::now() < deadline {
        for seed in &seeds {
            let mutated = CompressedImage {
                data: mutate(&mut rng, &seed.data),
                ..seed.clone()
            };
            if let Ok(decoded) = mutated.to_rgb8() {
                assert_eq!(
                    decoded.data.len(),
                    (decoded.width * decoded.height * 3) as usize
                );
            }
            cases += 1;
        }
    }
    assert!(cases > 10);
}

#[test]
fn type_description_parser_survives_mutations() {
    let mut rng = rng();
    let deadline = Instant::now() + budget() / 4;
    while Instant::now() < deadline {
        let text = mutate(&mut rng, JointState::DEFINITION.as_bytes());
        let _ = type_hash(JointState::TYPE_NAME, &String::from_utf8_lossy(&text));
    }
}
