"""The persisted hybrid index: build, incremental updates by content hash, a kill midway, settings mismatch,
bad input reported by name, and `rag search` output. Real embedder, real kiwipiepy, real files."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SEED
from index.store import IndexMismatchError, current_generation, load_index, update_index


def build(d, paths, embedder, **kw):
    from rag.runtime import pii_screen
    model, path = embedder
    return update_index(d, paths, model, path, **{"screen": pii_screen("mask"), **kw})


def test_build_then_incremental_add_change_delete(tmp_path, sample_copy, embedder):
    idx = tmp_path / "idx"
    rep = build(idx, [sample_copy], embedder)
    assert rep.ok and len(rep.added) == 4 and rep.chunks_embedded == rep.chunks_total > 0
    first = load_index(idx)
    assert {Path(c.source).name for c in first.chunks} == {p.name for p in sample_copy.iterdir()}
    assert first.manifest["embedder"]["dim"] == 384 and first.vectors.shape == (len(first.chunks), 384)

    # nothing changed: nothing embedded, no new generation
    gen = current_generation(idx)
    rep = build(idx, [sample_copy], embedder)
    assert rep.chunks_embedded == 0 and len(rep.unchanged) == 4 and current_generation(idx) == gen

    # add one file: only its chunks are embedded
    (sample_copy / "05_new.txt").write_text("새로 추가한 문서입니다. 공공 와이파이 확충 사업은 디지털도시국이 맡는다.",
                                            encoding="utf-8")
    rep = build(idx, [sample_copy], embedder)
    assert rep.added == [str(sample_copy / "05_new.txt")] and rep.chunks_embedded == 1
    assert rep.chunks_total == len(first.chunks) + 1

    # change it: re-embedded alone, old chunks of it gone
    (sample_copy / "05_new.txt").write_text("바뀐 문서입니다. 공공 와이파이 사업은 정보통신과가 맡는다.", encoding="utf-8")
    rep = build(idx, [sample_copy], embedder)
    assert len(rep.changed) == 1 and rep.chunks_embedded == 1
    texts = [c.text for c in load_index(idx).chunks]
    assert any("정보통신과" in t for t in texts) and not any("디지털도시국이 맡는다" in t for t in texts)

    # delete it: dropped, the other vectors kept byte-identical
    (sample_copy / "05_new.txt").unlink()
    rep = build(idx, [sample_copy], embedder)
    assert len(rep.removed) == 1 and rep.chunks_embedded == 0
    after = load_index(idx)
    assert [c.id for c in after.chunks] == [c.id for c in first.chunks]
    assert (after.vectors == first.vectors).all()


def test_loading_with_other_settings_is_a_clear_error(tmp_path, sample_copy, embedder):
    from index.embed import describe
    from index.store import expected_settings
    idx = tmp_path / "idx"
    build(idx, [sample_copy], embedder, chunk_tokens=200)
    model, path = embedder
    with pytest.raises(IndexMismatchError, match="rebuild|다시 만드"):
        load_index(idx, expected_settings(describe(model, path), 120, 1, "flat"))
    with pytest.raises(IndexMismatchError):       # an update with other settings refuses too, unless --rebuild
        build(idx, [sample_copy], embedder, chunk_tokens=120)
    rep = build(idx, [sample_copy], embedder, chunk_tokens=120, rebuild=True)
    assert rep.ok and load_index(idx).manifest["chunking"]["budget_tokens"] == 120


def test_bad_files_are_reported_by_name_and_the_rest_is_indexed(tmp_path, sample_copy, embedder):
    (sample_copy / "empty.txt").write_bytes(b"")
    (sample_copy / "junk.txt").write_bytes(os.urandom(4096))
    (sample_copy / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage")
    (sample_copy / "broken.hwp").write_bytes(os.urandom(9000))
    (sample_copy / "big.md").write_text("가" * 300_000, encoding="utf-8")
    (sample_copy / "notes.xyz").write_text("지원하지 않는 형식", encoding="utf-8")
    idx = tmp_path / "idx"
    rep = build(idx, [sample_copy, sample_copy / "notes.xyz"], embedder, max_bytes=200_000)
    reasons = {Path(e.source).name: e.reason for e in rep.errors}
    assert set(reasons) == {"empty.txt", "junk.txt", "broken.pdf", "broken.hwp", "big.md", "notes.xyz"}
    assert "빈 파일" in reasons["empty.txt"] and "너무 큼" in reasons["big.md"] and "형식" in reasons["notes.xyz"]
    assert len(rep.added) == 4 and len(load_index(idx).chunks) == rep.chunks_total > 0


def test_cli_exit_code_tells_full_from_partial(tmp_path, sample_copy, base_cfg):
    env = {**os.environ, "RAG_DATA_DIR": str(base_cfg.data_dir), "RAG_MODEL_CACHE_DIR": str(base_cfg.models_dir)}
    idx = tmp_path / "idx"
    run = [sys.executable, "-m", "rag.cli", "--index", str(idx), "index", "--json"]
    ok = subprocess.run(run + [str(sample_copy)], capture_output=True, text=True, env=env, timeout=600)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(ok.stdout.splitlines()[-1])["chunks_total"] > 0
    (sample_copy / "empty.md").write_bytes(b"")
    partial = subprocess.run(run + [str(sample_copy)], capture_output=True, text=True, env=env, timeout=600)
    assert partial.returncode == 1
    out = json.loads(partial.stdout.splitlines()[-1])
    assert [e["source"] for e in out["errors"]] == [str(sample_copy / "empty.md")]


@pytest.mark.skipif(not SEED.is_dir(), reason="seed corpus (../shared) absent")
def test_killed_midway_leaves_the_previous_index_usable(tmp_path, sample_copy, base_cfg, embedder):
    idx = tmp_path / "idx"
    build(idx, [sample_copy], embedder)
    before = load_index(idx)
    # a bigger batch that takes a while to embed: distinct copies of the seed corpus
    big = tmp_path / "big"
    big.mkdir()
    for k in range(4):
        for f in SEED.glob("*.txt"):
            (big / f"{k}_{f.name}").write_text(f"사본 {k}\n" + f.read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "RAG_DATA_DIR": str(base_cfg.data_dir), "RAG_MODEL_CACHE_DIR": str(base_cfg.models_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "--index", str(idx), "index", str(sample_copy), str(big)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    deadline = time.time() + 300
    for line in proc.stderr:                          # wait until embedding is under way, then kill -9
        if line.startswith("[embed]") or time.time() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    after = load_index(idx)
    assert [c.id for c in after.chunks] == [c.id for c in before.chunks]
    assert (after.vectors == before.vectors).all()
    # and the next run completes (no stale lock, stale temp generations cleaned)
    rep = build(idx, [sample_copy], embedder)
    assert rep.ok and not list(idx.glob(".tmp-gen-*"))


@pytest.mark.skipif(not SEED.is_dir(), reason="seed corpus (../shared) absent")
def test_search_batch_json(tmp_path, seed_index_dir, base_cfg):
    batch = tmp_path / "q.jsonl"
    batch.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "a", "question": "스마트도시위원회 회의는 언제 열렸나"},
        {"id": "b", "question": "AI 경쟁력 강화 특별위원회 구성결의안 제안자"}]), encoding="utf-8")
    env = {**os.environ, "RAG_DATA_DIR": str(base_cfg.data_dir), "RAG_MODEL_CACHE_DIR": str(base_cfg.models_dir)}
    out = subprocess.run([sys.executable, "-m", "rag.cli", "search", "--index", str(seed_index_dir), "--batch",
                          str(batch), "--json", "-k", "3"], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"]
    for r in rows:
        assert len(r["hits"]) == 3 and r["timings"]["retrieval_ms"] > 0
        assert set(r["hits"][0]) >= {"source", "page", "chunk_id", "score", "text"}
    assert rows[0]["hits"][0]["source"].endswith("004_0975bff835e253bc.txt")
    assert rows[1]["hits"][0]["source"].endswith("000_b516fe88ddf24f4d.txt")


def test_approximate_faiss_index_is_selectable_and_finds_the_same_neighbours():
    import numpy as np

    from index.store import build_faiss
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(5000, 64)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    queries = vecs[:50] + 0.05 * rng.normal(size=(50, 64)).astype("float32")
    exact, approx = build_faiss(vecs, "flat"), build_faiss(vecs, "hnsw")
    _, e = exact.search(queries, 1)
    _, a = approx.search(queries, 1)
    assert (e[:, 0] == np.arange(50)).all()
    assert (a[:, 0] == e[:, 0]).mean() >= 0.95
    with pytest.raises(ValueError):
        build_faiss(vecs, "ivf-nonsense")


def test_a_reader_takes_chunking_from_the_manifest(tmp_path, embedder, base_cfg):
    """Chunk size is a writer's setting: a reader whose config says otherwise still reads the index; the embedder
    must match."""
    from dataclasses import replace

    from rag.runtime import open_index
    idx = tmp_path / "idx"
    build(idx, [ROOT / "samples"], embedder, chunk_tokens=200)
    model, path = embedder
    got = open_index(replace(base_cfg, chunk_tokens=120, index_dir=idx), model, path)
    assert got.manifest["chunking"]["budget_tokens"] == 200 and len(got.chunks) > 0


def test_an_index_of_an_older_format_is_rebuilt_with_the_files_it_held(tmp_path, embedder, sample_copy):
    """Format 2 stores evidence units per chunk; `rag index` on a format-1 index rebuilds it from the files, and a
    file indexed before but not named this time is kept (nothing is lost)."""
    import json as _json
    idx = tmp_path / "idx"
    build(idx, [sample_copy], embedder)
    manifest = current_generation(idx) / "manifest.json"
    m = _json.loads(manifest.read_text(encoding="utf-8"))
    m["format"] = 1
    manifest.write_text(_json.dumps(m), encoding="utf-8")
    with pytest.raises(IndexMismatchError):
        load_index(idx)                                   # readers never guess
    one = sorted(sample_copy.iterdir())[0]
    rep = build(idx, [one], embedder)
    assert rep.format_upgraded
    after = load_index(idx)
    assert len(after.files) == m["file_count"] == after.file_count and all(c.units for c in after.chunks)
    assert "files" not in after.manifest                  # the per-file table lives in files.json (readers skip it)


def test_a_mapped_index_reads_the_same_as_a_resident_one(tmp_path, sample_copy, embedder, base_cfg):
    """Opened for reading, vectors, FAISS codes and BM25 arrays are memory-mapped and chunks read on demand; the
    chunks, labels, document frequencies and every retriever's results equal the everything-in-memory load."""
    from collections import Counter
    from dataclasses import replace

    from index.table import ChunkTable
    from rag.access import LOCAL, Viewer
    from rag.runtime import make_retriever
    idx = tmp_path / "idx"
    (sample_copy / "access.toml").write_text('[files."01_사용안내.md"]\nlevel = "공개"\n', encoding="utf-8")
    build(idx, [sample_copy], embedder)
    mapped, resident = load_index(idx), load_index(idx, resident=True)
    assert len(mapped.label_table().sets) == 2                     # 공개 and 내부: an outsider sees a part
    assert isinstance(mapped.chunks, ChunkTable) and isinstance(resident.chunks, list)
    assert isinstance(mapped.vectors, np.memmap) and mapped.stored_terms is None
    assert list(mapped.chunks) == resident.chunks == [mapped.chunks[i] for i in range(len(mapped))]
    assert mapped.chunks[-1] == resident.chunks[-1] and mapped.chunks[1:3] == resident.chunks[1:3]
    assert mapped.terms == resident.terms
    df, n = mapped.document_frequencies()
    want: Counter = Counter()
    for t in resident.terms:
        want.update(set(t))
    assert n == len(resident.terms) and all(df[t] == c for t, c in want.items()) and df["없는낱말"] == 0
    outsider = Viewer(name=None, groups=frozenset(), signed_in=False, admin=False)
    model, _ = embedder
    outsider_found = 0
    for fusion in ("bm25", "dense", "linear", "rrf"):
        a, b = make_retriever(base_cfg, mapped, model, fusion), make_retriever(base_cfg, resident, model, fusion)
        # and streamed: the mapped vectors searched block by block (index/dense.py), as a 1M-chunk index would be
        c = make_retriever(replace(base_cfg, dense_stream_mb=0), mapped, model, fusion)
        c.stream_dense_bytes = 0
        assert c._streams() and not a._streams() and not b._streams()
        for q in ("도우미가 읽을 수 있는 문서 형식은 무엇인가요?", "개인정보가 담긴 질문은 어떻게 되나요?"):
            for viewer in (LOCAL, outsider):
                ha, hb = a.search(q, k=5, viewer=viewer), b.search(q, k=5, viewer=viewer)
                assert [(h.chunk, round(h.score, 6)) for h in ha] == [(h.chunk, round(h.score, 6)) for h in hb]
                hc = c.search(q, k=5, viewer=viewer)
                assert [h.chunk for h in hc] == [h.chunk for h in hb]          # FAISS and numpy round apart
                assert np.allclose([h.score for h in hc], [h.score for h in hb], atol=1e-5)
                outsider_found += bool(ha) and viewer is outsider
    assert outsider_found                                          # the outsider's part was compared, not nothing


