#!/usr/bin/env python3
"""Writes a Hugging Face model directory from a GGUF llama model, for tests.

An independent writer (numpy + the `safetensors` and `gguf` Python packages)
for the C++ loader in src/io/hf_model.cpp:
  config.json, model.safetensors (or shards + model.safetensors.index.json),
  tokenizer.json, tokenizer_config.json.
q/k weights get the inverse of llama.cpp's RoPE permutation (GGUF adjacent
pairs -> HF rotate-half), so the loader must permute them back.

--arch qwen2 additionally writes q/k/v biases whose GGUF-layout value at
layer l, row j is 1000*l + j, stored in --dtype like every tensor (exact in
F32; use F32 when checking the values).

Exit status 77 when numpy / safetensors / gguf are not installed.
"""
import argparse
import json
import os
import sys

try:
    import numpy as np
    import safetensors
    import gguf
except ImportError as e:  # the C++ test skips on 77
    print(f"make_hf_model.py: missing package: {e}", file=sys.stderr)
    sys.exit(77)


def field_value(reader, key):
    f = reader.fields.get(key)
    if f is None:
        return None
    if f.types[0] == gguf.GGUFValueType.ARRAY:
        if f.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        return [f.parts[i][0].item() for i in f.data]
    if f.types[0] == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    return f.parts[f.data[0]][0].item()


