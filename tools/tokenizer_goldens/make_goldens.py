#!/usr/bin/env python3
"""Regenerates the tokenizer goldens in tests/tokenizer/golden/.

Token ids come from an independent reference, llama.cpp's `llama-tokenize`
(built separately, CPU only; pass its path with --llama-tokenize), run on the
GGUF files themselves. Pre-tokenizer splits come from Hugging Face
`tokenizers` (PyPI), built from each variant's published pre-tokenizer.
See tests/tokenizer/golden/README.md for the exact procedure.
"""
import argparse
import json
import os
import subprocess
import tempfile

from golden_strings import STRINGS

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(REPO, "tests", "tokenizer", "golden")


def run_llama_tokenize(exe, model, data, parse_special):
    """Ids of `data` (bytes) without BOS, as llama-tokenize prints them."""
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
        path = f.name
    try:
        cmd = [exe, "-m", model, "-f", path, "--ids", "--no-escape", "--no-bos", "--log-disable"]
        if not parse_special:
            cmd.append("--no-parse-special")
        out = subprocess.run(cmd, check=True, capture_output=True).stdout.decode()
    finally:
        os.unlink(path)
    return json.loads(out.strip().splitlines()[-1])


def fnv1a64_ids(ids):
    """FNV-1a 64 over the ids written as decimal, separated by single spaces."""
    h = 0xCBF29CE484222325
    for b in " ".join(str(i) for i in ids).encode():
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def token_goldens(exe, model, wikitext):
    cases = []
    for name, data in STRINGS:
        case = {"name": name, "hex": data.hex()}
        try:
            case["text"] = data.decode("utf-8")
        except UnicodeDecodeError:
            case["valid_utf8"] = False
        case["ids"] = run_llama_tokenize(exe, model, data, parse_special=False)
        case["ids_parse_special"] = run_llama_tokenize(exe, model, data, parse_special=True)
        cases.append(case)
    with open(wikitext, "rb") as f:
        text = f.read()
    if text.endswith(b"\n"):
        text = text[:-1]  # as llama.cpp's perplexity tool reads it
    ids = run_llama_tokenize(exe, model, text, parse_special=False)
    return {
        "model": os.path.basename(model),
        "reference": "llama.cpp llama-tokenize --ids --no-escape --no-bos [--no-parse-special]",
        "cases": cases,
        "wikitext": {"file": "text/wikitext-2-raw-test.txt", "final_newline_removed": True,
                     "n_tokens": len(ids), "fnv1a64": fnv1a64_ids(ids), "head": ids[:256],
                     "tail": ids[-256:]},
    }


def pretokenizer_goldens():
    from tokenizers import Regex
    from tokenizers import pre_tokenizers as pt

    gpt2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
    # The expressions as published in the models' tokenizer.json files.
    llama3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
              r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    qwen2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
             r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
    variants = {
        "gpt2": pt.Split(Regex(gpt2), "isolated"),
        "smollm": pt.Sequence([pt.Digits(individual_digits=True),
                               pt.Split(Regex(gpt2), "isolated")]),
        "llama-bpe": pt.Split(Regex(llama3), "isolated"),
        "qwen2": pt.Split(Regex(qwen2), "isolated"),
    }
    out = {"reference": "Hugging Face tokenizers pre_tokenize_str", "variants": {}}
    for variant, pre in variants.items():
        cases = []
        for name, data in STRINGS:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            cases.append({"name": name, "text": text,
                          "pieces": [p for p, _ in pre.pre_tokenize_str(text)]})
        out["variants"][variant] = cases
    return out


def write_json(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--llama-tokenize", required=True, help="path to llama.cpp's llama-tokenize")
    ap.add_argument("--shared", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--smollm2", default=os.path.join(REPO, "models",
                                                      "SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = ap.parse_args()
    wikitext = os.path.join(args.shared, "text", "wikitext-2-raw-test.txt")
    write_json("stories260K-ids.json",
               token_goldens(args.llama_tokenize,
                             os.path.join(args.shared, "models", "stories260K.gguf"), wikitext))
    write_json("smollm2-ids.json", token_goldens(args.llama_tokenize, args.smollm2, wikitext))
    write_json("pretokenizer-splits.json", pretokenizer_goldens())


if __name__ == "__main__":
    main()
