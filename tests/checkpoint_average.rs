//! `ddvla checkpoint average`: the averaged folder is a checkpoint that loads as the trained
//! policy, and averaging refuses what would not be one.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::path::Path;
use std::process::Command;

use candle_core::Device;
use ddvla_policy::Policy;

/// `ddvla checkpoint average INPUTS... --out OUT`.
fn average(inputs: &[&Path], out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ddvla"))
        .args(["checkpoint", "average"])
        .args(inputs)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn the_average_of_a_checkpoint_with_itself_is_that_checkpoint() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("checkpoints/compact-libero-spatial-parallel-50");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("soup");
    let o = average(&[&shipped, &shipped], &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let load = |p: &Path| candle_core::safetensors::load(p.join("model.safetensors"), &Device::Cpu);
    let (a, b) = (load(&shipped).unwrap(), load(&out).unwrap());
    assert_eq!(a.len(), b.len());
    let a: std::collections::BTreeMap<_, _> = a.into_iter().collect();
    for (name, t) in &a {
        // (a + a) / 2 is a exactly in binary floating point.
        let values = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(values(t), values(&b[name]), "{name}");
    }
    let policy = Policy::from_checkpoint(&out, None, &Device::Cpu).unwrap();
    assert!(policy.is_trained());
    // A second run into the same folder is refused, and so is a folder of another model.
    let again = average(&[&shipped, &shipped], &out);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let other = Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/compact-libero-object");
    let mixed = average(&[&shipped, &other], &d.path().join("mixed"));
    // The object policy is the same model fine-tuned: it averages. Its config must match.
    assert!(
        mixed.status.success(),
        "{}",
        String::from_utf8_lossy(&mixed.stderr)
    );
    let stage2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/compact-libero-spatial");
    let refused = average(&[&shipped, &stage2], &d.path().join("refused"));
    assert!(!refused.status.success());
    assert!(!d.path().join("refused").exists());
}

#[test]
fn weighted_averages_weigh_each_checkpoint_and_refuse_a_wrong_count() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spatial = root.join("checkpoints/compact-libero-spatial-parallel-50");
    let object = root.join("checkpoints/compact-libero-object");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("wise");
    let run = |weights: &str, out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_ddvla"))
            .args(["checkpoint", "average"])
            .args([&spatial, &object])
            .args(["--weights", weights, "--out"])
            .arg(out)
            .output()
            .unwrap()
    };
    let o = run("3,1", &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("weighted average"));
    let load = |p: &Path| {
        let t = candle_core::safetensors::load(p.join("model.safetensors"), &Device::Cpu).unwrap();
        t["language_model.model.layers.1.self_attn.k_proj.weight"]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    let (a, b, mix) = (load(&spatial), load(&object), load(&out));
    for ((a, b), m) in a.iter().zip(&b).zip(&mix) {
        assert!((m - (3.0 * a + b) / 4.0).abs() <= 1e-6, "{m} vs {a}, {b}");
    }
    assert!(
        a != b,
        "the two policies must differ for this test to say anything"
    );
    assert!(Policy::from_checkpoint(&out, None, &Device::Cpu).is_ok());
    let bad = d.path().join("bad");
    let refused = run("1", &bad);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("1 weights for 2 checkpoints"));
    assert!(!bad.exists());
}