def test_a_streamed_dense_search_ranks_like_faiss(tmp_path):
    """index/dense.py: the exact block-by-block search over the mapped vectors returns FAISS IndexFlatIP's ranking and
    honours the access mask before the top-k; candidate rows read by pread equal the stored ones."""
    import faiss

    from index.dense import released_top_k, releasable
    rng = np.random.default_rng(7)
    n, d, block = 60_000, 64, 4096
    vecs = rng.standard_normal((n, d)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    np.save(tmp_path / "vectors.npy", vecs)
    mapped = np.load(tmp_path / "vectors.npy", mmap_mode="r")
    assert releasable(mapped) and not releasable(vecs)
    flat = faiss.IndexFlatIP(d)
    flat.add(vecs)
    allowed = rng.random(n) < 0.3
    sel = faiss.SearchParameters()
    bits = np.packbits(allowed, bitorder="little")
    sel.sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
    for q in rng.standard_normal((12, d)).astype(np.float32):
        ids, scores = released_top_k(mapped, q, 50, block_rows=block)
        want_s, want_i = flat.search(q.reshape(1, -1), 50)
        assert list(ids) == list(want_i[0]) and np.allclose(scores, want_s[0], atol=1e-5)
        ids, _ = released_top_k(mapped, q, 50, allowed, block_rows=block)
        _, want_i = flat.search(q.reshape(1, -1), 50, params=sel)
        assert list(ids) == list(want_i[0]) and allowed[ids].all()
    assert len(released_top_k(mapped, q, 5, np.zeros(n, bool))[0]) == 0
    # the fusion's scattered candidates are read by pread, not through the mapping: nothing of the file stays mapped
    from index.dense import VectorRows
    rows = VectorRows(tmp_path / "vectors.npy", mapped)
    some = rng.choice(n, 200, replace=False)
    assert np.array_equal(rows.rows(some), vecs[some])
    # Not asserted here: that the released pages leave the process. Alone this test saw a few blocks mapped at most;
    # in one full-suite run 13.6 of the 15 MB stayed mapped after a released search (not understood yet). The memory
    # claim rests on eval/reports/latency-serve-1m.md (the serving process at 1M chunks), not on this test.