def to_hf_rope(w, n_head):
    """GGUF rows (h, i, s) -> HF rows (h, s, i): inverse of the GGUF permutation."""
    rows = w.shape[0]
    half = rows // n_head // 2
    return w.reshape(n_head, half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def bf16_bits(a):
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def encode(a, dtype):
    """(safetensors dtype name, contiguous array holding the bytes)."""
    if dtype == "F32":
        return "float32", np.ascontiguousarray(a, dtype=np.float32)
    if dtype == "F16":
        return "float16", np.ascontiguousarray(a.astype(np.float16))
    if dtype == "BF16":
        return "bfloat16", bf16_bits(a)
    raise ValueError(dtype)


def write_safetensors(path, tensors, dtype, int_tensor=None):
    keep = []
    specs = {}
    for name, a in tensors.items():
        if name == int_tensor:  # for the "unsupported dtype" test
            st_dtype, buf = "int32", np.ascontiguousarray(a.astype(np.int32))
        else:
            st_dtype, buf = encode(a, dtype)
        keep.append(buf)
        specs[name] = safetensors.TensorSpec(dtype=st_dtype, shape=list(a.shape),
                                             data_ptr=buf.ctypes.data, data_len=buf.nbytes)
    safetensors.serialize_file(specs, path, {"format": "pt"})


def hf_tensors(reader, n_head, n_head_kv, tie, arch):
    g = {t.name: np.array(t.data, dtype=np.float32) for t in reader.tensors}
    n_layer = field_value(reader, "llama.block_count")
    out = {"model.embed_tokens.weight": g["token_embd.weight"],
           "model.norm.weight": g["output_norm.weight"]}
    if not tie:
        out["lm_head.weight"] = g["output.weight"]
    for l in range(n_layer):
        b, h = f"blk.{l}.", f"model.layers.{l}."
        out[h + "input_layernorm.weight"] = g[b + "attn_norm.weight"]
        out[h + "self_attn.q_proj.weight"] = to_hf_rope(g[b + "attn_q.weight"], n_head)
        out[h + "self_attn.k_proj.weight"] = to_hf_rope(g[b + "attn_k.weight"], n_head_kv)
        out[h + "self_attn.v_proj.weight"] = g[b + "attn_v.weight"]
        out[h + "self_attn.o_proj.weight"] = g[b + "attn_output.weight"]
        out[h + "post_attention_layernorm.weight"] = g[b + "ffn_norm.weight"]
        out[h + "mlp.gate_proj.weight"] = g[b + "ffn_gate.weight"]
        out[h + "mlp.up_proj.weight"] = g[b + "ffn_up.weight"]
        out[h + "mlp.down_proj.weight"] = g[b + "ffn_down.weight"]
        if arch == "qwen2":
            for p, heads in (("q", n_head), ("k", n_head_kv), ("v", None)):
                rows = g[b + f"attn_{p}.weight"].shape[0]
                bias = (1000.0 * l + np.arange(rows)).astype(np.float32)  # GGUF layout
                out[h + f"self_attn.{p}_proj.bias"] = to_hf_rope(bias, heads) if heads else bias
    return out


def tokenizer_files(reader, merge_form):
    tokens = field_value(reader, "tokenizer.ggml.tokens")
    types = field_value(reader, "tokenizer.ggml.token_type")
    vocab = {t: i for i, t in enumerate(tokens)}
    # SentencePiece BPE as HF stores it: every split of a normal piece into two
    # pieces of the vocabulary is a merge, ranked by the merged piece's id.
    merges = []
    for i, t in enumerate(tokens):
        if types[i] != 1 or len(t) < 2:
            continue
        for k in range(1, len(t)):
            a, b = t[:k], t[k:]
            if a in vocab and b in vocab:
                merges.append((i, vocab[a], vocab[b], a, b))
    merges.sort()
    if merge_form == "list":
        merges = [[a, b] for *_, a, b in merges]
    else:
        merges = [f"{a} {b}" for *_, a, b in merges]
    added = [{"id": i, "content": tokens[i], "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}
             for i in range(len(tokens)) if types[i] in (2, 3)]
    unk = next(tokens[i] for i in range(len(tokens)) if types[i] == 2)
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": unk,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    bos = tokens[field_value(reader, "tokenizer.ggml.bos_token_id")]
    eos = tokens[field_value(reader, "tokenizer.ggml.eos_token_id")]
    tcfg = {"bos_token": {"content": bos, "special": True}, "eos_token": eos,
            "add_bos_token": True, "add_eos_token": False, "unk_token": unk,
            "model_max_length": 2048}
    return tok, tcfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--arch", choices=["llama", "mistral", "qwen2"], default="llama")
    ap.add_argument("--merges", choices=["string", "list"], default="string")
    ap.add_argument("--sliding-window", type=int,
                    help="config.json sliding_window (Mistral's windowed attention)")
    ap.add_argument("--int-tensor", help="store this HF tensor as I32 (malformed-input tests)")
    ap.add_argument("--extra-tensor", help="add this HF tensor, shape [4] (malformed-input tests)")
    args = ap.parse_args()

    r = gguf.GGUFReader(args.gguf)
    n_head = field_value(r, "llama.attention.head_count")
    n_head_kv = field_value(r, "llama.attention.head_count_kv") or n_head
    tensors = hf_tensors(r, n_head, n_head_kv, args.tie, args.arch)
    if args.extra_tensor:
        tensors[args.extra_tensor] = np.zeros(4, dtype=np.float32)
    os.makedirs(args.out, exist_ok=True)

    arch_class = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                  "qwen2": "Qwen2ForCausalLM"}[args.arch]
    config = {
        "architectures": [arch_class],
        "model_type": args.arch,
        "hidden_size": field_value(r, "llama.embedding_length"),
        "intermediate_size": field_value(r, "llama.feed_forward_length"),
        "num_hidden_layers": field_value(r, "llama.block_count"),
        "num_attention_heads": n_head,
        "num_key_value_heads": n_head_kv,
        "rms_norm_eps": field_value(r, "llama.attention.layer_norm_rms_epsilon"),
        "max_position_embeddings": field_value(r, "llama.context_length"),
        "vocab_size": len(field_value(r, "tokenizer.ggml.tokens")),
        "hidden_act": "silu",
        "rope_scaling": None,
        "tie_word_embeddings": args.tie,
        "bos_token_id": field_value(r, "tokenizer.ggml.bos_token_id"),
        "eos_token_id": field_value(r, "tokenizer.ggml.eos_token_id"),
        "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[args.dtype],
    }
    theta = field_value(r, "llama.rope.freq_base")
    if theta is not None:  # absent: the loader must default to 10000
        config["rope_theta"] = theta
    if args.sliding_window is not None:
        config["sliding_window"] = args.sliding_window
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    names = list(tensors)
    if args.shards == 1:
        write_safetensors(os.path.join(args.out, "model.safetensors"), tensors, args.dtype,
                          args.int_tensor)
    else:
        weight_map = {}
        per = -(-len(names) // args.shards)
        for s in range(args.shards):
            fname = f"model-{s + 1:05d}-of-{args.shards:05d}.safetensors"
            part = {n: tensors[n] for n in names[s * per:(s + 1) * per]}
            write_safetensors(os.path.join(args.out, fname), part, args.dtype, args.int_tensor)
            weight_map.update({n: fname for n in part})
        with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)

    tok, tcfg = tokenizer_files(r, args.merges)
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, indent=2)


if __name__ == "__main__":
    main()
