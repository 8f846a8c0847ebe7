"""`rag eval scale`: load time, memory and retrieval latency of synthetic indexes of N chunks, against the raw
library calls on the same data (issue 17 item 4).

    rag eval scale --chunks 100000,1000000 [--queries 200] [--json] [--out DIR]
    python -m eval.scale --chunks 100000,1000000          (the same without the rag CLI)

1. Base set: the KorQuAD 1.0 dev paragraphs, indexed by the product (`open_eval_index`: the project's chunker,
   kiwipiepy morphemes, the configured embedder; cached and incremental). Its evidence units (sentences with their
   morphemes, as stored in each chunk) and chunk vectors are the material.
2. Synthetic chunks, deterministic (numpy RNG, seed 17): chunk i takes the sentence slots of a random base chunk and
   keeps each of its sentences or, with probability 1/2, swaps it for a random base sentence; its text, evidence
   units and BM25 terms are those sentences' own; its vector is the normalized sum of the vectors of the base chunks
   its sentences come from plus Gaussian noise. Two chunks a file, as in the base set. Written by the product's own
   writer, `index.store.write_generation` (timed: ingest chunks/s), beside the raw library builds of the same data
   (bm25s `index()` on the same terms, FAISS `add()` of the same vectors).
3. Each size is measured in fresh processes (`python -m eval.scale --worker DIR --mode M`) that import the
   libraries, read the query file, then `load_index` the generation: load seconds and RSS after load (VmRSS minus
   the VmRSS before, from /proc/self/status; peak VmHWM), then per query, back to back in a rotating order:
   `Retriever` bm25, dense and linear (fused) on precomputed query morphemes and vectors, and the raw calls —
   bm25s `retrieve` on the same known morphemes, FAISS `search` and a numpy matmul top-k on the same vector, and
   bm25s + FAISS at the fusion's candidate depth as the fused baseline. When `load_index` has the keyword
   `resident`, mode "before" is resident=True (everything in memory) and "after" the default, in the same run.

Queries: KorQuAD questions, embedded with the real embedder and tokenized with kiwipiepy once, in the parent process.
KorQuAD 1.0 (LG CNS), CC BY-ND 2.0 KR: the sentences are used unmodified (recombined whole, never edited).
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEED = 17
SWAP = 0.5                 # chance that a sentence slot takes a random base sentence instead of its own
NOISE = 0.02               # per-dimension Gaussian noise added to the (normalized) combined vector
CHUNKS_PER_FILE = 2        # KorQuAD: 1,978 chunks from 961 paragraph files
WARMUP = 3
DEFAULT_SIZES = [100_000, 1_000_000]
CALLS = ("bm25", "dense", "linear", "raw_bm25", "raw_bm25_scores", "raw_faiss", "raw_numpy", "raw_fused")
RATIOS = {"bm25": "raw_bm25", "dense": "raw_faiss", "linear": "raw_fused"}   # + bm25 ÷ raw_bm25_scores


# ------------------------------------------------------------------------------------------------ base set

@dataclass
class Base:
    texts: list[str]              # distinct base sentences (evidence units), unmodified
    terms: list[list[str]]        # their BM25 morphemes
    sent_chunk: np.ndarray        # base chunk of each sentence
    slots: list[np.ndarray]       # sentence ids of each base chunk, in order
    vectors: np.ndarray           # base chunk vectors
    manifest: dict                # the base index's manifest (settings copied into every synthetic one)
    source: str                   # the base index generation


def base_from_index(index) -> Base:
    from index.chunking import span_text
    ids: dict[str, int] = {}
    texts, terms, sent_chunk, slots = [], [], [], []
    for ci, c in enumerate(index.chunks):
        spans = [(span_text(c.text, a, b), t) for a, b, t in c.units] or [(c.text, index.terms[ci])]
        own = []
        for text, t in spans:
            if text not in ids:
                ids[text] = len(texts)
                texts.append(text)
                terms.append(list(t))
                sent_chunk.append(ci)
            own.append(ids[text])
        slots.append(np.array(own, dtype=np.int64))
    return Base(texts, terms, np.array(sent_chunk, dtype=np.int64), slots,
                np.asarray(index.vectors, dtype=np.float32), index.manifest, str(index.path))


def open_base(cfg, files: int | None = None):
    """(Base, embedder, dataset) from the product's index of the KorQuAD paragraphs (all of them, or the first
    `files` in name order: whole articles, and the questions asked about them); ValueError with a reason when
    KorQuAD is not there."""
    from dataclasses import replace

    from eval import korquad
    from eval.data import PROJECT_ROOT, eval_home, open_eval_index, resolve_dataset
    if not korquad.default_path(PROJECT_ROOT).is_file():
        raise ValueError(f"KorQuAD 1.0 dev not found at {korquad.default_path(PROJECT_ROOT)} (../shared is absent): "
                         "the scale benchmark needs it for its base sentences and queries")
    ds = resolve_dataset(korquad.NAME, "retrieval", cfg)
    corpus = Path(ds.corpus)
    if files:
        names = sorted(p.name for p in corpus.glob("*.txt"))[:files]
        corpus = eval_home(cfg) / f"scale-base-{files}"
        corpus.mkdir(parents=True, exist_ok=True)
        for name in names:                          # unmodified copies of the first paragraph files
            if not (corpus / name).is_file():
                shutil.copyfile(Path(ds.corpus) / name, corpus / name)
        keep = set(names)
        ds = replace(ds, items=[r for r in ds.items if set(r.get("sources", [])) & keep])
    index, embedder, _, _, _ = open_eval_index(cfg, corpus)
    return base_from_index(index), embedder, ds


def prepare_queries(cfg, embedder, ds, n: int, path: Path, embedder_id: str) -> dict:
    """The first n KorQuAD questions with their morphemes (as the Retriever computes them) and real embeddings,
    written to path (.json + .npy) for the workers."""
    from index import korean
    from index.embed import embed_queries
    from index.store import Index
    from rag.runtime import make_retriever
    questions = [r["question"] for r in ds.items if r.get("answerable", True)][:n]
    stub = Index(Path("."), {}, [], [], np.zeros((0, 1), np.float32), None, None)
    r = make_retriever(cfg, stub, embedder)
    terms = [r.bm25_terms(q) for q in questions]
    vecs = np.vstack([embed_queries(embedder, questions[i:i + 64]) for i in range(0, len(questions), 64)])
    meta = {"questions": questions, "terms": terms,
            "expected": {"embedder": {"id": embedder_id, "dim": int(vecs.shape[1])}, "tokenizer": korean.settings()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path.with_suffix(".npy"), vecs.astype(np.float32))
    path.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return meta


# ------------------------------------------------------------------------------------------------ synthesis

def synthesize(base: Base, n: int, seed: int = SEED, block: int = 100_000):
    """(chunks, terms, vectors, files) of n synthetic chunks; the same (base, n, seed) gives the same chunks."""
    from index.records import Chunk
    rng = np.random.default_rng(seed)
    nb, ns = len(base.slots), len(base.texts)
    primary = rng.integers(0, nb, n)
    lens = np.array([len(s) for s in base.slots], dtype=np.int64)[primary]
    flat = np.concatenate(base.slots)
    starts = np.concatenate([[0], np.cumsum([len(s) for s in base.slots])[:-1]])
    offsets = np.concatenate([[0], np.cumsum(lens)])
    within = np.arange(offsets[-1]) - np.repeat(offsets[:-1], lens)
    own = flat[np.repeat(starts[primary], lens) + within]
    picks = np.where(rng.random(len(own)) < SWAP, rng.integers(0, ns, len(own)), own)
    dim = base.vectors.shape[1]
    vectors = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, block):                        # normalized sums of the sentences' chunk vectors, + noise
        b = min(a + block, n)
        sl = picks[offsets[a]:offsets[b]]
        v = np.add.reduceat(base.vectors[base.sent_chunk[sl]], offsets[a:b] - offsets[a], axis=0)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        v += rng.standard_normal(v.shape, dtype=np.float32) * np.float32(NOISE)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        vectors[a:b] = v
    chunks, terms, files = [], [], {}
    texts, sterms = base.texts, base.terms
    picks_l, offsets_l = picks.tolist(), offsets.tolist()
    for i in range(n):
        doc, ordinal = divmod(i, CHUNKS_PER_FILE)
        source = f"synthetic/{doc:07d}.txt"
        if ordinal == 0:
            sha = hashlib.sha256(f"{seed}:{doc}".encode()).hexdigest()
            files[source] = {"source": source, "sha256": sha, "size": 0, "title": f"{doc:07d}", "format": "txt",
                             "chunks": 0, "pii_policy": "", "pii": {}, "level": "내부", "groups": []}
        meta = files[source]
        parts, units, t, pos = [], [], [], 0
        for p in picks_l[offsets_l[i]:offsets_l[i + 1]]:
            s = texts[p]
            units.append([pos, pos + len(s), sterms[p]])
            parts.append(s)
            t += sterms[p]
            pos += len(s) + 1
        text = "\n".join(parts)
        meta["chunks"] += 1
        meta["size"] += len(text.encode("utf-8")) + 1
        chunks.append(Chunk(id=f"{meta['sha256'][:12]}:{ordinal}", source=source, text=text, ordinal=ordinal,
                            units=units))
        terms.append(t)
    return chunks, terms, vectors, files


def synthetic_manifest(base: Base, n: int, files: dict, seed: int) -> dict:
    keep = ("format", "project_version", "embedder", "tokenizer", "chunking", "faiss", "versions")
    m = {k: base.manifest[k] for k in keep if k in base.manifest}
    return {**m, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": files, "chunks": n,
            "synthetic": {"base": base.source, "seed": seed, "swap": SWAP, "noise": NOISE}}


def build(base: Base, n: int, index_dir: Path, seed: int = SEED) -> dict:
    """Synthesize n chunks and write them with the product's writer; raw library builds of the same data beside."""
    import faiss

    from index import bm25
    from index.store import write_generation
    shutil.rmtree(index_dir, ignore_errors=True)
    t0 = time.perf_counter()
    chunks, terms, vectors, files = synthesize(base, n, seed)
    synth_s = time.perf_counter() - t0
    manifest = synthetic_manifest(base, n, files, seed)
    kind = manifest.get("faiss", "flat")
    t0 = time.perf_counter()
    gen = write_generation(index_dir, manifest, chunks, terms, vectors, kind)
    write_s = time.perf_counter() - t0
    del chunks
    t0 = time.perf_counter()
    raw = bm25.build(terms)                                   # bm25s BM25(k1, b).index() of the same terms
    raw_bm25_s = time.perf_counter() - t0
    del raw
    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(vectors.shape[1]) if kind == "flat" else None
    if flat is None:
        from index.store import build_faiss
        build_faiss(vectors, kind)
    else:
        flat.add(vectors)
    raw_faiss_s = time.perf_counter() - t0
    sizes = {p.name: (sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size)
             for p in gen.iterdir()}
    return {"chunks": n, "synth_s": synth_s, "write_s": write_s, "write_chunks_per_s": n / write_s,
            "raw_build_s": raw_bm25_s + raw_faiss_s, "raw_bm25_index_s": raw_bm25_s, "raw_faiss_add_s": raw_faiss_s,
            "write_over_raw": write_s / (raw_bm25_s + raw_faiss_s),
            "terms_per_chunk": float(np.mean([len(t) for t in terms])), "disk_mb": sum(sizes.values()) / 2**20,
            "disk_mb_by_file": {k: round(v / 2**20, 1) for k, v in sizes.items()}, "faiss": kind}


