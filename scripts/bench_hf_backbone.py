#!/usr/bin/env python3
"""Benchmark the HuggingFace `transformers` LlamaModel forward (CPU, float32, eager).

Reference numbers for the Rust/candle backbone in ddvla. Random weights; only speed
is measured. Needs torch + transformers (e.g. the venv described in
policy/tests/golden/README.md); not used by CI.

Examples:
    python scripts/bench_hf_backbone.py                       # "base" config, S=600, 2 threads
    python scripts/bench_hf_backbone.py --seq-len 58 --past 542 --iters 20
    python scripts/bench_hf_backbone.py --config my_cfg.json --threads 4 --json out.json

--config takes a JSON file of LlamaConfig fields; they override the "base" defaults below.
Attention is full / bidirectional (4D additive zero mask), under torch.inference_mode().
With --past P the model is first run on P tokens to fill a DynamicCache (not timed); each
timed iteration then runs the S new tokens (positions P..P+S-1) against a fresh copy of
that cache, with a zero mask of shape [1,1,S,P+S].
"""

import argparse
import copy
import inspect
import json
import statistics
import sys
import time

import torch
import transformers
from transformers import DynamicCache, LlamaConfig, LlamaModel

BASE = dict(
    hidden_size=768,
    intermediate_size=2048,
    num_hidden_layers=12,
    num_attention_heads=12,
    num_key_value_heads=4,
    vocab_size=520,
    rope_theta=10000.0,
    rms_norm_eps=1e-5,
    max_position_embeddings=4096,
    hidden_act="silu",
    attention_bias=False,
    mlp_bias=False,
    tie_word_embeddings=False,
)


def percentile(xs, q):
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0]
    k = (len(xs) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="JSON file with LlamaConfig fields (overrides the base config)")
    ap.add_argument("--seq-len", type=int, default=600, help="number of (new) tokens per forward")
    ap.add_argument("--past", type=int, default=0, help="prefill a DynamicCache with this many tokens first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the result JSON to this file")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg_dict = dict(BASE)
    if args.config:
        with open(args.config) as f:
            cfg_dict.update(json.load(f))
    cfg_dict["max_position_embeddings"] = max(cfg_dict.get("max_position_embeddings", 0),
                                              args.past + args.seq_len)
    cfg = LlamaConfig(**cfg_dict, attn_implementation="eager")
    model = LlamaModel(cfg).eval().to(torch.float32)
    # transformers >= 5.2x renamed `past_key_values` to `cache` on LlamaModel.forward
    params = inspect.signature(model.forward).parameters
    cache_kw = "cache" if "cache" in params else "past_key_values"

    S, P, H = args.seq_len, args.past, cfg.hidden_size
    x = torch.randn(1, S, H)
    pos = torch.arange(P, P + S)[None]
    mask = torch.zeros(1, 1, S, P + S)

    with torch.inference_mode():
        base_cache = None
        if P > 0:
            base_cache = DynamicCache(config=cfg)
            model(inputs_embeds=torch.randn(1, P, H), attention_mask=torch.zeros(1, 1, P, P),
                  position_ids=torch.arange(P)[None], use_cache=True, **{cache_kw: base_cache})
            assert base_cache.get_seq_length() == P, base_cache.get_seq_length()

        def step():
            if base_cache is None:
                return model(inputs_embeds=x, attention_mask=mask, position_ids=pos, use_cache=False)
            cache = copy.deepcopy(base_cache)  # outside the timed region below
            t0 = time.perf_counter()
            out = model(inputs_embeds=x, attention_mask=mask, position_ids=pos,
                        use_cache=True, **{cache_kw: cache})
            dt = time.perf_counter() - t0
            assert cache.get_seq_length() == P + S
            return out, dt

        times = []
        for i in range(args.warmup + args.iters):
            if base_cache is None:
                t0 = time.perf_counter()
                out = step()
                dt = time.perf_counter() - t0
            else:
                out, dt = step()
            if i >= args.warmup:
                times.append(dt * 1e3)
        last = out.last_hidden_state
        assert last.shape == (1, S, H) and torch.isfinite(last).all()

    res = {
        "impl": "hf-transformers-eager",
        "seq_len": S,
        "past": P,
        "threads": args.threads,
        "hidden_size": H,
        "num_hidden_layers": cfg.num_hidden_layers,
        "iters": args.iters,
        "p50_ms": round(percentile(times, 0.50), 3),
        "p95_ms": round(percentile(times, 0.95), 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
    }
    line = json.dumps(res)
    print(line)
    if args.json:
        with open(args.json, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
