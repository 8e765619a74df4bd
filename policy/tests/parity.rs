//! Parity with independent implementations: HF `transformers` `LlamaModel` and
//! `SiglipVisionModel` on tiny random configs, float32, within 1e-4. The goldens and the
//! script that made them are in `tests/golden/` (see its README); no PyTorch is needed here.
#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

mod common;

use std::path::PathBuf;

use common::max_abs_diff;

use candle_core::safetensors::BufferedSafetensors;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use ddvla_policy::model::attention_mask;
use ddvla_policy::model::backbone::Backbone;
use ddvla_policy::model::config::{AttentionMode, TextConfig, VisionActivation, VisionConfig};
use ddvla_policy::model::vision::VisionEncoder;

const TOL: f32 = 1e-4;

fn golden(name: &str) -> (BufferedSafetensors, serde_json::Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let st =
        BufferedSafetensors::new(std::fs::read(dir.join(format!("{name}.safetensors"))).unwrap())
            .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    (st, json)
}

fn us(v: &serde_json::Value, k: &str) -> usize {
    v[k].as_u64().unwrap() as usize
}

#[test]
fn llama_backbone_matches_hf_transformers_in_every_attention_mode() {
    let (st, j) = golden("llama_tiny");
    let cfg = TextConfig {
        vocab_size: us(&j, "vocab_size"),
        hidden_size: us(&j, "hidden_size"),
        intermediate_size: us(&j, "intermediate_size"),
        num_hidden_layers: us(&j, "num_hidden_layers"),
        num_attention_heads: us(&j, "num_attention_heads"),
        num_key_value_heads: us(&j, "num_key_value_heads"),
        rms_norm_eps: j["rms_norm_eps"].as_f64().unwrap(),
        rope_theta: j["rope_theta"].as_f64().unwrap(),
        max_position_embeddings: us(&j, "max_position_embeddings"),
    };
    let dev = Device::Cpu;
    let x = st.load("input.inputs_embeds", &dev).unwrap();
    let mut backbone = Backbone::load(
        VarBuilder::from_backend(Box::new(st), DType::F32, dev.clone()),
        &cfg,
    )
    .unwrap();
    let (st, _) = golden("llama_tiny");
    let s = us(&j, "seq_len");
    let prefix_len = us(&j, "prefix_len");
    for (mode, name) in [
        (AttentionMode::Causal, "output.causal"),
        (AttentionMode::Bidirectional, "output.bidirectional"),
        (AttentionMode::Prefix, "output.prefix"),
    ] {
        let mask = attention_mask::build(mode, 0, s, s, prefix_len, &dev).unwrap();
        let ours = backbone.forward(&x, 0, mask.as_ref(), None).unwrap();
        let want = st.load(name, &dev).unwrap();
        let d = max_abs_diff(&ours, &want);
        assert!(d < TOL, "{name}: max |ours - hf| = {d}");
    }
    // The inference-time fused projections compute the same thing.
    backbone.fuse_projections().unwrap();
    let mask = attention_mask::build(AttentionMode::Prefix, 0, s, s, prefix_len, &dev).unwrap();
    let fused = backbone.forward(&x, 0, mask.as_ref(), None).unwrap();
    let d = max_abs_diff(&fused, &st.load("output.prefix", &dev).unwrap());
    assert!(d < TOL, "fused projections: {d}");
    // The KV-cached path gives the same prefix-mode result: prefix first, then the rest.
    let mut cache = ddvla_policy::kv_cache::KvCache::new(backbone.num_layers());
    let head = x.narrow(1, 0, prefix_len).unwrap();
    let tail = x.narrow(1, prefix_len, s - prefix_len).unwrap();
    let m0 = attention_mask::build(
        AttentionMode::Prefix,
        0,
        prefix_len,
        prefix_len,
        prefix_len,
        &dev,
    )
    .unwrap();
    let h0 = backbone
        .forward(&head, 0, m0.as_ref(), Some(&mut cache))
        .unwrap();
    let m1 = attention_mask::build(
        AttentionMode::Prefix,
        prefix_len,
        s - prefix_len,
        s,
        prefix_len,
        &dev,
    )
    .unwrap();
    let h1 = backbone
        .forward(&tail, prefix_len, m1.as_ref(), Some(&mut cache))
        .unwrap();
    let want = st.load("output.prefix", &dev).unwrap();
    let d = max_abs_diff(&Tensor::cat(&[h0, h1], 1).unwrap(), &want);
    assert!(d < TOL, "cached prefix pass: {d}");
}

#[test]
fn siglip_encoder_matches_hf_transformers() {
    let (st, j) = golden("siglip_tiny");
    let layers = us(&j, "num_hidden_layers");
    let cfg = |feature_layer: usize| VisionConfig {
        image_size: us(&j, "image_size"),
        patch_size: us(&j, "patch_size"),
        hidden_size: us(&j, "hidden_size"),
        intermediate_size: us(&j, "intermediate_size"),
        num_hidden_layers: layers,
        num_attention_heads: us(&j, "num_attention_heads"),
        layer_norm_eps: j["layer_norm_eps"].as_f64().unwrap(),
        hidden_act: VisionActivation::GeluTanh,
        feature_layer,
        use_post_layernorm: feature_layer == layers,
        ..VisionConfig::default()
    };
    let dev = Device::Cpu;
    let pixels = st.load("input.pixel_values", &dev).unwrap();
    let vb = VarBuilder::from_backend(Box::new(st), DType::F32, dev.clone());
    let (st, _) = golden("siglip_tiny");
    let full = VisionEncoder::load(vb.clone(), &cfg(layers)).unwrap();
    let d = max_abs_diff(
        &full.forward(&pixels).unwrap(),
        &st.load("output.last_hidden_state", &dev).unwrap(),
    );
    assert!(d < TOL, "last_hidden_state: {d}");
    for (k, h) in full.hidden_states(&pixels).unwrap().iter().enumerate() {
        let want = st.load(&format!("output.hidden_state_{k}"), &dev).unwrap();
        let d = max_abs_diff(h, &want);
        assert!(d < TOL, "hidden_state_{k}: {d}");
    }
    // Prismatic's feature: the second-to-last block's output, no post-norm.
    let penultimate = VisionEncoder::load(vb, &cfg(layers - 1)).unwrap();
    let want = st
        .load(&format!("output.hidden_state_{}", layers - 1), &dev)
        .unwrap();
    let d = max_abs_diff(&penultimate.forward(&pixels).unwrap(), &want);
    assert!(d < TOL, "penultimate feature: {d}");
}
