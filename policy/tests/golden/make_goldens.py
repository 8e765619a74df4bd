#!/usr/bin/env python3
"""Generate the numerical goldens used by the Rust parity tests.

Produces, next to this file:

  llama_tiny.safetensors / llama_tiny.json
      Weights of a tiny HF ``LlamaModel`` (state_dict names unchanged, no
      prefix), the input ``input.inputs_embeds`` [1,12,64] and the
      last_hidden_state (after the final RMSNorm) for three masks:
      ``output.causal``, ``output.bidirectional`` and ``output.prefix``
      (prefix-LM: positions 0..7 attend to 0..7, positions 8..11 attend to all).

  siglip_tiny.safetensors / siglip_tiny.json
      Weights of a tiny HF ``SiglipVisionModel`` (names relative to
      ``vision_model.``, no head), the input ``input.pixel_values`` [1,3,32,32],
      ``output.last_hidden_state`` [1,16,48] (after post_layernorm) and
      ``output.hidden_state_{k}`` k=0..3 (k=0: embeddings, k=i+1: block i).

Everything is float32, eager attention, torch.manual_seed(0).

How to run (PyTorch is NOT needed in CI; only to regenerate):

    python3 -m venv /work/venv-golden
    /work/venv-golden/bin/pip install -r policy/tests/golden/requirements-golden.txt
    /work/venv-golden/bin/python policy/tests/golden/make_goldens.py

The script self-checks before exiting:
  * it reloads the written safetensors into a fresh HF model and asserts the
    stored outputs equal a fresh forward pass (bit-exact);
  * it re-implements both forwards in plain numpy (float64) from the saved
    tensors only and asserts agreement with the stored outputs (atol 1e-4);
  * it checks the 4D additive masks are honoured (bidirectional != causal,
    last position identical in causal and bidirectional).
"""

import json
import math
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaModel, SiglipVisionConfig, SiglipVisionModel

HERE = os.path.dirname(os.path.abspath(__file__))

LLAMA_CFG = dict(
    vocab_size=96,
    hidden_size=64,
    intermediate_size=160,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    max_position_embeddings=128,
    hidden_act="silu",
    attention_bias=False,
    mlp_bias=False,
    tie_word_embeddings=False,
)
SEQ_LEN = 12
PREFIX_LEN = 8

SIGLIP_CFG = dict(
    hidden_size=48,
    intermediate_size=96,
    num_hidden_layers=3,
    num_attention_heads=4,
    num_channels=3,
    image_size=32,
    patch_size=8,
    hidden_act="gelu_pytorch_tanh",
    layer_norm_eps=1e-6,
)

NEG = torch.finfo(torch.float32).min


def versions():
    return {"transformers_version": transformers.__version__, "torch_version": torch.__version__}


