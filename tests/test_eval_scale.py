"""The scale benchmark (eval/scale.py) end to end at a tiny size: synthetic index written by the product's writer,
measured in fresh worker processes, and its fused results equal to a direct Retriever call on the same index."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval import korquad
from eval.data import PROJECT_ROOT

pytestmark = pytest.mark.skipif(not korquad.default_path(PROJECT_ROOT).is_file(),
                                reason="KorQuAD 1.0 dev not found (../shared absent)")


class StoredQueries:
    """An embedder that returns the query vectors the benchmark computed (so the direct call sees the same ones)."""
    prompts: dict[str, str] = {}  # noqa: RUF012 - read by index.embed like SentenceTransformer.prompts

    def __init__(self, questions: list[str], vectors: np.ndarray):
        self.by_text = dict(zip(questions, vectors))

    def encode(self, texts, **kw):
        return np.vstack([self.by_text[t] for t in texts])


def test_scale_tiny_end_to_end(base_cfg, tmp_path):
    from eval.scale import CALLS, json_lines, run_scale
    from index.store import load_index
    from rag.runtime import make_retriever
    work = tmp_path / "work"
    report, _md, paths = run_scale(base_cfg, [2000], queries=20, out_dir=tmp_path / "out", work=work, keep=True,
                                  base_files=40, log=lambda m: None)
    assert {p.name for p in paths} >= {"scale.md", "scale.json"}
    assert json.loads((tmp_path / "out" / "scale.json").read_text(encoding="utf-8"))["kind"] == "scale"

    lines = [json.loads(x) for x in json_lines(report)]
    assert len(lines) == 1
    row = lines[0]
    for key in ("chunks", "index_rss_mb", "load_s", "fused_p50_ms", "fused_p95_ms"):
        assert key in row, key
    assert row["chunks"] == 2000
    for r in report["metrics"]["rows"]:
        assert r["fused_p95_ms"] >= r["fused_p50_ms"] > 0
        assert r["bm25_p95_ms"] >= r["bm25_p50_ms"] > 0 and r["dense_p95_ms"] >= r["dense_p50_ms"] > 0
        assert r["load_s"] > 0 and r["peak_rss_mb"] > 0 and r["rss_after_queries_mb"] > 0
    res = report["metrics"]["results"]["2000"]
    for run in res["runs"].values():
        assert run["chunks"] == 2000 and run["queries"] == 20
        assert set(run["latency_ms"]) == set(CALLS)
    if "resident" in res["runs"]:
        assert res["runs"]["resident"]["index_rss_mb"] > 0
    assert res["build"]["write_chunks_per_s"] > 0 and res["build"]["raw_build_s"] > 0

    # the benchmark's fused results equal a direct Retriever.search on its index, same question, terms and vector
    meta = json.loads((work / "queries.json").read_text(encoding="utf-8"))
    vecs = np.load(work / "queries.npy")
    index = load_index(Path(res["index_dir"]), meta["expected"])
    assert len(index) == 2000
    r = make_retriever(base_cfg, index, StoredQueries(meta["questions"], vecs))
    direct = [[h.chunk.id for h in r.search(q, base_cfg.top_k, terms=t)]
              for q, t in zip(meta["questions"], meta["terms"])]
    for run in res["runs"].values():
        assert run["linear_top_ids"] == direct[:len(run["linear_top_ids"])]
        assert any(run["linear_top_ids"])

    # deterministic: the same base and seed give the same synthetic chunks
    from eval.data import eval_home
    from eval.scale import base_from_index, synthesize
    base = base_from_index(load_index(min((eval_home(base_cfg) / "indexes").glob("scale-base-40-*"))))
    chunks, _terms, vectors, _ = synthesize(base, 2000)
    assert [(c.id, c.text) for c in chunks] == [(c.id, c.text) for c in (index.chunks[i] for i in range(2000))]
    assert np.array_equal(vectors, np.asarray(index.vectors))
