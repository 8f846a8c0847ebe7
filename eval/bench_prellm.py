"""Pre-LLM time per question: from the question to the evidence the prompt is built from (follow-up check, retrieval,
evidence selection), through Assistant.stream up to its "evidence" event — the same event in every version of the
code, so an older checkout can run this file too and the two are compared in one session.

    python -m eval.bench_prellm --out /tmp/new.json                       # this checkout
    PYTHONPATH=/tmp/before python eval/bench_prellm.py --out /tmp/old.json  # an older checkout (git worktree)
    python -m eval.bench_prellm --compare /tmp/old.json /tmp/new.json --report eval/reports/prellm-latency

Each run indexes the seed corpus into its own folder (index formats differ between versions), warms up, then times
every question of eval/datasets/seoul_qa.jsonl (not follow-ups) `--repeat` times; no generator is loaded or called.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "corpus" / "seoul-ai-policy"


def measure(index_dir: Path, repeat: int) -> dict:
    from rag.answer import Assistant
    from rag.config import load_config
    from rag.runtime import index_files, open_embedder, open_retriever
    cfg = load_config(env={}, index_dir=index_dir)
    embedder, path = open_embedder(cfg)
    if not (index_dir / "CURRENT").exists():
        index_files(cfg, [SEED], embedder, path, index_dir=index_dir)
    assistant = Assistant(cfg, open_retriever(cfg), None)
    rows = [json.loads(line) for line in (ROOT / "eval" / "datasets" / "seoul_qa.jsonl").read_text().splitlines()
            if line.strip()]
    questions = [r["question"] for r in rows if r.get("followup_of") is None]

    def one(q: str) -> float:
        t0 = time.perf_counter()
        stream = assistant.stream(q)
        for ev in stream:
            if ev.kind == "evidence":
                break
        ms = (time.perf_counter() - t0) * 1000
        stream.close()                      # never reaches the generator
        return ms

    for q in questions[:3]:
        one(q)                              # warm-up: kiwipiepy, the embedder's first batch
    times = [one(q) for _ in range(repeat) for q in questions]
    return {"questions": len(questions), "repeat": repeat, "p50_ms": statistics.median(times),
            "p95_ms": sorted(times)[int(0.95 * (len(times) - 1))], "mean_ms": statistics.fmean(times),
            "code": str(Path(sys.modules["rag"].__file__).parent.parent)}


def compare(old: list[dict], new: list[dict], report: Path | None, command: str) -> str:
    pairs = list(zip(old, new))
    ratios = [n["p50_ms"] / o["p50_ms"] for o, n in pairs]
    lines = ["# Pre-LLM time per question: before and after the hot-path changes (one session)", "",
             f"Command: `{command}`", "",
             "From the question to the selected evidence (follow-up check, kiwipiepy, BM25 ∥ dense retrieval, evidence "
             "selection) through `Assistant.stream` up to its `evidence` event, on the seed corpus, every question of "
             "eval/datasets/seoul_qa.jsonl that is not a follow-up. Runs alternate old, new, old, new … in separate "
             "processes; the ratio is new/old per pair.", "",
             "| pair | old p50 ms | new p50 ms | new/old |", "|---|---|---|---|"]
    for i, ((o, n), r) in enumerate(zip(pairs, ratios), 1):
        lines.append(f"| {i} | {o['p50_ms']:.1f} | {n['p50_ms']:.1f} | {r:.2f} |")
    lines += ["", f"Median ratio new/old: **{statistics.median(ratios):.2f}** (min {min(ratios):.2f}, max "
                  f"{max(ratios):.2f}); old code: `{old[0]['code']}`, new: `{new[0]['code']}`.", ""]
    md = "\n".join(lines)
    if report:
        report.with_suffix(".md").write_text(md, encoding="utf-8")
        report.with_suffix(".json").write_text(json.dumps({"old": old, "new": new, "ratios": ratios}, indent=1),
                                               encoding="utf-8")
    return md


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out")
    p.add_argument("--index", default=None, help="index folder (default: a temp folder)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--compare", nargs=2, metavar=("OLD_JSONL", "NEW_JSONL"))
    p.add_argument("--report")
    p.add_argument("--command", default="")
    a = p.parse_args(argv)
    if a.compare:
        old = [json.loads(x) for x in Path(a.compare[0]).read_text().splitlines() if x.strip()]
        new = [json.loads(x) for x in Path(a.compare[1]).read_text().splitlines() if x.strip()]
        print(compare(old, new, Path(a.report) if a.report else None, a.command))
        return 0
    index_dir = Path(a.index) if a.index else Path(tempfile.mkdtemp(prefix="prellm-"))
    res = measure(index_dir, a.repeat)
    print(json.dumps(res))
    if a.out:
        with open(a.out, "a") as fh:
            fh.write(json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