# ------------------------------------------------------------------------------------------------ worker

def proc_status() -> dict:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, val = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(val.split()[0]) / 1024          # kB -> MB
    return out


def has_resident() -> bool:
    from index.store import load_index
    return "resident" in inspect.signature(load_index).parameters


def _pct(ms: list[float]) -> dict:
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)), "n": len(ms)}


def worker(index_dir: Path, queries: Path, mode: str, config: str | None = None, check: int = 20) -> dict:
    """One process, one load, every call timed. mode: "resident" (resident=True), "default" (no keyword)."""
    import bm25s  # noqa: F401 - imported before the baseline RSS, as load_index would
    import faiss

    from index.store import load_index
    from rag.config import load_config
    from rag.runtime import make_retriever
    cfg = load_config(config)
    meta = json.loads(queries.with_suffix(".json").read_text(encoding="utf-8"))
    qvecs = np.load(queries.with_suffix(".npy"))
    expected = meta["expected"]                     # the questions' embedder and tokenizer must match the index
    before = proc_status()
    t0 = time.perf_counter()
    index = load_index(index_dir, expected, resident=True) if mode == "resident" else load_index(index_dir, expected)
    load_s = time.perf_counter() - t0
    loaded = proc_status()
    if index.manifest["embedder"]["dim"] != qvecs.shape[1]:
        raise ValueError("query vectors and index vectors differ in dimension")
    k, depth = cfg.top_k, max(cfg.candidates, cfg.top_k)
    rs = {f: make_retriever(cfg, index, None, f) for f in ("bm25", "dense", "linear")}
    bm, dense = index.bm25, index.dense
    vocab = bm.vocab_dict

    def top(s, n):
        part = np.argpartition(-s, n - 1)[:n]
        return part[np.argsort(-s[part])]

    def calls(terms, v):
        known = [t for t in terms if t in vocab]
        return {"bm25": lambda: rs["bm25"]._fuse(terms, v, k),
                "dense": lambda: rs["dense"]._fuse(terms, v, k),
                "linear": lambda: rs["linear"]._fuse(terms, v, k),
                "raw_bm25": lambda: bm.retrieve([known], k=k, show_progress=False, n_threads=1) if known else None,
                "raw_faiss": lambda: dense.search(v.reshape(1, -1), depth),
                "raw_bm25_scores": lambda: top(bm.get_scores(known), k) if known else None,
                "raw_numpy": lambda: top(np.asarray(index.vectors @ v), depth),
                "raw_fused": lambda: (top(bm.get_scores(known), depth) if known else None,
                                      dense.search(v.reshape(1, -1), depth))}

    items = list(zip(meta["terms"], qvecs))
    for terms, v in items[:WARMUP]:
        for f in calls(terms, v).values():
            f()
    ms: dict[str, list[float]] = {c: [] for c in CALLS}
    for qi, (terms, v) in enumerate(items):
        fs = calls(terms, v)
        names = list(CALLS)
        names = names[qi % len(names):] + names[:qi % len(names)]      # rotating order: no call always goes first
        for name in names:
            t1 = time.perf_counter()
            fs[name]()
            ms[name].append((time.perf_counter() - t1) * 1000)
    after = proc_status()
    top_ids = [[h.chunk.id for h in rs["linear"]._fuse(t, v, k)] for t, v in items[:check]]
    return {"mode": mode, "chunks": len(index), "load_s": load_s, "rss_before_mb": before["VmRSS"],
            "index_rss_mb": loaded["VmRSS"] - before["VmRSS"], "rss_loaded_mb": loaded["VmRSS"],
            "rss_anon_loaded_mb": loaded.get("RssAnon"), "rss_file_loaded_mb": loaded.get("RssFile"),
            "rss_after_queries_mb": after["VmRSS"], "rss_anon_after_mb": after.get("RssAnon"),
            "rss_file_after_mb": after.get("RssFile"), "peak_rss_mb": after["VmHWM"],
            "latency_ms": {c: _pct(v) for c, v in ms.items()}, "queries": len(items),
            "faiss_threads": faiss.omp_get_max_threads(), "top_k": k, "candidates": depth,
            "weight_bm25": cfg.fusion_weight_bm25, "linear_top_ids": top_ids}


