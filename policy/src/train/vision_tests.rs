//! The differentiable vision twin against the inference towers: features and gradients.
#![allow(clippy::unwrap_used)] // tests

use candle_core::{Device, Tensor, Var};

use super::*;
use crate::checkpoint::random_model;
use crate::model::{Config, ConfigFile, VlaModel, presets};
use crate::observation::{CameraImage, Observation, prepare};
use crate::text::PromptTokenizer;
use crate::train::test_support::{max_diff, randn};

/// A random model whose vision weights (LayerNorm scales and biases included) are all
/// perturbed, so every parameter of the twin matters.
fn model(file: ConfigFile) -> (VlaModel, VarMap) {
    let (model, varmap) = random_model(Config::new(file).unwrap(), &Device::Cpu).unwrap();
    let vars: Vec<(String, Var)> = {
        let data = varmap.data().lock().unwrap();
        data.iter()
            .filter(|(name, _)| name.starts_with(VISION))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    };
    for (i, (_, var)) in vars.iter().enumerate() {
        let delta = (randn(var.dims(), i as u64) * 0.05).unwrap();
        var.set(&(var.as_tensor() + delta).unwrap()).unwrap();
    }
    (model, varmap)
}

fn inputs(model: &VlaModel, seed: u8) -> crate::model::ModelInputs {
    let f = &model.config().file;
    let side = f.vision.image_size;
    let mut images = Vec::new();
    for c in 0..f.num_images_in_input {
        let mut img = CameraImage::filled(side, side, [0, 0, 0]);
        for (i, p) in img.rgb.iter_mut().enumerate() {
            *p = ((i * 37 + usize::from(seed) * 11 + c * 5) % 251) as u8;
        }
        images.push(img);
    }
    let obs = Observation {
        images,
        instruction: "put the bowl on the plate".to_owned(),
        proprio: vec![0.1; f.proprio_dim],
    };
    let prompt = PromptTokenizer::byte_level(model.config()).unwrap();
    prepare(model.config(), &obs, None, &prompt, &Device::Cpu).unwrap()
}

fn assert_twin_matches(file: ConfigFile) {
    let (model, varmap) = model(file);
    let f = &model.config().file;
    let twin = DiffVision::new(&varmap, &f.vision, f.fused_vision.as_ref()).unwrap();
    let a = inputs(&model, 1);
    let b = inputs(&model, 2);
    let batch = [&a, &b];
    let want = model.encode_prefixes(&batch).unwrap();
    let pixels = VlaModel::batch_pixels(&batch).unwrap();
    let patches = twin.forward_batch(&pixels, 2).unwrap();
    let got = model.prefixes_from_patches(&batch, &patches).unwrap();
    for (g, w) in got.iter().zip(&want) {
        let d = max_diff(&g.embeds, &w.embeds);
        assert!(d < 1e-4, "prefix embeddings differ by {d}");
    }
}

#[test]
fn twin_features_match_the_inference_tower() {
    assert_twin_matches(presets::tiny());
}

#[test]
fn twin_features_match_fused_towers_and_two_cameras() {
    let tiny = presets::tiny();
    let mut fused = tiny.vision.clone();
    fused.hidden_size = 48;
    fused.num_attention_heads = 4;
    fused.feature_layer = 1;
    fused.use_post_layernorm = false;
    assert_twin_matches(ConfigFile {
        fused_vision: Some(fused),
        num_images_in_input: 2,
        ..tiny
    });
}

/// The tiny preset with a convolutional branch (32² images, 8-pixel patches: three
/// halvings).
fn tiny_with_conv_stem() -> ConfigFile {
    let mut file = presets::tiny();
    file.vision.conv_stem_channels = vec![4, 6, 8];
    file
}

#[test]
fn twin_features_match_with_a_conv_stem() {
    assert_twin_matches(tiny_with_conv_stem());
}

/// The branch is part of the features: without it (the same weights otherwise) they differ.
#[test]
fn the_conv_stem_changes_the_features() {
    let (model, varmap) = model(tiny_with_conv_stem());
    let f = &model.config().file;
    let with = DiffVision::new(&varmap, &f.vision, None).unwrap();
    let mut plain = f.vision.clone();
    plain.conv_stem_channels.clear();
    let without = DiffVision::new(&varmap, &plain, None).unwrap();
    let pixels = VlaModel::batch_pixels(&[&inputs(&model, 4)]).unwrap();
    let d = max_diff(
        &with.forward_batch(&pixels, 1).unwrap(),
        &without.forward_batch(&pixels, 1).unwrap(),
    );
    assert!(d > 1e-3, "features moved by only {d}");
}

#[test]
fn twin_gradients_match_finite_differences() {
    check_gradients(
        presets::tiny(),
        &[
            "vision_backbone.featurizer.embeddings.patch_embedding.weight",
            "vision_backbone.featurizer.encoder.layers.0.layer_norm1.weight",
            "vision_backbone.featurizer.encoder.layers.0.self_attn.k_proj.weight",
            "vision_backbone.featurizer.encoder.layers.1.mlp.fc1.bias",
            "vision_backbone.featurizer.post_layernorm.bias",
        ],
    );
}

#[test]
fn conv_stem_gradients_match_finite_differences() {
    check_gradients(
        tiny_with_conv_stem(),
        &[
            "vision_backbone.featurizer.embeddings.conv_stem.0.weight",
            "vision_backbone.featurizer.embeddings.conv_stem.1.bias",
            "vision_backbone.featurizer.embeddings.conv_stem.2.weight",
            "vision_backbone.featurizer.embeddings.conv_stem.out.weight",
            "vision_backbone.featurizer.embeddings.conv_stem.out.bias",
        ],
    );
}

/// Backward through the twin against a central finite difference on the first element of
/// each named weight.
fn check_gradients(file: ConfigFile, names: &[&str]) {
    let (model, varmap) = model(file);
    let f = &model.config().file;
    let twin = DiffVision::new(&varmap, &f.vision, None).unwrap();
    let a = inputs(&model, 3);
    let pixels = VlaModel::batch_pixels(&[&a]).unwrap();
    let probe = randn(twin.forward_batch(&pixels, 1).unwrap().dims(), 99);
    let objective = || {
        (twin.forward_batch(&pixels, 1).unwrap() * &probe)
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let grads = objective().backward().unwrap();
    for &name in names {
        let var = var(&varmap, name).unwrap();
        let grad = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap();
        let original = var
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let h = 1e-2_f32;
        let at = |v: f32| {
            let mut w = original.clone();
            w[0] = v;
            var.set(&Tensor::from_vec(w, var.dims(), &Device::Cpu).unwrap())
                .unwrap();
            objective().to_scalar::<f32>().unwrap()
        };
        let numeric = (at(original[0] + h) - at(original[0] - h)) / (2.0 * h);
        at(original[0]);
        let analytic = grad.get(0).unwrap().to_scalar::<f32>().unwrap();
        let tol = 2e-2 * analytic.abs().max(numeric.abs()).max(1.0);
        assert!(
            (numeric - analytic).abs() < tol,
            "{name}[0]: backward {analytic}, finite difference {numeric}"
        );
    }
}
