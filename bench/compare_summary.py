#!/usr/bin/env python3
"""Summarizes bench/compare_llamacpp.sh output: OUT/round*/llama.jsonl
(llama-bench -o jsonl) and OUT/round*/fptq.jsonl (fptq bench -o).

Prints one Markdown row per (fptq model, engine, test, threads): llama.cpp and
fptq tokens/s of every round, and the ratio fptq / llama.cpp of each round
(both measured back to back), then the geometric mean of those ratios."""
import json
import math
import pathlib
import sys
from collections import defaultdict


def rows(path):
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            out.append(json.loads(line))
    return out


def test_name(r):
    return f"pp{r['n_prompt']}" if r["n_prompt"] > 0 else f"tg{r['n_gen']}"


def main():
    out = pathlib.Path(sys.argv[1])
    rounds = sorted(p for p in out.glob("round*") if p.is_dir())
    llama = {}  # (round, test, threads) -> avg_ts
    ours = defaultdict(dict)  # (model, engine, test, threads) -> {round: (avg, sd, cpu)}
    for i, d in enumerate(rounds):
        for r in rows(d / "llama.jsonl"):
            llama[(i, test_name(r), r["n_threads"])] = (r["avg_ts"], r["stddev_ts"])
        for r in rows(d / "fptq.jsonl"):
            engine = "emulate" if r.get("engine", "").startswith("emulate") else "integer"
            key = (pathlib.Path(r["model_filename"]).name, engine, r["test"], r["n_threads"])
            ours[key][i] = (r["avg_ts"], r["stddev_ts"], r.get("avg_ts_per_cpu_s", float("nan")))
    print("| fptq model | engine | test | threads | llama.cpp t/s by round | fptq t/s by round "
          "| fptq t/CPU-s | ratio by round | ratio (geo mean) |")
    print("|---|---|---|---:|---|---|---|---|---:|")
    for key in sorted(ours, key=lambda k: (k[0], k[1], k[2][:2] != "pp", k[2], k[3])):
        model, engine, test, threads = key
        ll, fp, cpu, ratios = [], [], [], []
        for i in sorted(ours[key]):
            avg, sd, c = ours[key][i]
            fp.append(f"{avg:.1f} ± {sd:.1f}")
            cpu.append(f"{c:.1f}")
            if (i, test, threads) in llama:
                lavg, lsd = llama[(i, test, threads)]
                ll.append(f"{lavg:.1f} ± {lsd:.1f}")
                ratios.append(avg / lavg)
        geo = math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else float("nan")
        print(f"| {model} | {engine} | {test} | {threads} | {'; '.join(ll)} | {'; '.join(fp)} "
              f"| {'; '.join(cpu)} | {'; '.join(f'{x:.2f}' for x in ratios)} | {geo:.2f} |")


if __name__ == "__main__":
    main()