def run_worker(index_dir: Path, queries: Path, mode: str, config: str | None) -> dict:
    cmd = [sys.executable, "-m", "eval.scale", "--worker", str(index_dir), "--mode", mode,
           "--queries-file", str(queries)] + (["--config", config] if config else [])
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"scale worker failed ({mode}, {index_dir}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------ run + report

def summary_row(n: int, res: dict) -> dict:
    lat = res["latency_ms"]
    row = {"chunks": n, "mode": res["mode"], "index_rss_mb": round(res["index_rss_mb"], 1),
           "load_s": round(res["load_s"], 3), "fused_p50_ms": round(lat["linear"]["p50"], 3),
           "fused_p95_ms": round(lat["linear"]["p95"], 3), "peak_rss_mb": round(res["peak_rss_mb"], 1),
           "rss_after_queries_mb": round(res["rss_after_queries_mb"], 1)}
    for name in ("bm25", "dense"):
        row[f"{name}_p50_ms"] = round(lat[name]["p50"], 3)
        row[f"{name}_p95_ms"] = round(lat[name]["p95"], 3)
    for name, raw in RATIOS.items():
        row[f"{name}_p50_over_raw"] = round(lat[name]["p50"] / lat[raw]["p50"], 3)
        row[f"{name}_p95_over_raw"] = round(lat[name]["p95"] / lat[raw]["p95"], 3)
    row["bm25_p50_over_raw_scores"] = round(lat["bm25"]["p50"] / lat["raw_bm25_scores"]["p50"], 3)
    return row