def perturb_(model):
    """Perturb every parameter so nothing is trivially 0 or 1."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1 and ("norm" in name):
                if name.endswith("bias"):
                    p.copy_(0.1 * torch.randn_like(p))  # LayerNorm bias
                else:
                    p.copy_(1.0 + 0.1 * torch.randn_like(p))  # norm weights
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn_like(p))  # linear / conv biases
            elif "embed" in name and "patch" not in name:
                p.add_(0.1 * torch.randn_like(p))  # token / position embeddings
            else:
                fan_in = p[0].numel()
                p.add_(torch.randn_like(p) / math.sqrt(fan_in))  # linear / conv weights


def save(path, tensors, metadata=None):
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}
    save_file(tensors, path, metadata=metadata or {"format": "pt"})
    os.chmod(path, 0o644)  # safetensors writes 0600


# ----------------------------------------------------------------------------
# numpy reference implementations (float64), driven only by the saved file
# ----------------------------------------------------------------------------


def np_llama(t, cfg, x, mask):
    """x: [S, H] float64; mask: [S, S] additive. Returns [S, H] after final norm."""
    H = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = H // nh
    eps = cfg["rms_norm_eps"]
    S = x.shape[0]
    W = {k: v.astype(np.float64) for k, v in t.items()}

    def rms(v, w):
        return v / np.sqrt((v * v).mean(-1, keepdims=True) + eps) * w

    inv = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    freqs = np.outer(np.arange(S, dtype=np.float64), inv)
    emb = np.concatenate([freqs, freqs], -1)
    cos, sin = np.cos(emb), np.sin(emb)

    def rope(q):  # [nh, S, hd]
        half = hd // 2
        rot = np.concatenate([-q[..., half:], q[..., :half]], -1)
        return q * cos + rot * sin

    h = x.copy()
    for i in range(cfg["num_hidden_layers"]):
        p = f"layers.{i}."
        a = rms(h, W[p + "input_layernorm.weight"])
        q = (a @ W[p + "self_attn.q_proj.weight"].T).reshape(S, nh, hd).transpose(1, 0, 2)
        k = (a @ W[p + "self_attn.k_proj.weight"].T).reshape(S, nkv, hd).transpose(1, 0, 2)
        v = (a @ W[p + "self_attn.v_proj.weight"].T).reshape(S, nkv, hd).transpose(1, 0, 2)
        q, k = rope(q), rope(k)
        rep = nh // nkv
        k = np.repeat(k, rep, axis=0)
        v = np.repeat(v, rep, axis=0)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd) + mask
        s = s - s.max(-1, keepdims=True)
        pr = np.exp(s)
        pr /= pr.sum(-1, keepdims=True)
        o = (pr @ v).transpose(1, 0, 2).reshape(S, H)
        h = h + o @ W[p + "self_attn.o_proj.weight"].T
        m = rms(h, W[p + "post_attention_layernorm.weight"])
        g = m @ W[p + "mlp.gate_proj.weight"].T
        u = m @ W[p + "mlp.up_proj.weight"].T
        h = h + ((g / (1 + np.exp(-g))) * u) @ W[p + "mlp.down_proj.weight"].T
    return rms(h, W["norm.weight"])


def np_siglip(t, cfg, px):
    """px: [C, H, W] float64. Returns list of hidden states (k=0..L) and final."""
    W = {k: v.astype(np.float64) for k, v in t.items()}
    D = cfg["hidden_size"]
    P = cfg["patch_size"]
    nh = cfg["num_attention_heads"]
    hd = D // nh
    eps = cfg["layer_norm_eps"]
    C, Hh, Ww = px.shape
    gh, gw = Hh // P, Ww // P
    # patches in row-major (h, w) order, each flattened as (c, ph, pw) like the conv weight
    patches = px.reshape(C, gh, P, gw, P).transpose(1, 3, 0, 2, 4).reshape(gh * gw, C * P * P)
    cw = W["embeddings.patch_embedding.weight"].reshape(D, -1)
    h = patches @ cw.T + W["embeddings.patch_embedding.bias"]
    h = h + W["embeddings.position_embedding.weight"]

    def ln(v, w, b):
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return (v - mu) / np.sqrt(var + eps) * w + b

    def lin(v, name):
        return v @ W[name + ".weight"].T + W[name + ".bias"]

    def gelu_tanh(v):
        return 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)))

    hs = [h]
    N = h.shape[0]
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layers.{i}."
        a = ln(h, W[p + "layer_norm1.weight"], W[p + "layer_norm1.bias"])
        q = lin(a, p + "self_attn.q_proj").reshape(N, nh, hd).transpose(1, 0, 2)
        k = lin(a, p + "self_attn.k_proj").reshape(N, nh, hd).transpose(1, 0, 2)
        v = lin(a, p + "self_attn.v_proj").reshape(N, nh, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = s - s.max(-1, keepdims=True)
        pr = np.exp(s)
        pr /= pr.sum(-1, keepdims=True)
        o = (pr @ v).transpose(1, 0, 2).reshape(N, D)
        h = h + lin(o, p + "self_attn.out_proj")
        m = ln(h, W[p + "layer_norm2.weight"], W[p + "layer_norm2.bias"])
        h = h + lin(gelu_tanh(lin(m, p + "mlp.fc1")), p + "mlp.fc2")
        hs.append(h)
    final = ln(h, W["post_layernorm.weight"], W["post_layernorm.bias"])
    return hs, final


def assert_close(name, a, b, atol=1e-4):
    err = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
    print(f"  {name}: max|diff| = {err:.3e}")
    assert err <= atol, f"{name}: max abs diff {err} > {atol}"


# ----------------------------------------------------------------------------
# Llama
# ----------------------------------------------------------------------------


def llama_masks(S, P):
    causal = torch.full((S, S), NEG).triu(1)
    bidir = torch.zeros(S, S)
    prefix = torch.zeros(S, S)
    prefix[:P, P:] = NEG  # prefix rows may not see the suffix
    return {
        "causal": None,  # standard causal mask built by transformers itself
        "bidirectional": bidir[None, None],
        "prefix": prefix[None, None],
    }, {"causal": causal, "bidirectional": bidir, "prefix": prefix}


def llama_forward(model, x, masks):
    pos = torch.arange(x.shape[1])[None]
    out = {}
    with torch.no_grad():
        for name, m in masks.items():
            r = model(inputs_embeds=x, attention_mask=m, position_ids=pos, use_cache=False)
            out[name] = r.last_hidden_state
    return out


def make_llama():
    cfg = LlamaConfig(**LLAMA_CFG, attn_implementation="eager")
    model = LlamaModel(cfg).eval().to(torch.float32)
    perturb_(model)
    x = torch.randn(1, SEQ_LEN, LLAMA_CFG["hidden_size"])
    masks, masks2d = llama_masks(SEQ_LEN, PREFIX_LEN)
    outs = llama_forward(model, x, masks)

    # the 4D masks must actually be honoured
    c, b, p = outs["causal"], outs["bidirectional"], outs["prefix"]
    assert (b - c).abs().max() > 1e-3, "bidirectional mask ignored"
    assert (p - c).abs().max() > 1e-3 and (p - b).abs().max() > 1e-3
    pos = torch.arange(SEQ_LEN)[None]
    with torch.no_grad():
        # After ONE layer the last row of the causal mask is full, so position S-1 of
        # hidden_states[1] must agree between causal and bidirectional. (The final
        # outputs differ at S-1 too, because with 2 layers it attends to layer-0
        # outputs of earlier positions, which do differ.)
        hc = model(inputs_embeds=x, position_ids=pos, use_cache=False,
                   output_hidden_states=True).hidden_states[1]
        hb = model(inputs_embeds=x, attention_mask=masks["bidirectional"], position_ids=pos,
                   use_cache=False, output_hidden_states=True).hidden_states[1]
        assert (hc[:, -1] - hb[:, -1]).abs().max() < 1e-5
        assert (hc[:, :-1] - hb[:, :-1]).abs().max() > 1e-3
        # prefix rows only ever see the prefix: they equal a bidirectional pass over x[:, :P]
        xp = x[:, :PREFIX_LEN]
        pb = model(inputs_embeds=xp, attention_mask=torch.zeros(1, 1, PREFIX_LEN, PREFIX_LEN),
                   position_ids=pos[:, :PREFIX_LEN], use_cache=False).last_hidden_state
        assert (p[:, :PREFIX_LEN] - pb).abs().max() < 1e-5
        # causal rows 0..P-1 equal a causal pass over x[:, :P]
        pc = model(inputs_embeds=xp, position_ids=pos[:, :PREFIX_LEN], use_cache=False).last_hidden_state
        assert (c[:, :PREFIX_LEN] - pc).abs().max() < 1e-5
    # explicit 4D causal mask must agree with the built-in causal mask
    with torch.no_grad():
        c4 = model(inputs_embeds=x, attention_mask=masks2d["causal"][None, None],
                   position_ids=torch.arange(SEQ_LEN)[None], use_cache=False).last_hidden_state
    assert (c4 - c).abs().max() < 1e-6

    tensors = dict(model.state_dict())
    tensors["input.inputs_embeds"] = x
    for k, v in outs.items():
        tensors[f"output.{k}"] = v
    path = os.path.join(HERE, "llama_tiny.safetensors")
    save(path, tensors)
    meta = dict(LLAMA_CFG)
    meta.update({"head_dim": LLAMA_CFG["hidden_size"] // LLAMA_CFG["num_attention_heads"],
                 "seq_len": SEQ_LEN, "prefix_len": PREFIX_LEN,
                 "mask_min": float(NEG), "attn_implementation": "eager", "dtype": "float32"})
    meta.update(versions())
    with open(os.path.join(HERE, "llama_tiny.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")

    # ---- self-check: reload -> fresh HF model -> identical outputs
    loaded = load_file(path)
    fresh = LlamaModel(LlamaConfig(**LLAMA_CFG, attn_implementation="eager")).eval()
    sd = {k: torch.from_numpy(v) for k, v in loaded.items() if not k.startswith(("input.", "output."))}
    fresh.load_state_dict(sd, strict=True)
    re = llama_forward(fresh, torch.from_numpy(loaded["input.inputs_embeds"]), masks)
    print("llama: reload check")
    for k in re:
        assert torch.equal(re[k], torch.from_numpy(loaded[f"output.{k}"])), k
        assert_close(f"hf-reload {k}", re[k].numpy(), loaded[f"output.{k}"], atol=0.0)
    print("llama: numpy reference check")
    xs = loaded["input.inputs_embeds"][0].astype(np.float64)
    for k, m2 in masks2d.items():
        ref = np_llama(loaded, LLAMA_CFG, xs, m2.numpy().astype(np.float64))
        assert_close(f"numpy {k}", ref, loaded[f"output.{k}"][0])
    return loaded


# ----------------------------------------------------------------------------
# SigLIP
# ----------------------------------------------------------------------------


def siglip_config():
    return SiglipVisionConfig(**SIGLIP_CFG, vision_use_head=False, attn_implementation="eager")


def siglip_forward(model, px):
    with torch.no_grad():
        r = model(pixel_values=px, output_hidden_states=True)
    out = {"last_hidden_state": r.last_hidden_state}
    assert len(r.hidden_states) == SIGLIP_CFG["num_hidden_layers"] + 1, len(r.hidden_states)
    for k, h in enumerate(r.hidden_states):
        out[f"hidden_state_{k}"] = h
    return out


def strip_vision(sd):
    # transformers 4.x nests everything under `vision_model.`; 5.x SiglipVisionModel is
    # flat. Either way the saved names are relative to `vision_model.`.
    out = {}
    for k, v in sd.items():
        if k.startswith("vision_model."):
            k = k[len("vision_model."):]
        if k.startswith("head.") or k.endswith("position_ids"):
            continue
        out[k] = v
    return out


def make_siglip():
    model = SiglipVisionModel(siglip_config()).eval().to(torch.float32)
    assert not any("head" in k for k in model.state_dict()), "vision_use_head=False not honoured"
    perturb_(model)
    px = torch.randn(1, SIGLIP_CFG["num_channels"], SIGLIP_CFG["image_size"], SIGLIP_CFG["image_size"])
    outs = siglip_forward(model, px)

    tensors = strip_vision(model.state_dict())
    assert "post_layernorm.weight" in tensors and "embeddings.patch_embedding.weight" in tensors
    tensors["input.pixel_values"] = px
    for k, v in outs.items():
        tensors[f"output.{k}"] = v
    path = os.path.join(HERE, "siglip_tiny.safetensors")
    save(path, tensors)
    meta = dict(SIGLIP_CFG)
    n = (SIGLIP_CFG["image_size"] // SIGLIP_CFG["patch_size"]) ** 2
    meta.update({"vision_use_head": False, "num_patches": n,
                 "head_dim": SIGLIP_CFG["hidden_size"] // SIGLIP_CFG["num_attention_heads"],
                 "attn_implementation": "eager", "dtype": "float32"})
    meta.update(versions())
    with open(os.path.join(HERE, "siglip_tiny.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")

    # ---- self-check: reload -> fresh HF model -> identical outputs
    loaded = load_file(path)
    fresh = SiglipVisionModel(siglip_config()).eval()
    pre = "vision_model." if any(k.startswith("vision_model.") for k in fresh.state_dict()) else ""
    sd = {pre + k: torch.from_numpy(v) for k, v in loaded.items()
          if not k.startswith(("input.", "output."))}
    missing, unexpected = fresh.load_state_dict(sd, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    assert not missing and not unexpected, (missing, unexpected)
    re = siglip_forward(fresh, torch.from_numpy(loaded["input.pixel_values"]))
    print("siglip: reload check")
    for k in re:
        assert torch.equal(re[k], torch.from_numpy(loaded[f"output.{k}"])), k
        assert_close(f"hf-reload {k}", re[k].numpy(), loaded[f"output.{k}"], atol=0.0)
    print("siglip: numpy reference check")
    hs, final = np_siglip(loaded, SIGLIP_CFG, loaded["input.pixel_values"][0].astype(np.float64))
    for k, h in enumerate(hs):
        assert_close(f"numpy hidden_state_{k}", h, loaded[f"output.hidden_state_{k}"][0])
    assert_close("numpy last_hidden_state", final, loaded["output.last_hidden_state"][0])
    return loaded


def describe(name, loaded):
    print(f"{name}:")
    for k in sorted(loaded):
        print(f"  {k} {list(loaded[k].shape)} {loaded[k].dtype}")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # reduce run-to-run reduction-order noise
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    ll = make_llama()
    sg = make_siglip()
    if "-v" in sys.argv:
        describe("llama_tiny.safetensors", ll)
        describe("siglip_tiny.safetensors", sg)
    print("OK")


if __name__ == "__main__":
    main()
