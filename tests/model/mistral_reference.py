#!/usr/bin/env python3
"""Logits of a Hugging Face Llama/Mistral folder, in float64 numpy, for tests.

An independent reference for fptq's FP32 forward pass, written from the
definition of Hugging Face transformers' MistralForCausalLM (not from fptq's
code): RMSNorm, rotate-half RoPE, grouped-query attention with the causal
mask and, when config.json has `sliding_window` W, the window of
transformers' sliding-window mask: a query at position i sees the keys j with
i - W < j <= i. SwiGLU MLP, final norm, lm_head (or the tied embedding).

  mistral_reference.py --model DIR --ids 1,2,3 --out FILE [--no-window]

writes the logits of every position as little-endian float64, row-major
[n_tokens][vocab]. --no-window ignores `sliding_window` (full causal
attention). Exit status 77 when numpy / safetensors are not installed.
"""
import argparse
import json
import os
import sys

try:
    import numpy as np
    from safetensors.numpy import load_file
except ImportError as e:  # the C++ test skips on 77
    print(f"mistral_reference.py: missing package: {e}", file=sys.stderr)
    sys.exit(77)


def load_weights(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    files = ["model.safetensors"]
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    w = {}
    for name in files:
        w.update({k: v.astype(np.float64) for k, v in load_file(os.path.join(folder, name)).items()})
    return w


def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope(x, positions, theta):
    """x: [n_heads][n_tokens][head_dim], rotate-half pairing (i, i + d/2)."""
    d = x.shape[-1]
    inv_freq = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    ang = np.outer(positions, inv_freq)  # [n_tokens][d/2]
    cos = np.concatenate([np.cos(ang), np.cos(ang)], axis=-1)
    sin = np.concatenate([np.sin(ang), np.sin(ang)], axis=-1)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return x * cos + np.concatenate([-x2, x1], axis=-1) * sin


def forward(cfg, w, ids, window):
    n_head = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_head)
    dim = cfg["hidden_size"]
    hd = cfg.get("head_dim") or dim // n_head
    eps = cfg["rms_norm_eps"]
    theta = cfg.get("rope_theta", 10000.0)
    n = len(ids)
    pos = np.arange(n)
    allowed = pos[None, :] <= pos[:, None]  # [query][key]
    if window:
        allowed &= pos[None, :] > pos[:, None] - window
    x = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(n, n_head, hd).transpose(1, 0, 2)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(n, n_kv, hd).transpose(1, 0, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(n, n_kv, hd).transpose(1, 0, 2)
        q, k = rope(q, pos, theta), rope(k, pos, theta)
        k = np.repeat(k, n_head // n_kv, axis=0)
        v = np.repeat(v, n_head // n_kv, axis=0)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        s = np.where(allowed[None], s, -np.inf)
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        a = (s / s.sum(axis=-1, keepdims=True)) @ v  # [n_head][n][hd]
        x = x + a.transpose(1, 0, 2).reshape(n, n_head * hd) @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (g / (1.0 + np.exp(-g)) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x @ head.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-window", action="store_true")
    args = ap.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    ids = [int(t) for t in args.ids.split(",")]
    window = None if args.no_window else cfg.get("sliding_window")
    logits = forward(cfg, load_weights(args.model), ids, window)
    logits.astype("<f8").tofile(args.out)


if __name__ == "__main__":
    main()