def run_scale(cfg, sizes: list[int], queries: int = 200, out_dir: Path | None = None, work: Path | None = None,
              keep: bool = False, config: str | None = None, name: str = "scale", log=None,
              base_files: int | None = None, resident_max: int | None = None) -> tuple[dict, str, list]:
    """resident_max: above this many chunks only the default load is measured (a resident load of a million chunks
    needs more memory than a shared 24 GB machine may have free)."""
    from eval import report as rep
    from eval.data import REPORTS_DIR, eval_home
    log = log or (lambda msg: sys.stderr.write(msg + "\n"))
    work = Path(work) if work else eval_home(cfg) / "scale"
    t_run = time.perf_counter()
    load0 = os.getloadavg()
    base, embedder, ds = open_base(cfg, base_files)
    qpath = work / "queries"
    prepare_queries(cfg, embedder, ds, queries, qpath, base.manifest["embedder"]["id"])
    del embedder
    modes = ["resident", "default"] if has_resident() else ["default"]
    results: dict[str, dict] = {}
    failed: list[str] = []
    for n in sizes:
        index_dir = work / f"index-{n}"
        try:
            log(f"scale: {n:,} chunks: synthesizing and writing")
            b = build(base, n, index_dir)
            runs = {}
            for mode in modes:
                if mode == "resident" and resident_max is not None and n > resident_max:
                    continue
                log(f"scale: {n:,} chunks: measuring ({mode})")
                runs[mode] = run_worker(index_dir, qpath, mode, config)
            results[str(n)] = {"build": b, "runs": runs, "index_dir": str(index_dir)}
        except (MemoryError, OSError, RuntimeError) as e:     # a size that does not fit: the others still report
            failed.append(f"{n:,} chunks not measured: {type(e).__name__}: {str(e)[-300:]}")
            log(failed[-1])
        finally:
            if not keep:
                shutil.rmtree(index_dir, ignore_errors=True)
    if not results:
        raise RuntimeError("; ".join(failed))
    rows = [summary_row(int(n), r["runs"][m]) for n, r in results.items() for m in modes if m in r["runs"]]
    if resident_max is not None and any(int(n) > resident_max for n in results) and len(modes) > 1:
        failed.append(f"resident=True (the before) measured up to {resident_max:,} chunks only (--resident-max)")
    st = rep.stamp(cfg, dataset=ds)
    notes = failed + notes_for(results, modes, queries, load0, os.getloadavg(), time.perf_counter() - t_run)
    report = {"kind": "scale", "metrics": {"rows": rows, "results": results}, "notes": notes,
              "settings": {"chunks": sizes, "queries": queries, "seed": SEED, "swap": SWAP, "noise": NOISE,
                           "modes": modes, "base": base.source, "base_files": base_files,
                           "resident_max": resident_max, "base_chunks": len(base.slots),
                           "base_sentences": len(base.texts)},
              "stamp": st}
    md = markdown(results, modes, notes, sizes, queries, len(base.slots), len(base.texts), resident_max)
    paths = rep.write_report(Path(out_dir) if out_dir else REPORTS_DIR, name, report, md, figures(results, modes))
    return {**report, "name": name}, md, paths


