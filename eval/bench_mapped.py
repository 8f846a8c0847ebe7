"""The index opened for reading (issue 17 item 1): memory-mapped arrays and chunks read on demand ("mapped", the
default) against every chunk in memory ("resident", how readers opened it before), in one run.

    python -m eval.bench_mapped [--dataset korquad] [--limit 1000] [--repeat 3]

Each way is opened in a fresh process of its own (spawned one after the other) that reports its load time and its
RSS after loading and after the questions; in this process both are opened and the same questions are retrieved
back to back, pair by pair (fused BM25 ∥ FAISS with the chunks of the hits fetched — from the table for "mapped";
kiwipiepy and the query embedding are computed once, outside the timing). Their hits must be identical.
Writes eval/reports/mapped-index[-<dataset>].{md,json}.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

from eval import metrics
from eval.report import stamp, stamp_markdown, table
from index.table import CACHED_CHUNKS as CACHED

ROOT = Path(__file__).resolve().parent.parent
WAYS = {"resident (before)": True, "mapped (after)": False}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _worker(index_dir: str, resident: bool, terms: list, vecs: np.ndarray, out) -> None:
    """In a fresh process: open the index one way, retrieve every question once, report time and memory."""
    from index.store import load_index
    from rag.config import load_config
    from rag.retrieve import Retriever
    cfg = load_config()
    rss0 = _status_kb("VmRSS")
    t0 = time.perf_counter()
    index = load_index(Path(index_dir), resident=resident)
    load_s = time.perf_counter() - t0
    rss_loaded = _status_kb("VmRSS")
    r = Retriever(index, None, cfg.fusion, cfg.fusion_weight_bm25, cfg.candidates)
    for t, v in zip(terms, vecs):
        r._fuse(t, v, cfg.top_k)
    out.put({"load_s": load_s, "rss_before_mb": rss0 / 1024, "rss_loaded_mb": rss_loaded / 1024,
             "rss_after_queries_mb": _status_kb("VmRSS") / 1024, "peak_mb": _status_kb("VmHWM") / 1024})


def main(argv: list[str] | None = None) -> int:
    from eval.runs import prepare_questions, retrieval_bench_args
    args = retrieval_bench_args("python -m eval.bench_mapped", __doc__, argv, ROOT)

    from index import korean
    from index.embed import embed_queries
    from index.store import load_index
    from rag.config import load_config
    from rag.runtime import make_retriever
    cfg = load_config()
    pq = prepare_questions(cfg, args.dataset, args.limit)     # the index (re)written in today's layout
    ds, embedder, emb_path, index_dir = pq.dataset, pq.embedder, pq.embedder_path, pq.index_dir
    items, qs, terms, vecs = pq.items, [r["question"] for r in pq.items], pq.terms, pq.vectors

    ctx = mp.get_context("spawn")
    memory = {}
    for name, resident in WAYS.items():
        q = ctx.Queue()
        proc = ctx.Process(target=_worker, args=(str(index_dir), resident, terms, vecs, q))
        proc.start()
        memory[name] = q.get(timeout=1800)
        proc.join(timeout=60)

    opened = {name: load_index(index_dir, resident=resident) for name, resident in WAYS.items()}
    runs = {name: make_retriever(cfg, ix, embedder) for name, ix in opened.items()}
    ms = {name: [] for name in runs}
    cold = {name: [] for name in runs}             # the first pass: no chunk of the mapped table parsed before
    differ = 0
    embed_ms = []
    for q in qs[:200]:                             # what a question costs before retrieval: kiwipiepy + embedding
        t0 = time.perf_counter()
        korean.terms(q)
        embed_queries(embedder, [q])
        embed_ms.append((time.perf_counter() - t0) * 1000)
    for rep in range(args.repeat):
        for t, v in zip(terms, vecs):
            got = {}
            for name, r in runs.items():                     # interleaved: the same question, back to back
                t0 = time.perf_counter()
                hits = r._fuse(t, v, cfg.top_k)
                ms[name].append((time.perf_counter() - t0) * 1000)
                if rep == 0:
                    cold[name].append(ms[name][-1])
                got[name] = [(h.chunk.id, round(h.score, 6)) for h in hits]
            differ += len({json.dumps(g) for g in got.values()}) > 1
    base, base95 = metrics.median(ms["resident (before)"]), metrics.percentile(ms["resident (before)"], 95)
    cold_base = metrics.median(cold["resident (before)"])
    pre = metrics.median(embed_ms)
    summary = {}
    for name in runs:
        m = memory[name]
        summary[name] = {"first_pass_p50_ms": round(metrics.median(cold[name]), 3),
                         "first_pass_p50_ratio": round(metrics.median(cold[name]) / cold_base, 3),
                         "with_question_p50_ratio": round((pre + metrics.median(cold[name])) / (pre + cold_base), 3),
                         "p50_ms": round(metrics.median(ms[name]), 3),
                         "p95_ms": round(metrics.percentile(ms[name], 95), 3),
                         "p50_ratio": round(metrics.median(ms[name]) / base, 3),
                         "p95_ratio": round(metrics.percentile(ms[name], 95) / base95, 3),
                         "load_s": round(m["load_s"], 2),
                         "index_rss_mb": round(m["rss_after_queries_mb"] - m["rss_before_mb"], 1),
                         "rss_loaded_mb": round(m["rss_loaded_mb"], 1), "peak_mb": round(m["peak_mb"], 1)}
    n_chunks = len(opened["mapped (after)"])
    notes = [f"{len(items)} questions × {args.repeat} repeats, {n_chunks} chunks",
             f"questions whose hits differed between the two ways: {differ} (must be 0)",
             "index RSS = the worker's RSS after loading and retrieving every question once, less its RSS before "
             "loading (Python, numpy, faiss, bm25s imported); file-backed pages of the mapped arrays that the "
             "questions touched count in it",
             "the mapped index reads each hit's chunk from chunks.jsonl (one pread + json.loads) inside the timing, "
             f"and keeps the last {CACHED} it parsed: the first pass over the questions parses every hit, later "
             "passes find repeated hits parsed",
             f"a question's kiwipiepy + embedding, before retrieval: p50 {pre:.1f} ms (the 'with question' ratio "
             "adds it to both first-pass p50s)"]
    heads = ["way", "1st pass p50 ms", "1st pass ÷ before", "with question ÷ before", "p50 ms (all)",
             "p95 ms (all)", "p50 ÷ before", "p95 ÷ before", "load s", "index RSS MB", "peak RSS MB"]
    md = "\n".join([f"# The index opened for reading: mapped vs resident ({ds.name})", "",
                    "Command: `python -m eval.bench_mapped --dataset "
                    f"{args.dataset} --limit {args.limit} --repeat {args.repeat}`.", "",
                    table(heads, [[n, s["first_pass_p50_ms"], s["first_pass_p50_ratio"], s["with_question_p50_ratio"],
                                   s["p50_ms"], s["p95_ms"], s["p50_ratio"], s["p95_ratio"], s["load_s"],
                                   s["index_rss_mb"], s["peak_mb"]] for n, s in summary.items()]), "",
                    *[f"- {x}" for x in notes]])
    st = stamp(cfg, index=opened["mapped (after)"], index_dir=index_dir, dataset=ds, embedder_path=emb_path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "mapped-index" + ("" if args.dataset == "korquad" else f"-{args.dataset}")
    (out / f"{name}.json").write_text(json.dumps({"kind": "mapped", "metrics": summary, "notes": notes, "stamp": st},
                                                 ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    (out / f"{name}.md").write_text(md + "\n\n" + stamp_markdown(st) + "\n", encoding="utf-8")
    print(md)
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
