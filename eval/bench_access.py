"""Access labels in retrieval (issue 14): what enforcing them costs, in one run, side by side.

    python -m eval.bench_access [--dataset korquad] [--limit 1000] [--repeat 3]

On the dataset's own index, every other source document is re-labelled 대외비 for a group ("감사담당관") in memory
(the on-disk index is not touched). Then, pair by pair over the same questions:
  - today:      the index as it is, the CLI's default viewer (nothing forbidden: the unfiltered path)
  - 50 % off:   the re-labelled index, a viewer without that group (half the documents forbidden: BM25 masked,
                FAISS searched with an IDSelectorBitmap)
  - permitted:  the re-labelled index, a viewer in that group (everything permitted again)
Reports fused-retrieval time p50/p95 (kiwipiepy and the query embedding excluded: computed once, outside the
timing), their ratios to today's, and source-level recall@1/@5 for the permitted viewer against today's.
Writes eval/reports/access-retrieval.{md,json} (KorQuAD; other datasets: access-retrieval-<dataset>.{md,json}).
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path


from eval import metrics
from eval.report import stamp, stamp_markdown, table

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    from eval.runs import prepare_questions, retrieval_bench_args
    args = retrieval_bench_args("python -m eval.bench_access", __doc__, argv, ROOT)

    from rag.access import LOCAL, Viewer
    from rag.config import load_config
    from rag.runtime import make_retriever
    cfg = load_config()
    pq = prepare_questions(cfg, args.dataset, args.limit)
    ds, index, embedder, emb_path, index_dir = pq.dataset, pq.index, pq.embedder, pq.embedder_path, pq.index_dir
    items, terms, vecs = pq.items, pq.terms, pq.vectors

    sources = sorted({c.source for c in index.chunks})
    secret = set(sources[::2])
    relabelled = dataclasses.replace(index, labels=None, chunks=[
        dataclasses.replace(c, level="대외비", groups=["감사담당관"]) if c.source in secret else c
        for c in index.chunks])
    runs = {"today": (make_retriever(cfg, index, embedder), LOCAL),
            "50% forbidden": (make_retriever(cfg, relabelled, embedder), LOCAL),
            "permitted": (make_retriever(cfg, relabelled, embedder),
                          Viewer("kim", frozenset({"감사담당관"}), True, False))}
    ms = {name: [] for name in runs}
    scores = {name: [] for name in runs}
    forbidden_seen = 0
    for rep in range(args.repeat):
        for it, t, v in zip(items, terms, vecs):
            for name, (r, viewer) in runs.items():          # interleaved: the same question, back to back
                t0 = time.perf_counter()
                hits = r._fuse(t, v, cfg.top_k, viewer)
                ms[name].append((time.perf_counter() - t0) * 1000)
                if rep == 0:
                    ranked = metrics.distinct(h.chunk.source for h in hits)
                    scores[name].append(metrics.retrieval_scores(ranked, it["sources"],
                                                                 match=metrics.source_matches))
                    if name == "50% forbidden":
                        forbidden_seen += sum(h.chunk.source in secret for h in hits)
    base = metrics.median(ms["today"])
    base95 = metrics.percentile(ms["today"], 95)
    summary = {}
    for name in runs:
        m = metrics.mean_dicts(scores[name])
        summary[name] = {"p50_ms": round(metrics.median(ms[name]), 3), "p95_ms": round(metrics.percentile(ms[name], 95), 3),
                         "p50_ratio": round(metrics.median(ms[name]) / base, 3),
                         "p95_ratio": round(metrics.percentile(ms[name], 95) / base95, 3),
                         "recall@1": round(m["recall@1"], 4), "recall@5": round(m["recall@5"], 4)}
    notes = [f"{len(items)} questions × {args.repeat} repeats, {len(index.chunks)} chunks from {len(sources)} files; "
             f"{len(secret)} files re-labelled 대외비 (감사담당관) in memory",
             f"forbidden chunks returned to the viewer without the group: {forbidden_seen} (must be 0)",
             "recall for the 50 % viewer counts gold sources it may not see as misses; the permitted viewer's recall "
             "is the one to compare with today's",
             "the 50 % viewer's BM25 is computed within its permitted chunks (their own idf and average length, "
             "index/bm25.py), so forbidden documents change none of its scores; \"today\" and the permitted viewer "
             "use bm25s' precomputed scores"]
    heads = ["run", "p50 ms", "p95 ms", "p50 ÷ today", "p95 ÷ today", "recall@1", "recall@5"]
    md = "\n".join([f"# Access labels in retrieval: {ds.name}", "",
                    "Fused retrieval (BM25 ∥ FAISS, kiwipiepy and query embedding computed outside the timing), the "
                    "same questions back to back per run. Command: `python -m eval.bench_access --dataset "
                    f"{args.dataset} --limit {args.limit} --repeat {args.repeat}`.", "",
                    table(heads, [[n, s["p50_ms"], s["p95_ms"], s["p50_ratio"], s["p95_ratio"], s["recall@1"],
                                   s["recall@5"]] for n, s in summary.items()]), "",
                    *[f"- {x}" for x in notes]])
    st = stamp(cfg, index=index, index_dir=index_dir, dataset=ds, embedder_path=emb_path)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "access-retrieval" + ("" if args.dataset == "korquad" else f"-{args.dataset}")
    (out / f"{name}.json").write_text(json.dumps({"kind": "access", "metrics": summary, "notes": notes,
                                                           "stamp": st}, ensure_ascii=False, indent=1, default=str)
                                               + "\n", encoding="utf-8")
    (out / f"{name}.md").write_text(md + "\n\n" + stamp_markdown(st) + "\n", encoding="utf-8")
    print(md)
    return 1 if forbidden_seen else 0


if __name__ == "__main__":
    raise SystemExit(main())