def notes_for(results: dict, modes: list[str], queries: int, load0, load1, run_s: float) -> list[str]:
    first = next(iter(results.values()))["runs"][modes[-1]]
    notes = [f"machine shared with other jobs: {os.cpu_count()} CPUs, load average {load0[0]:.1f} at the start and "
             f"{load1[0]:.1f} at the end (whole run {run_s / 60:.1f} min); absolute times are inflated and noisy, the "
             "ratios come from the same process, query by query",
             f"{queries} KorQuAD questions per process, {WARMUP} warm-up queries first; top_k {first['top_k']}, "
             f"fusion candidates {first['candidates']}, weight_bm25 {first['weight_bm25']}, FAISS threads "
             f"{first['faiss_threads']} (the product's setting faiss_threads)",
             "query embedding and kiwipiepy are outside the timing (computed once in the parent; the Retriever is "
             "called through `_fuse` with them, as eval/bench_access.py does, since `search` embeds the question "
             "itself); the top ids of `_fuse` equal those of `Retriever.search` (tests/test_eval_scale.py)",
             "raw baselines on the same loaded objects: bm25 ÷ bm25s `retrieve` (k = top_k, one thread, the same "
             "known morphemes) and ÷ bm25s `get_scores` + argpartition top_k (the call the Retriever is built on); "
             "dense ÷ FAISS `search` at the candidate depth (what the dense retriever asks FAISS for); linear ÷ "
             "bm25s `get_scores` top-candidates + FAISS `search` at the candidate depth (the library work fusion "
             "cannot avoid); numpy = `vectors @ q` + argpartition, for reference",
             "RSS: index_rss_mb = VmRSS after `load_index` minus VmRSS just before it in the same process (libraries "
             "imported, queries read); memory-mapped files count in RSS only once their pages are touched "
             "(RssFile), so RSS after the queries is shown too"]
    if modes == ["default"]:
        notes.append("`load_index` has no `resident` keyword in this tree yet: only its default load was measured "
                     "(no before/after)")
    return notes


def findings(results: dict, modes: list[str]) -> list[str]:
    """One sentence per measure, at each size, every number a ratio to a baseline of the same run."""
    out = []
    for n, r in results.items():
        a = r["runs"][modes[-1]]
        lat = a["latency_ms"]
        what = "the default load" if len(modes) > 1 else "`load_index`"
        s = (f"{int(n):,} chunks: {what} takes {a['load_s']:.2f} s and adds {a['index_rss_mb']:.0f} MB RSS "
             f"({a['rss_after_queries_mb']:.0f} MB after the queries)")
        if "resident" in r["runs"] and a is not r["runs"]["resident"]:
            b = r["runs"]["resident"]
            s += (f"; resident=True {b['load_s']:.2f} s and {b['index_rss_mb']:.0f} MB "
                  f"({b['rss_after_queries_mb']:.0f} MB), i.e. load ×{a['load_s'] / b['load_s']:.2f}, "
                  f"RSS after load ×{a['index_rss_mb'] / b['index_rss_mb']:.2f}, after the queries "
                  f"×{a['rss_after_queries_mb'] / b['rss_after_queries_mb']:.2f}")
        out.append(s)
        out.append(f"{int(n):,} chunks: fused (linear) p50 {lat['linear']['p50']:.1f} ms / p95 "
                   f"{lat['linear']['p95']:.1f} ms = ×{lat['linear']['p50'] / lat['raw_fused']['p50']:.2f} the raw "
                   f"bm25s + FAISS calls of the same query; dense ×{lat['dense']['p50'] / lat['raw_faiss']['p50']:.2f}"
                   f" raw FAISS; BM25 ×{lat['bm25']['p50'] / lat['raw_bm25_scores']['p50']:.2f} bm25s get_scores + "
                   f"top-k and ×{lat['bm25']['p50'] / lat['raw_bm25']['p50']:.2f} bm25s retrieve (p50)")
        bld = r["build"]
        out.append(f"{int(n):,} chunks: `write_generation` {bld['write_chunks_per_s']:,.0f} chunks/s, "
                   f"×{bld['write_over_raw']:.2f} the time of the raw bm25s index() + FAISS add() of the same data")
    return out


def render(path: Path) -> list[Path]:
    """Rewrite the markdown and plots of a scale report from its JSON (the same numbers, no new measurement)."""
    from eval import report as rep
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    st = doc["settings"]
    results = doc["metrics"]["results"]
    md = markdown(results, st["modes"], doc["notes"], st["chunks"], st["queries"], st["base_chunks"],
                  st["base_sentences"], st.get("resident_max"))
    keep = {k: v for k, v in doc.items() if k not in ("name", "figures")}
    return rep.write_report(Path(path).parent, doc["name"], keep, md, figures(results, st["modes"]))


def _pp(lat: dict, name: str) -> str:
    return f"{lat[name]['p50']:.1f} / {lat[name]['p95']:.1f}"


def markdown(results: dict, modes: list[str], notes: list[str], sizes: list[int], queries: int,
             base_chunks: int, base_sentences: int, resident_max: int | None = None) -> str:
    from eval.report import table
    label = {"resident": "before (resident=True)", "default": "after (default)" if len(modes) > 1 else "default"}
    cmd = (f"rag eval scale --chunks {','.join(str(n) for n in sizes)} --queries {queries}"
           + (f" --resident-max {resident_max}" if resident_max is not None else ""))
    md = ["# Scale: load, memory and retrieval latency against the raw libraries", "",
          f"Command: `{cmd}` (or `python -m eval.scale` with the same options). Synthetic indexes built from "
          f"{base_chunks:,} KorQuAD 1.0 dev chunks ({base_sentences:,} distinct sentences with their kiwipiepy "
          "morphemes and real chunk embeddings), recombined deterministically (eval/scale.py), written with "
          "`write_generation` and loaded with `load_index` in a fresh process per size and mode.", "",
          "## Findings", "", *[f"- {x}" for x in findings(results, modes)], "",
          "## Load and memory", "",
          table(["chunks", "load", "load s", "index RSS MB", "RSS anon / file MB", "RSS after queries MB",
                 "peak RSS MB", "disk MB"],
                [[f"{int(n):,}", label[m], r["runs"][m]["load_s"], r["runs"][m]["index_rss_mb"],
                  f"{r['runs'][m]['rss_anon_loaded_mb']:.0f} / {r['runs'][m]['rss_file_loaded_mb']:.0f}",
                  r["runs"][m]["rss_after_queries_mb"], r["runs"][m]["peak_rss_mb"], r["build"]["disk_mb"]]
                 for n, r in results.items() for m in modes if m in r["runs"]], 1), "",
          "## Retrieval per query (ms, p50 / p95) and ratio to the raw library calls (p50)", "",
          table(["chunks", "load", "bm25", "bm25s retrieve", "÷", "bm25s get_scores", "÷", "dense", "raw FAISS",
                 "÷ raw", "numpy top-k", "linear (fused)", "raw get_scores+FAISS", "÷ raw"],
                [[f"{int(n):,}", label[m], _pp(lat, "bm25"), _pp(lat, "raw_bm25"),
                  lat["bm25"]["p50"] / lat["raw_bm25"]["p50"], _pp(lat, "raw_bm25_scores"),
                  lat["bm25"]["p50"] / lat["raw_bm25_scores"]["p50"], _pp(lat, "dense"), _pp(lat, "raw_faiss"),
                  lat["dense"]["p50"] / lat["raw_faiss"]["p50"], _pp(lat, "raw_numpy"), _pp(lat, "linear"),
                  _pp(lat, "raw_fused"), lat["linear"]["p50"] / lat["raw_fused"]["p50"]]
                 for n, r in results.items() for m in modes if m in r["runs"]
                 for lat in [r["runs"][m]["latency_ms"]]], 2), ""]
    if len(modes) > 1:
        md += ["## Before / after (after ÷ before, same run)", "",
               table(["chunks", "load s before → after", "÷", "index RSS MB before → after", "÷",
                      "RSS after queries before → after", "÷", "fused p50 ms before → after", "÷"],
                     [[f"{int(n):,}"] + [x for key in ("load_s", "index_rss_mb", "rss_after_queries_mb")
                                         for x in (f"{b[key]:.2f} → {a[key]:.2f}", a[key] / b[key] if b[key] else None)]
                      + [f"{b['latency_ms']['linear']['p50']:.1f} → {a['latency_ms']['linear']['p50']:.1f}",
                         a["latency_ms"]["linear"]["p50"] / b["latency_ms"]["linear"]["p50"]]
                      for n, r in results.items() if "resident" in r["runs"]
                      for b, a in [(r["runs"]["resident"], r["runs"]["default"])]], 2),
               ""]
    md += ["## Ingest (write) throughput", "",
           "`write_generation` of the synthetic chunks (chunk table, vectors, FAISS, BM25 and its term frequencies, "
           "manifest, fsync) against the raw library builds of the same data (bm25s `index()` of the same terms + "
           "FAISS `add()` of the same vectors). Embedding and kiwipiepy are not part of it: the whole pipeline on "
           "real files is measured in ingest-benchmark.md.", "",
           table(["chunks", "synthesize s", "write_generation s", "chunks/s", "raw bm25s index s", "raw FAISS add s",
                  "write ÷ raw", "BM25 terms per chunk"],
                 [[f"{int(n):,}", r["build"]["synth_s"], r["build"]["write_s"], r["build"]["write_chunks_per_s"],
                   r["build"]["raw_bm25_index_s"], r["build"]["raw_faiss_add_s"], r["build"]["write_over_raw"],
                   r["build"]["terms_per_chunk"]] for n, r in results.items()], 2), "",
           "## Notes", "", *[f"- {x}" for x in notes],
           "- data credit: KorQuAD 1.0 dev (LG CNS), CC BY-ND 2.0 KR, https://korquad.github.io/ — sentences used "
           "unmodified, recombined whole; the synthetic indexes live outside the repository and are removed after "
           "the run"]
    return "\n".join(md)


def figures(results: dict, modes: list[str]) -> dict:
    try:
        from eval.report import figure
    except ImportError:
        return {}
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return {}
    ns = [int(n) for n in results]
    figs = {}
    fig, ax = figure("Retrieval p50 per query", "chunks", "ms")
    for m in modes:
        xs = [n for n in ns if m in results[str(n)]["runs"]]
        for name in ("bm25", "dense", "linear", "raw_bm25_scores", "raw_faiss", "raw_fused"):
            ax.plot(xs, [results[str(n)]["runs"][m]["latency_ms"][name]["p50"] for n in xs], marker="o",
                    linestyle="--" if name.startswith("raw") else "-", label=f"{name} ({m})" if len(modes) > 1
                    else name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    figs["latency"] = fig
    fig, ax = figure("Memory of a process that loaded the index", "chunks", "MB")
    for m in modes:
        xs = [n for n in ns if m in results[str(n)]["runs"]]
        for key, lab in (("index_rss_mb", "RSS after load"), ("rss_after_queries_mb", "RSS after queries")):
            ax.plot(xs, [results[str(n)]["runs"][m][key] for n in xs], marker="o",
                    label=f"{lab} ({m})" if len(modes) > 1 else lab)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    figs["memory"] = fig
    return figs


def json_lines(report: dict) -> list[str]:
    """One JSON object per size: the default load's numbers at the top, the resident load's under "before"."""
    by_n: dict[int, dict] = {}
    for row in report["metrics"]["rows"]:
        if row["mode"] == "default":
            by_n.setdefault(row["chunks"], {}).update(row)
        else:
            by_n.setdefault(row["chunks"], {})["before"] = row
    for n, r in by_n.items():
        r["ingest_chunks_per_s"] = round(report["metrics"]["results"][str(n)]["build"]["write_chunks_per_s"], 1)
        r["ingest_over_raw"] = round(report["metrics"]["results"][str(n)]["build"]["write_over_raw"], 3)
    return [json.dumps(r, ensure_ascii=False) for r in by_n.values()]


def _sizes(s: str) -> list[int]:
    try:
        return [int(x.replace("_", "")) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated integers: {s!r}") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.scale", description=__doc__.splitlines()[0])
    p.add_argument("--chunks", type=_sizes, default=DEFAULT_SIZES)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", default=None)
    p.add_argument("--work", default=None, help="where the synthetic indexes are written (default: eval home)")
    p.add_argument("--keep", action="store_true", help="keep the synthetic indexes")
    p.add_argument("--config", default=None)
    p.add_argument("--base-files", type=int, default=None, help="base set: the first N KorQuAD paragraph files")
    p.add_argument("--resident-max", type=int, default=None, help="measure resident=True only up to N chunks")
    p.add_argument("--render", default=None, metavar="SCALE.json", help="rewrite a report's markdown and plots")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--mode", default="default", help=argparse.SUPPRESS)
    p.add_argument("--queries-file", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        res = worker(Path(args.worker), Path(args.queries_file), args.mode, args.config)
        sys.stdout.write(json.dumps(res, ensure_ascii=False) + "\n")
        return 0
    if args.render:
        print("\n".join(str(x) for x in render(Path(args.render))))
        return 0
    from rag.config import load_config
    cfg = load_config(args.config)
    report, md, paths = run_scale(cfg, args.chunks, args.queries, args.out, args.work, args.keep, args.config,
                                  base_files=args.base_files, resident_max=args.resident_max)
    if args.json:
        sys.stdout.write("\n".join(json_lines(report)) + "\n")
    else:
        print(md)
        print("\nreport: " + ", ".join(str(x) for x in paths if x.suffix in (".md", ".json")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
