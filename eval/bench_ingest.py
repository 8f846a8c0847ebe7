"""Ingest and query benchmark -> eval/reports/ingest-benchmark.md + .json.

    python -m eval.bench_ingest                  # the whole run (about 15 minutes on 2 shared cores)
    python -m eval.bench_ingest --quick          # every phase on small sizes (a smoke run, about 5 minutes)
    python -m eval.bench_ingest report           # write the report again from the last run's results
    python -m eval.bench_ingest embed --backend torch|onnx-fp32|onnx-int8 --texts korquad|seed --n 32
                                                 # one embedding run in its own process, for whole-process timing
                                                 # with public tools (/usr/bin/time -v); needs a finished run

Phases run one after another, each in a child process, so each reports its own peak memory (ru_maxrss):

  export        copy the embedder folder into the work directory (the shared model folder is never written), export
                its transformer to ONNX fp32 and quantize it to int8 (index.embed.ensure_onnx_int8)
  ingest        update_index from files, per corpus (seed documents, KorQuAD paragraphs) and embedding backend
                (torch, onnx-int8), split into parsing (loaders) / kiwipiepy (sentences, morphemes, packing) /
                embedding / writing; bytes on disk per index component
  embed         torch fp32 against ONNX fp32 against ONNX int8 on the same texts, in alternating repetitions
                (ratios pair by pair, so a drifting machine speed cancels); cosines; one-question latency
  recall        KorQuAD retrieval (bm25 / dense / linear fusion) with torch vectors against int8 vectors
  scale-build   synthetic indexes of 10k / 100k / 1M chunks: vectors drawn around real KorQuAD embeddings, BM25
                postings drawn from the real morpheme frequency distribution and chunk lengths
  scale-query   a fresh process loads that index as load_index does and answers real KorQuAD questions:
                p50 / p95 per query per fusion, load time, memory

The decision rule (issue): ONNX int8 becomes the default embedding backend if it is at least 2x faster than torch
with at most 1 point less recall@5 (dense and the default linear fusion). The report states whether it is met; the
benchmark never changes a default itself. Scratch files live in --work-dir (outside the repository).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPORT_NAME = "ingest-benchmark"
BACKENDS = ("torch", "onnx-fp32", "onnx-int8")
# what the embed phase compares: a backend and the environment of its process. torch's OpenMP threads busy-wait
# between operators by default; on cores shared with other work that costs a lot, so torch is also measured with
# OMP_WAIT_POLICY=PASSIVE (the ONNX Runtime sessions never busy-wait: index.embed sets that).
VARIANTS = {"torch": ("torch", {}), "torch-passive": ("torch", {"OMP_WAIT_POLICY": "PASSIVE"}),
            "onnx-fp32": ("onnx-fp32", {}), "onnx-int8": ("onnx-int8", {})}
TORCH_REFS = ("torch", "torch-passive")
FP32_ONNX = "model.onnx"                     # benchmark-only file beside the int8 one in the work copy
SPEED_RULE, RECALL_RULE = 2.0, 0.01          # >= 2x faster, <= 1 point less recall@5

# sizes of a run; --quick shrinks them. Chosen so the whole run stays near 15 minutes on 2 shared cores.
FULL = {"korquad_files": 150, "embed_sample": 16, "embed_reps": 3, "query_latency_n": 20,
        "scales": [10_000, 100_000, 1_000_000], "scale_queries": 60, "hnsw_max": 100_000}
QUICK = {"korquad_files": 20, "embed_sample": 4, "embed_reps": 2, "query_latency_n": 5,
         "scales": [10_000, 100_000], "scale_queries": 10, "hnsw_max": 10_000}


# ------------------------------------------------------------------------------------------------ small helpers

def log(msg: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024          # Linux: kilobytes


def rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def pct(values: list[float]) -> dict:
    from eval.metrics import percentile
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "n": len(values)}


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) if Path(path).is_dir() else (
        Path(path).stat().st_size if Path(path).is_file() else 0)


def component_sizes(gen: Path) -> dict:
    """Bytes on disk of one index generation, per component."""
    out = {name: dir_bytes(gen / name) for name in ("chunks.jsonl", "vectors.npy", "dense.faiss", "bm25",
                                                     "manifest.json")}
    out["total"] = dir_bytes(gen)
    return out


def cos_rows(a: np.ndarray, b: np.ndarray) -> dict:
    c = (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return {"mean": float(c.mean()), "min": float(c.min()), "p5": float(np.percentile(c, 5)), "n": int(len(c))}


class Work:
    """Paths inside the work directory."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.results = self.root / "results"
        self.indexes = self.root / "indexes"
        self.scale = self.root / "scale"
        self.options_file = self.root / "options.json"

    def options(self) -> dict:
        return json.loads(self.options_file.read_text(encoding="utf-8"))

    def model_dir(self) -> Path:
        return Path(self.options()["model_copy"])

    def index_dir(self, corpus: str, backend: str) -> Path:
        return self.indexes / f"{corpus}-{backend}"

    def save(self, key: str, result: dict) -> None:
        self.results.mkdir(parents=True, exist_ok=True)
        result = {**result, "peak_rss_mb": round(peak_rss_mb(), 1)}
        (self.results / f"{key}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str),
                                                  encoding="utf-8")

    def load(self, key: str) -> dict:
        return json.loads((self.results / f"{key}.json").read_text(encoding="utf-8"))


def open_backend(work: Work, backend: str):
    from index.embed import load_embedder
    from index.onnx import load_onnx_embedder
    path = work.model_dir()
    if backend == "torch":
        return load_embedder(str(path))
    if backend == "onnx-fp32":
        return load_onnx_embedder(path, path / "onnx" / FP32_ONNX)
    if backend == "onnx-int8":
        return load_onnx_embedder(path)
    raise ValueError(f"unknown backend {backend!r}; one of {BACKENDS}")


def korquad_subset(cfg, n_files: int) -> tuple[object, Path, list[Path]]:
    """(dataset, corpus dir, the first n paragraph files in name order: whole articles, so a question's hardest
    distractors, the other paragraphs of its article, are mostly in the subset)."""
    from eval.data import resolve_dataset
    ds = resolve_dataset("korquad", "retrieval", cfg)
    files = sorted(Path(ds.corpus).glob("*.txt"))[:n_files]
    return ds, Path(ds.corpus), files


def seed_corpus() -> Path:
    from eval.data import SEOUL_CORPUS
    return SEOUL_CORPUS


def chunk_texts(index_dir: Path) -> list[str]:
    from index.store import current_generation, read_chunks
    chunks, _ = read_chunks(current_generation(index_dir))
    return [c.text for c in chunks]


# ------------------------------------------------------------------------------------------------ phase: export

def phase_export(work: Work, cfg) -> None:
    from index.onnx import ONNX_INT8_NAME, ensure_onnx_int8, export_onnx
    from rag.provision.e5 import ensure_embedder
    src = Path(cfg.embedder_path) if cfg.embedder_path else ensure_embedder(cfg.models_dir)
    dst = work.model_dir()
    out: dict = {"source": str(src), "copy": str(dst)}
    if not (dst / "config.json").is_file():
        log(f"copying the embedder folder into {dst}")
        tmp = dst.with_name(dst.name + f".tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("onnx"))
        os.replace(tmp, dst)
    int8 = dst / "onnx" / ONNX_INT8_NAME
    out["int8_cached"] = int8.is_file()
    log("ONNX int8: export + dynamic quantization (once per work directory)")
    t0 = time.perf_counter()
    ensure_onnx_int8(dst)
    out["int8_export_quantize_s"] = time.perf_counter() - t0
    fp32 = dst / "onnx" / FP32_ONNX
    out["fp32_cached"] = fp32.is_file()
    if not fp32.is_file():
        log("ONNX fp32 export (benchmark only)")
        t0 = time.perf_counter()
        tmp = fp32.with_name(f".{FP32_ONNX}.{os.getpid()}")
        export_onnx(dst, tmp)
        os.replace(tmp, fp32)
        out["fp32_export_s"] = time.perf_counter() - t0
    out["bytes"] = {"model.safetensors": dir_bytes(dst / "model.safetensors"), "onnx fp32": dir_bytes(fp32),
                    "onnx int8": dir_bytes(int8)}
    work.save("export", out)


# ------------------------------------------------------------------------------------------------ phase: ingest

def phase_ingest(work: Work, cfg, corpus: str, backend: str) -> None:
    from index import korean
    from index.store import current_generation, read_chunks
    from rag.runtime import index_files
    opts = work.options()
    if corpus == "seed":
        paths = [seed_corpus()]
        files = sorted(p for p in paths[0].rglob("*") if p.is_file())
    else:
        _, _, files = korquad_subset(cfg, opts["korquad_files"])
        paths = files
    input_bytes = sum(f.stat().st_size for f in files)
    t0 = time.perf_counter()
    korean.get_kiwi()
    kiwi_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = open_backend(work, backend)
    model_load = time.perf_counter() - t0
    index_dir = work.index_dir(corpus, backend)
    shutil.rmtree(index_dir, ignore_errors=True)
    last = [0.0]

    def progress(stage: str, done: int, total: int, eta: float) -> None:
        if time.perf_counter() - last[0] > 20 or done >= total:
            last[0] = time.perf_counter()
            log(f"  {corpus}/{backend} {stage} {done}/{total}" + (f", eta {eta:.0f} s" if stage == "embed" else ""))

    log(f"ingest {corpus} ({len(files)} files, {input_bytes / 1e6:.2f} MB) with {backend}")
    rep = index_files(cfg, paths, model, work.model_dir(), index_dir=index_dir, rebuild=True, progress=progress)
    if rep.errors:
        raise RuntimeError(f"ingest errors: {[e.source for e in rep.errors]}")
    gen = current_generation(index_dir)
    t = rep.timings
    stages = {"parse_s": t["parse_s"], "kiwipiepy_s": t["kiwi_chunk_s"], "embed_s": t["embed_s"],
              "write_s": t["write_s"]}
    total = t["total_s"]
    out = {"corpus": corpus, "backend": backend, "files": len(files), "input_bytes": input_bytes,
           "chunks": rep.chunks_total, "kiwi_load_s": kiwi_load, "model_load_s": model_load, **stages,
           "other_s": max(total - sum(stages.values()), 0.0), "total_s": total,
           "share": {k: v / total for k, v in stages.items()},
           "chunks_per_s": rep.chunks_total / total, "input_kb_per_s": input_bytes / 1024 / total,
           "embed_chunks_per_s": rep.chunks_total / max(t["embed_s"], 1e-9),
           "kiwipiepy_kb_per_s": input_bytes / 1024 / max(t["kiwi_chunk_s"], 1e-9),
           "sizes": component_sizes(gen), "rss_after_mb": rss_mb()}
    if corpus == "korquad" and backend == "torch":
        # memory the loaded chunk table (Chunk objects + BM25 term lists) costs per chunk, for the scale estimates
        import tracemalloc
        gc.collect()
        tracemalloc.start()
        chunks, terms = read_chunks(gen)
        cur, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["chunk_table_bytes_per_chunk"] = cur / max(len(chunks), 1)
        out["terms_per_chunk"] = sum(map(len, terms)) / max(len(terms), 1)
        del chunks, terms
    work.save(f"ingest-{corpus}-{backend}", out)


# ------------------------------------------------------------------------------------------------ phase: embed

def sample_sets(work: Work, n: int) -> dict[str, list[str]]:
    """The same n chunk texts of each corpus for every backend (drawn from the torch indexes, fixed seed)."""
    rng = random.Random(0)
    out = {}
    for corpus in ("seed", "korquad"):
        texts = chunk_texts(work.index_dir(corpus, "torch"))
        out[corpus] = rng.sample(texts, min(n, len(texts)))
    return out


def latency_questions(work: Work, cfg, n: int) -> list[str]:
    ds, _, files = korquad_subset(cfg, work.options()["korquad_files"])
    names = {f.name for f in files}
    return [r["question"] for r in ds.items if set(r.get("sources") or []) & names][:n]


def embed_once(work: Work, cfg, backend: str, sets: dict[str, list[str]], questions: list[str],
               save: Path | None = None, label: str | None = None) -> dict:
    """Load one backend in this process, embed every set once (after a warm-up), then the questions one by one."""
    from index.embed import embed_passages, embed_query
    t0 = time.perf_counter()
    model = open_backend(work, backend)
    out: dict = {"backend": backend, "load_s": time.perf_counter() - t0, "sets": {}}
    embed_passages(model, ["준비"] * 2)          # embed_passages adds the "passage: " prompt
    for name, texts in sets.items():
        t0 = time.perf_counter()
        vecs = embed_passages(model, texts, cfg.embed_batch_size)
        out["sets"][name] = {"texts": len(texts), "embed_s": time.perf_counter() - t0}
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            np.save(save / f"{label or backend}-{name}.npy", vecs)
    ms = []
    for q in questions:
        t0 = time.perf_counter()
        embed_query(model, q)
        ms.append((time.perf_counter() - t0) * 1000)
    out["query_ms"] = ms
    return out


def run_measured(cmd: list[str], env: dict | None = None) -> dict:
    """Run a command to completion; its wall time and the kernel's accounting of its CPU time and peak memory."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})})
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode})")
    return {"wall_s": time.perf_counter() - t0, "cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_mb": ru.ru_maxrss / 1024}


def phase_embed(work: Work, cfg) -> None:
    """Every variant in its own process (a process holding torch and ONNX Runtime thread pools together would
    not measure either alone), in turn A B C D, B C D A, ...; ratios are taken repetition by repetition."""
    opts = work.options()
    sets = sample_sets(work, opts["embed_sample"])
    tok = __import__("transformers").AutoTokenizer.from_pretrained(str(work.model_dir()))
    vec_dir = work.root / "embed-vectors"
    shutil.rmtree(vec_dir, ignore_errors=True)
    names = list(VARIANTS)
    runs: dict = {v: [] for v in names}
    for r in range(opts["embed_reps"]):
        for v in names[r % len(names):] + names[:r % len(names)]:
            backend, env = VARIANTS[v]
            res_file = work.root / f"embed-{v}.json"
            m = run_measured([sys.executable, "-m", "eval.bench_ingest", "embed", "--backend", backend, "--label", v,
                              "--texts", "sample", "--n", str(opts["embed_sample"]), "--queries",
                              str(opts["query_latency_n"]), "--save", str(vec_dir), "--json-out", str(res_file),
                              "--work-dir", str(work.root)], env)
            runs[v].append({**json.loads(res_file.read_text(encoding="utf-8")), "process": m})
        log(f"  rep {r + 1}/{opts['embed_reps']}: " + "; ".join(
            f"{v} " + ", ".join(f"{n} {runs[v][-1]['sets'][n]['embed_s']:.1f} s" for n in sets) for v in names))

    def ratio(vals_t: list[float], vals_b: list[float]) -> dict:
        x = [t / o for t, o in zip(vals_t, vals_b)]
        return {"median": float(np.median(x)), "min": float(min(x)), "max": float(max(x)), "pairs": x}

    def ratios(vals: dict) -> dict:
        return {ref: {v: ratio(vals[ref], vals[v]) for v in names if v != ref} for ref in TORCH_REFS}

    out: dict = {"runs": runs, "sets": {}, "process": {}}
    for name, texts in sets.items():
        secs = {v: [x["sets"][name]["embed_s"] for x in runs[v]] for v in names}
        ref = np.load(vec_dir / f"torch-{name}.npy")
        out["sets"][name] = {
            "texts": len(texts), "chars_mean": float(np.mean([len(t) for t in texts])),
            "tokens_mean": float(np.mean([len(tok("passage: " + t)["input_ids"]) for t in texts])),
            "seconds": secs, "median_s": {v: float(np.median(x)) for v, x in secs.items()},
            "texts_per_s_median": {v: len(texts) / float(np.median(x)) for v, x in secs.items()},
            "ratio": ratios(secs),
            "cosine_vs_torch": {v: cos_rows(np.load(vec_dir / f"{v}-{name}.npy"), ref)
                                for v in ("onnx-fp32", "onnx-int8")}}
    for key in ("wall_s", "cpu_s"):
        vals = {v: [x["process"][key] for x in runs[v]] for v in names}
        out["process"][key] = {"median": {v: float(np.median(x)) for v, x in vals.items()}, "ratio": ratios(vals)}
    out["process"]["maxrss_mb"] = {v: max(x["process"]["maxrss_mb"] for x in runs[v]) for v in names}
    out["load_s"] = {v: float(np.median([x["load_s"] for x in runs[v]])) for v in names}
    out["query_embed_ms"] = {v: pct([ms for x in runs[v] for ms in x["query_ms"]]) for v in names}
    work.save("embed", out)


# ------------------------------------------------------------------------------------------------ phase: recall

def phase_recall(work: Work, cfg) -> None:
    from eval import metrics
    from eval.runs import retrieval_item_scores, retrieval_items
    from index import korean
    from index.embed import embed_queries
    from index.store import load_index
    from rag.runtime import make_retriever
    opts = work.options()
    ds, corpus, files = korquad_subset(cfg, opts["korquad_files"])
    names = {f.name for f in files}
    items = [r for r in retrieval_items(ds.items) if set(r["sources"]) <= names]
    indexes = {b: load_index(work.index_dir("korquad", b)) for b in ("torch", "onnx-int8")}
    ids = {b: [c.id for c in ix.chunks] for b, ix in indexes.items()}
    if ids["torch"] != ids["onnx-int8"]:
        raise RuntimeError("the torch and int8 indexes hold different chunks")
    out: dict = {"questions": len(items), "chunks": len(ids["torch"]), "files": len(files),
                 "chunk_cosine_int8_vs_torch": cos_rows(indexes["onnx-int8"].vectors, indexes["torch"].vectors),
                 "query_embed_s": {}, "metrics": {}}
    questions = [r["question"] for r in items]
    qvecs = {}
    for b in ("torch", "onnx-int8"):
        model = open_backend(work, b)
        t0 = time.perf_counter()
        qvecs[b] = embed_queries(model, questions, cfg.embed_batch_size)
        out["query_embed_s"][b] = time.perf_counter() - t0
        log(f"  {len(questions)} questions embedded with {b} in {out['query_embed_s'][b]:.1f} s")
        del model
    out["query_cosine_int8_vs_torch"] = cos_rows(qvecs["onnx-int8"], qvecs["torch"])
    korean.get_kiwi()
    depth = 30
    for b, index in indexes.items():
        for fusion in ("bm25", "dense", "linear"):
            if fusion == "bm25" and b != "torch":
                continue                                    # no vectors involved: identical by construction
            r = make_retriever(cfg, index, None, fusion)
            rows = [retrieval_item_scores(item, r._fuse(korean.terms(item["question"]), v, depth), corpus)["scores"]
                    for item, v in zip(items, qvecs[b])]
            out["metrics"][f"{fusion}/{b}"] = metrics.mean_dicts(rows)
            log(f"  {fusion} with {b} vectors: recall@5 {out['metrics'][f'{fusion}/{b}']['recall@5']:.4f}")
    out["delta_recall@5"] = {f: out["metrics"][f"{f}/onnx-int8"]["recall@5"] - out["metrics"][f"{f}/torch"]["recall@5"]
                             for f in ("dense", "linear")}
    # the questions the scale phases ask: real questions, torch query vectors, their morphemes
    n = opts["scale_queries"]
    np.save(work.root / "queries.npy", qvecs["torch"][:n])
    (work.root / "queries.json").write_text(json.dumps(questions[:n], ensure_ascii=False), encoding="utf-8")
    work.save("recall", out)


# ------------------------------------------------------------------------------------------------ phase: scale

def _real_stats(work: Work) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(vocabulary, term probabilities, chunk lengths in terms, real vectors) from the two torch indexes."""
    from collections import Counter
    from index.store import load_index
    counts: Counter = Counter()
    lengths, vectors = [], []
    for corpus in ("seed", "korquad"):
        ix = load_index(work.index_dir(corpus, "torch"))
        for t in ix.terms:
            counts.update(t)
            lengths.append(len(t))
        vectors.append(ix.vectors)
    vocab = [t for t, _ in counts.most_common()]
    freq = np.array([counts[t] for t in vocab], dtype=np.float64)
    return vocab, freq / freq.sum(), np.array([max(n, 1) for n in lengths]), np.concatenate(vectors)


def synthetic_postings(n_docs: int, p: np.ndarray, lengths: np.ndarray, rng, block: int = 100_000):
    """Sampled chunks as (doc, term, tf) triples in doc order, plus every chunk's length (terms with repeats)."""
    V = len(p)
    doc_len = rng.choice(lengths, size=n_docs).astype(np.int64)
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    docs, terms, tfs = [], [], []
    for start in range(0, n_docs, block):
        lens = doc_len[start:start + block]
        tok = np.searchsorted(cdf, rng.random(int(lens.sum())), side="right").astype(np.int64)
        doc = np.repeat(np.arange(len(lens), dtype=np.int64), lens)
        uniq, tf = np.unique(doc * V + tok, return_counts=True)
        docs.append((uniq // V + start).astype(np.int32))
        terms.append((uniq % V).astype(np.int32))
        tfs.append(tf.astype(np.float32))
    return np.concatenate(docs), np.concatenate(terms), np.concatenate(tfs), doc_len


def bm25_from_postings(vocab: list[str], n_docs: int, doc: np.ndarray, term: np.ndarray, tf: np.ndarray,
                       doc_len: np.ndarray, k1: float = 1.2, b: float = 0.75):
    """A bm25s.BM25 (method "lucene", the project's k1/b) whose score matrix is computed with numpy from postings:
    bm25s' own index() needs every token as a Python object, too slow and large at a million chunks. Checked
    against index() on a small corpus by check_bm25_builder()."""
    import bm25s
    V = len(vocab)
    df = np.bincount(term, minlength=V).astype(np.float64)
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    avg = float(doc_len.mean())
    tfc = tf / (k1 * ((1 - b) + b * doc_len[doc].astype(np.float32) / np.float32(avg)) + tf)
    score = (idf[term] * tfc).astype(np.float32)
    order = np.argsort(term, kind="stable")                 # column-major; rows stay ascending within a column
    bm = bm25s.BM25(k1=k1, b=b)
    bm.scores = {"data": score[order], "indices": doc[order].astype(np.int32),
                 "indptr": np.concatenate([[0], np.cumsum(np.bincount(term, minlength=V))]).astype(np.int64),
                 "num_docs": n_docs}
    bm.vocab_dict = {t: i for i, t in enumerate(vocab)}
    bm.unique_token_ids_set = set(range(V))
    bm.nonoccurrence_array = None
    return bm


def check_bm25_builder(vocab: list[str], p: np.ndarray, lengths: np.ndarray, questions: list[list[str]]) -> float:
    """Largest absolute score difference between bm25_from_postings and bm25s' own index() on 2,000 chunks."""
    import bm25s
    rng = np.random.default_rng(1)
    doc, term, tf, doc_len = synthetic_postings(2000, p, lengths, rng)
    ours = bm25_from_postings(vocab, 2000, doc, term, tf, doc_len)
    tokens: list[list[str]] = [[] for _ in range(2000)]
    for d, t, f in zip(doc.tolist(), term.tolist(), tf.tolist()):
        tokens[d] += [vocab[t]] * int(f)
    ref = bm25s.BM25(k1=1.2, b=0.75)
    ref.index(tokens, show_progress=False)
    worst = 0.0
    for q in questions:
        known = [t for t in q if t in ours.vocab_dict and t in ref.vocab_dict]
        if known:
            worst = max(worst, float(np.abs(ours.get_scores(known) - ref.get_scores(known)).max()))
    return worst


def phase_scale_build(work: Work, cfg, n: int) -> None:
    import faiss
    from index import korean
    from index.store import build_faiss
    opts = work.options()
    out_dir = work.scale / str(n)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    vocab, p, lengths, real = _real_stats(work)
    questions = json.loads((work.root / "queries.json").read_text(encoding="utf-8"))
    out: dict = {"n": n, "vocab": len(vocab), "terms_per_chunk_mean": float(lengths.mean()), "timings_s": {}}
    if n == min(opts["scales"]):
        out["bm25_builder_max_abs_diff"] = check_bm25_builder(vocab, p, lengths,
                                                              [korean.terms(q) for q in questions[:20]])
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    base = real[rng.integers(0, len(real), size=n)]
    vectors = base + rng.standard_normal(base.shape, dtype=np.float32) * np.float32(0.025)
    del base
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors.astype(np.float32)
    out["timings_s"]["vectors"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    doc, term, tf, doc_len = synthetic_postings(n, p, lengths, rng)
    bm = bm25_from_postings(vocab, n, doc, term, tf, doc_len)
    out["postings"] = int(len(doc))
    del doc, term, tf
    out["timings_s"]["bm25"] = time.perf_counter() - t0
    log(f"  {n:,}: vectors and BM25 built ({out['postings']:,} postings)")
    t0 = time.perf_counter()
    np.save(out_dir / "vectors.npy", vectors)
    bm.save(str(out_dir / "bm25"))
    out["timings_s"]["write_vectors_bm25"] = time.perf_counter() - t0
    del bm
    gc.collect()
    t0 = time.perf_counter()
    flat = build_faiss(vectors, "flat")
    out["timings_s"]["faiss_flat"] = time.perf_counter() - t0
    faiss.write_index(flat, str(out_dir / "dense.faiss"))
    del flat
    if n <= opts["hnsw_max"]:
        log(f"  {n:,}: HNSW build")
        t0 = time.perf_counter()
        hnsw = build_faiss(vectors, "hnsw")
        out["timings_s"]["faiss_hnsw"] = time.perf_counter() - t0
        faiss.write_index(hnsw, str(out_dir / "dense-hnsw.faiss"))
        del hnsw
    out["sizes"] = {name: dir_bytes(out_dir / name) for name in ("vectors.npy", "dense.faiss", "bm25")}
    if (out_dir / "dense-hnsw.faiss").is_file():
        out["sizes"]["dense-hnsw.faiss"] = dir_bytes(out_dir / "dense-hnsw.faiss")
    work.save(f"scale-build-{n}", out)


class _SyntheticChunks:
    """len() and indexing like the chunk list, without a million objects (chunk text plays no part in timing)."""

    def __init__(self, n: int):
        from index.records import Chunk
        self.n = n
        self.chunk = Chunk(id="synthetic:0", source="synthetic", text="", page=None, section="", ordinal=0)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return self.chunk


def phase_scale_query(work: Work, cfg, n: int) -> None:
    import bm25s
    import faiss
    from index import korean
    from index.store import Index
    from rag.runtime import make_retriever
    src = work.scale / str(n)
    korean.get_kiwi()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    vectors = np.load(src / "vectors.npy")
    dense = faiss.read_index(str(src / "dense.faiss"))
    bm = bm25s.BM25.load(str(src / "bm25"))
    out: dict = {"n": n, "load_s": time.perf_counter() - t0}
    out["rss_loaded_mb"] = rss_mb()
    out["rss_index_mb"] = out["rss_loaded_mb"] - rss0
    index = Index(src, {}, _SyntheticChunks(n), [], vectors, dense, bm)
    qvecs = np.load(work.root / "queries.npy")
    questions = json.loads((work.root / "queries.json").read_text(encoding="utf-8"))
    # the product as it runs (FAISS with its default OpenMP threads), then FAISS limited to one thread: for one
    # query at a time on shared cores, OpenMP's thread start-up and waiting can cost more than the search itself
    runs = [("linear", "flat", 0), ("bm25", "flat", 0), ("dense", "flat", 0)]
    if (src / "dense-hnsw.faiss").is_file():
        runs += [("dense", "hnsw", 0), ("linear", "hnsw", 0)]
    runs += [("dense", "flat", 1), ("linear", "flat", 1)]
    default_threads = faiss.omp_get_max_threads()
    flat, hnsw = dense, None
    out["latency_ms"] = {}
    for fusion, kind, threads in runs:
        if kind == "hnsw" and hnsw is None:
            hnsw = faiss.read_index(str(src / "dense-hnsw.faiss"))
        index.dense = hnsw if kind == "hnsw" else flat
        faiss.omp_set_num_threads(threads or default_threads)
        r = make_retriever(cfg, index, None, fusion)
        for q, v in list(zip(questions, qvecs))[:3]:
            r._fuse(korean.terms(q), v, cfg.top_k)                  # warm-up
        ms = []
        for q, v in zip(questions, qvecs):
            t1 = time.perf_counter()
            r._fuse(korean.terms(q), v, cfg.top_k)                  # kiwipiepy inside the timing, as before
            ms.append((time.perf_counter() - t1) * 1000)
        key = f"{fusion}/{kind}" if fusion != "bm25" else "bm25"
        key += "/1-thread" if threads == 1 else ""
        out["latency_ms"][key] = pct(ms)
        log(f"  {n:,} chunks, {key}: p50 {np.median(ms):.1f} ms")
    out["faiss_default_threads"] = default_threads
    work.save(f"scale-query-{n}", out)


# ------------------------------------------------------------------------------------------------ orchestration

def run_child(work: Work, *args: str, env: dict | None = None) -> None:
    cmd = [sys.executable, "-m", "eval.bench_ingest", "phase", *args, "--work-dir", str(work.root)]
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, env={**os.environ, **(env or {})})
    if rc != 0:
        raise SystemExit(f"phase {' '.join(args)} failed (exit {rc})")
    log(f"phase {' '.join(args)} done in {time.perf_counter() - t0:.0f} s")


def run_all(args) -> int:
    from rag.config import load_config
    from rag.provision.e5 import FOLDER_NAME
    cfg = load_config()
    opts = dict(QUICK if args.quick else FULL)
    for key in ("korquad_files", "embed_reps", "scale_queries"):
        if getattr(args, key) is not None:
            opts[key] = getattr(args, key)
    if args.scales:
        opts["scales"] = [int(x) for x in args.scales.split(",")]
    work = Work(args.work_dir)
    work.root.mkdir(parents=True, exist_ok=True)
    src = Path(cfg.embedder_path) if cfg.embedder_path else cfg.models_dir / FOLDER_NAME
    opts["model_copy"] = str(work.root / "model" / src.name)
    work.options_file.write_text(json.dumps(opts, indent=1), encoding="utf-8")
    shutil.rmtree(work.results, ignore_errors=True)
    started = time.time()
    load_before = os.getloadavg()
    log(f"work directory {work.root}; sizes {json.dumps({k: v for k, v in opts.items() if k != 'model_copy'})}")
    run_child(work, "export")
    # ABBA order: a machine getting faster or slower during the run favours neither backend
    for corpus, backend in (("seed", "torch"), ("seed", "onnx-int8"), ("korquad", "onnx-int8"), ("korquad", "torch")):
        run_child(work, "ingest", corpus, backend)
    run_child(work, "embed")
    run_child(work, "recall", env={"OMP_WAIT_POLICY": "PASSIVE"})     # timing not reported; vectors identical
    for n in opts["scales"]:
        run_child(work, "scale-build", str(n))
        run_child(work, "scale-query", str(n))
        if not args.keep:
            shutil.rmtree(work.scale / str(n), ignore_errors=True)
    run = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
           "wall_s": time.time() - started, "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
           "cpus": os.cpu_count(), "options": opts, "quick": args.quick}
    (work.root / "run.json").write_text(json.dumps(run, indent=1), encoding="utf-8")
    write(work, cfg, run, Path(args.out) if args.out else None)
    return 0


# ------------------------------------------------------------------------------------------------ report

def _mb(b: float | None) -> str:
    return "–" if b is None else f"{b / 2**20:.1f}"


def assemble(work: Work, run: dict) -> dict:
    opts = run["options"]
    res = {"run": run, "export": work.load("export"), "embed": work.load("embed"), "recall": work.load("recall"),
           "ingest": {f"{c}/{b}": work.load(f"ingest-{c}-{b}") for c in ("seed", "korquad")
                      for b in ("torch", "onnx-int8")},
           "scale": {n: {"build": work.load(f"scale-build-{n}"), "query": work.load(f"scale-query-{n}")}
                     for n in opts["scales"]}}
    sets = res["embed"]["sets"]
    speed = {ref: {name: st["ratio"][ref]["onnx-int8"]["median"] for name, st in sets.items()} for ref in TORCH_REFS}
    ingest_ratio = {c: res["ingest"][f"{c}/torch"]["embed_s"] / res["ingest"][f"{c}/onnx-int8"]["embed_s"]
                    for c in ("seed", "korquad")}
    deltas = res["recall"]["delta_recall@5"]
    fast = {ref: min(speed[ref].values()) >= SPEED_RULE for ref in TORCH_REFS}
    close = min(deltas.values()) >= -RECALL_RULE
    # the speed-up must hold against torch without busy-waiting too: that part torch gets from a setting alone
    res["verdict"] = {"speed_ratio_over_int8": speed, "ingest_embed_ratio_torch_over_int8": ingest_ratio,
                      "delta_recall@5": deltas, "at_least_2x": fast, "at_most_1_point_less": close,
                      "meets_rule": all(fast.values()) and close}
    return res


def findings(res: dict) -> list[str]:
    """The points a reader needs, each computed from this run's numbers."""
    em, v = res["embed"], res["verdict"]
    out = []
    seed, kq = em["sets"]["seed"], em["sets"]["korquad"]
    sp = v["speed_ratio_over_int8"]
    out.append("ONNX int8: " + ("meets" if v["meets_rule"] else "does not meet") + " the 2x / 1-point rule. "
               f"Speed-up over torch as it runs now {sp['torch']['seed']:.2f}x (seed) and "
               f"{sp['torch']['korquad']:.2f}x (KorQuAD), over torch without busy-waiting {sp['torch-passive']['seed']:.2f}x and "
               f"{sp['torch-passive']['korquad']:.2f}x; recall@5 "
               + ", ".join(f"{f} {d * 100:+.2f} points" for f, d in v["delta_recall@5"].items())
               + ". Quality is not the obstacle (cosine to torch "
               f"{res['recall']['chunk_cosine_int8_vs_torch']['mean']:.4f}); the speed-up on chunk-length text is.")
    qe = em["query_embed_ms"]
    out.append("torch's OpenMP busy-waiting is the larger cost on shared cores: with OMP_WAIT_POLICY=PASSIVE torch "
               f"embeds chunks {seed['ratio']['torch']['torch-passive']['median']:.2f}x / "
               f"{kq['ratio']['torch']['torch-passive']['median']:.2f}x faster and one question in "
               f"{qe['torch-passive']['p50']:.0f} ms instead of {qe['torch']['p50']:.0f} ms (p50); "
               f"ONNX int8 needs {qe['onnx-int8']['p50']:.0f} ms. The variable must be set before torch is imported.")
    big = max(res["scale"], key=int)
    lat = res["scale"][big]["query"]["latency_ms"]
    if "dense/flat/1-thread" in lat:
        out.append(f"FAISS flat search, one question at a time, is faster on one thread: at {int(big):,} chunks "
                   f"linear fusion p50 {lat['linear/flat']['p50']:.0f} ms with FAISS' default threads against "
                   f"{lat['linear/flat/1-thread']['p50']:.0f} ms with `faiss.omp_set_num_threads(1)`; "
                   "BM25 over all chunks costs " f"{lat['bm25']['p50']:.0f} ms.")
    kq_ing = res["ingest"]["korquad/torch"]
    per = kq_ing.get("chunk_table_bytes_per_chunk")
    if per:
        out.append(f"Memory at scale: `load_index` keeps every chunk and its BM25 term list as Python objects, about "
                   f"{per / 1024:.1f} KB per chunk (measured on KorQuAD), i.e. ~{per * int(big) / 2**30:.1f} GB at "
                   f"{int(big):,} chunks on top of {res['scale'][big]['query']['rss_index_mb'] / 1024:.1f} GB of "
                   "vectors, FAISS and BM25 arrays; the term lists are only needed when the index is updated.")
    i8, tt = res["ingest"]["seed/onnx-int8"], res["ingest"]["seed/torch"]
    out.append(f"ONNX Runtime keeps its peak working memory (memory arena): ingest peak {i8['peak_rss_mb']:.0f} MB "
               f"with int8 against {tt['peak_rss_mb']:.0f} MB with torch on the seed corpus (batches of "
               "long chunks), and a long-running process that ingests keeps it.")
    return out


def markdown(res: dict) -> str:
    from eval.report import table
    run, opts, v = res["run"], res["run"]["options"], res["verdict"]
    ex, em, rc = res["export"], res["embed"], res["recall"]
    L = ["# Ingest and query benchmark", ""]
    word = "meets" if v["meets_rule"] else "does not meet"
    sp = v["speed_ratio_over_int8"]
    L += [f"**ONNX int8 {word} the rule** (at least {SPEED_RULE:g}x faster than torch with at most "
          f"{RECALL_RULE * 100:g} point less recall@5, dense and linear). Embedding speed-up over torch as it runs "
          "now: " + ", ".join(f"{k} chunks {r:.2f}x" for k, r in sp["torch"].items())
          + "; over torch with OMP_WAIT_POLICY=PASSIVE: " + ", ".join(f"{k} chunks {r:.2f}x"
                                                                       for k, r in sp["torch-passive"].items())
          + " (paired medians); the whole ingest embed stage: " + ", ".join(
              f"{k} {r:.2f}x" for k, r in v["ingest_embed_ratio_torch_over_int8"].items())
          + ". recall@5 change with int8 vectors: " + ", ".join(
              f"{f} {d * 100:+.2f} points" for f, d in v["delta_recall@5"].items())
          + ". The benchmark changes no default; `embed_backend` stays as configured.", ""]
    L += ["Machine: 2 CPUs shared with other jobs (load average "
          f"{run['loadavg_before'][0]:.1f} before, {run['loadavg_after'][0]:.1f} after; whole run "
          f"{run['wall_s'] / 60:.1f} min). Absolute seconds are inflated and noisy; the ratios come from the same "
          "run, pair by pair.", ""]

    L += ["## Findings", ""] + [f"- {x}" for x in findings(res)] + [""]
    L += ["## Ingest throughput", "",
          "`update_index` from files into a fresh index. parse = format loaders; kiwipiepy = sentence split, "
          "morphemes and chunk packing; embed = `embed_passages`; write = the generation directory (chunk table, "
          "vectors, FAISS, BM25). Model and kiwipiepy load times are not part of the stages.", ""]
    rows = []
    for key, r in res["ingest"].items():
        rows.append([key, r["files"], f"{r['input_bytes'] / 1e6:.2f}", r["chunks"], r["parse_s"], r["kiwipiepy_s"],
                     r["embed_s"], r["write_s"], r["total_s"], f"{r['share']['embed_s'] * 100:.0f}%",
                     r["chunks_per_s"], r["embed_chunks_per_s"], r["model_load_s"], round(r["peak_rss_mb"])])
    L += [table(["corpus/backend", "files", "MB in", "chunks", "parse s", "kiwipiepy s", "embed s", "write s",
                 "total s", "embed share", "chunks/s", "embed chunks/s", "model load s", "peak RSS MB"], rows, 2), ""]
    kq = res["ingest"]["korquad/torch"]
    L += [f"kiwipiepy alone runs at {kq['kiwipiepy_kb_per_s']:.0f} KB/s of input on KorQuAD paragraphs; "
          f"embedding is {kq['share']['embed_s'] * 100:.0f}% of ingest time with torch and "
          f"{res['ingest']['korquad/onnx-int8']['share']['embed_s'] * 100:.0f}% with ONNX int8. KorQuAD: the first "
          f"{opts['korquad_files']} paragraph files of KorQuAD 1.0 dev in name order (whole articles).", ""]

    L += ["## Embedding backends on the same texts", "",
          f"{opts['embed_reps']} repetitions; in each, every variant runs in its own process, one after another "
          f"(the first one rotates), embedding the same {opts['embed_sample']} chunks drawn from each corpus' "
          "index (batch size as configured), then questions one at a time. `torch` is the current default as it "
          "runs; `torch-passive` is the same with OMP_WAIT_POLICY=PASSIVE (OpenMP threads sleep instead of "
          "busy-waiting between operators); the ONNX Runtime sessions never busy-wait. Speed-up = reference "
          "seconds / variant seconds of the same repetition (embedding only, timed in-process); median "
          "[min–max]. Cosine = per text against torch.", ""]
    rows = []
    for name, st in em["sets"].items():
        for b in ("torch", "torch-passive", "onnx-fp32", "onnx-int8"):
            r1 = st["ratio"]["torch"].get(b)
            r2 = st["ratio"]["torch-passive"].get(b)
            c = st["cosine_vs_torch"].get(b)
            rows.append([f"{name} ({st['texts']} chunks, {st['tokens_mean']:.0f} tokens)", b, st["median_s"][b],
                         st["texts_per_s_median"][b],
                         f"{r1['median']:.2f} [{r1['min']:.2f}–{r1['max']:.2f}]" if r1 else "1",
                         f"{r2['median']:.2f} [{r2['min']:.2f}–{r2['max']:.2f}]" if r2 else "1",
                         f"{c['mean']:.4f} / {c['min']:.4f}" if c else "–"])
    L += [table(["texts", "variant", "median s", "chunks/s", "speed-up over torch", "over torch-passive",
                 "cosine mean / min"], rows, 2), ""]
    pr = em["process"]
    L += ["Whole processes (start, model load, embedding, questions; the kernel's accounting), torch-passive / "
          "variant: wall-time ratio " + ", ".join(
              f"{b} {pr['wall_s']['ratio']['torch-passive'][b]['median']:.2f}" for b in ("torch", "onnx-fp32",
                                                                                         "onnx-int8"))
          + "; CPU-seconds ratio " + ", ".join(
              f"{b} {pr['cpu_s']['ratio']['torch-passive'][b]['median']:.2f}" for b in ("torch", "onnx-fp32",
                                                                                        "onnx-int8"))
          + "; peak memory (MB) " + ", ".join(f"{b} {m:.0f}" for b, m in pr["maxrss_mb"].items()) + ".", ""]
    q = em["query_embed_ms"]
    L += ["One question at a time (query embedding, ms): " + ", ".join(
        f"{b} p50 {q[b]['p50']:.1f} / p95 {q[b]['p95']:.1f}" for b in q)
          + f" ({opts['query_latency_n']} KorQuAD questions x {opts['embed_reps']} repetitions).",
          "", "Model load (s): " + ", ".join(f"{b} {t:.1f}" for b, t in em["load_s"].items())
          + f". Files: safetensors {_mb(ex['bytes']['model.safetensors'])} MB, ONNX fp32 "
          f"{_mb(ex['bytes']['onnx fp32'])} MB, ONNX int8 {_mb(ex['bytes']['onnx int8'])} MB"
          + (f"; export + quantization took {ex['int8_export_quantize_s']:.0f} s" if not ex["int8_cached"] else "")
          + ".", ""]

    L += ["## Retrieval quality: torch vectors against int8 vectors", "",
          f"KorQuAD subset: {rc['files']} paragraphs, {rc['chunks']} chunks, {rc['questions']} questions (source "
          "level, as in retrieval-korquad.md). Both indexes hold the same chunks; only the vectors (chunks and "
          "questions) differ. Chunk vector cosine int8 vs torch: mean "
          f"{rc['chunk_cosine_int8_vs_torch']['mean']:.4f}, min {rc['chunk_cosine_int8_vs_torch']['min']:.4f}; "
          f"question vectors: mean {rc['query_cosine_int8_vs_torch']['mean']:.4f}.", ""]
    rows = [[k] + [m.get(c) for c in ("recall@1", "recall@5", "recall@10", "mrr@10")]
            for k, m in rc["metrics"].items()]
    L += [table(["retriever/vectors", "recall@1", "recall@5", "recall@10", "mrr@10"], rows, 4), ""]

    L += ["## Query latency at scale", "",
          "Synthetic indexes: vectors drawn around real KorQuAD and seed-corpus chunk embeddings (Gaussian noise, "
          "cosine to their centre about 0.9), BM25 postings drawn from the real morpheme frequency distribution and "
          "chunk lengths (so frequent terms have long posting lists as in real text; a real corpus of that size "
          "would have a larger vocabulary and shorter lists). Each index is loaded in a fresh process as "
          "`load_index` does, then real KorQuAD questions go through `Retriever` (kiwipiepy morphemes, BM25 over "
          "all chunks, FAISS, fusion; query embedding excluded: see above). ms per question, p50 / p95. `/1-thread`: "
          "the same with `faiss.omp_set_num_threads(1)`.", ""]
    kinds = list(dict.fromkeys(k for s in res["scale"].values() for k in s["query"]["latency_ms"]))
    rows = []
    for n, s in res["scale"].items():
        lat = s["query"]["latency_ms"]
        rows.append([f"{int(n):,}"] + [f"{lat[k]['p50']:.1f} / {lat[k]['p95']:.1f}" if k in lat else "–"
                                       for k in kinds])
    L += [table(["chunks"] + kinds, rows), ""]
    L += ["### Index size and memory", "",
          "Bytes on disk per component (MB). The chunk table (chunks.jsonl) of a synthetic index is estimated from "
          "the real KorQuAD index's bytes per chunk. Memory: RSS growth from loading the index (vectors + FAISS + "
          "BM25 arrays) and the peak of the querying process; the chunk table `load_index` also keeps in memory "
          "(Chunk objects and BM25 term lists) is estimated from the real KorQuAD index per chunk.", ""]
    per_chunk_disk = kq["sizes"]["chunks.jsonl"] / kq["chunks"]
    per_chunk_mem = kq.get("chunk_table_bytes_per_chunk", 0)
    rows = []
    for key, r in res["ingest"].items():
        z = r["sizes"]
        rows.append([f"{key} ({r['chunks']})", _mb(z["chunks.jsonl"]), _mb(z["vectors.npy"]), _mb(z["dense.faiss"]),
                     _mb(z["bm25"]), _mb(z["total"]), "–", "–", round(r["peak_rss_mb"])])
    for n, s in res["scale"].items():
        z, qy = s["build"]["sizes"], s["query"]
        n = int(n)
        est = per_chunk_disk * n
        total = est + z["vectors.npy"] + z["dense.faiss"] + z["bm25"]
        rows.append([f"synthetic {n:,}", f"~{_mb(est)}", _mb(z["vectors.npy"]), _mb(z["dense.faiss"]) + (
            f" (hnsw {_mb(z['dense-hnsw.faiss'])})" if "dense-hnsw.faiss" in z else ""), _mb(z["bm25"]),
            f"~{_mb(total)}", f"{qy['rss_index_mb']:.0f}", f"~{per_chunk_mem * n / 2**20:.0f}",
            round(qy["peak_rss_mb"])])
    L += [table(["index", "chunks.jsonl", "vectors.npy", "dense.faiss", "bm25", "total", "loaded index MB",
                 "chunk table MB (est.)", "peak RSS MB"], rows), ""]
    b0 = res["scale"][min(res["scale"])]["build"]
    no_hnsw = [n for n, s in res["scale"].items() if "faiss_hnsw" not in s["build"]["timings_s"]]
    if no_hnsw:
        L += [f"HNSW was not built at {', '.join(f'{int(n):,}' for n in no_hnsw)} chunks (over --hnsw-max: its build "
              "time grows faster than linearly and would exceed the run's time budget on 2 cores).", ""]
    L += [f"Synthetic BM25 is built with numpy from postings (bm25s' `index()` needs every token as a Python "
          f"object); on 2,000 chunks its scores match `index()` within {b0.get('bm25_builder_max_abs_diff', 0):.1e}. "
          "Build times (s): " + "; ".join(
              f"{int(n):,}: " + ", ".join(f"{k} {t:.1f}" for k, t in s["build"]["timings_s"].items())
              for n, s in res["scale"].items()) + f". Vocabulary {b0['vocab']:,} morphemes, "
          f"{b0['terms_per_chunk_mean']:.0f} BM25 terms per chunk.", ""]

    L += ["## How the ONNX path works", "",
          "sentence-transformers' own `backend=\"onnx\"` needs optimum-onnx, whose only release pins "
          "transformers<4.58, so it cannot be installed beside the pinned transformers 5. The benchmark uses the "
          "same building blocks directly (index/embed.py): `export_onnx` (torch's ONNX exporter on the transformer "
          "module sentence-transformers loads), `quantize_onnx_int8` (ONNX Runtime's dynamic quantization with the "
          "settings of optimum's avx2 config: symmetric per-channel int8 weights, uint8 activations), and "
          "`load_onnx_embedder`, which keeps sentence-transformers' tokenizer, pooling, normalization and prompts "
          "and runs only the transformer in ONNX Runtime (threads = torch's, no spin-waiting). "
          "`ensure_onnx_int8(model_dir)` writes `onnx/model_qint8_avx2.onnx` once, atomically.", ""]
    L += ["## Reproduce", "", "```", "python -m eval.bench_ingest            # this report",
          "python -m eval.bench_ingest --quick    # small sizes", "# whole-process timing of one backend "
          "(after a run; same texts for every backend):",
          "/usr/bin/time -v python -m eval.bench_ingest embed --backend torch --texts korquad --n 32",
          "/usr/bin/time -v python -m eval.bench_ingest embed --backend onnx-int8 --texts korquad --n 32", "```"]
    return "\n".join(L)


def write(work: Work, cfg, run: dict, out_dir: Path | None) -> list[Path]:
    from eval import report as rep
    from eval.data import REPORTS_DIR, resolve_dataset
    res = assemble(work, run)
    ds = resolve_dataset("korquad", "retrieval", cfg)
    md = markdown(res)
    report = {"kind": "ingest-benchmark", "metrics": res,
              "stamp": rep.stamp(cfg, dataset=ds, embedder_path=work.model_dir())}
    paths = rep.write_report(out_dir or REPORTS_DIR, REPORT_NAME, report, md)
    print(md)
    print("\n보고서 / report: " + ", ".join(str(p) for p in paths))
    return paths


# ------------------------------------------------------------------------------------------------ embed (one process)

def cmd_embed(args) -> int:
    from rag.config import load_config
    cfg = load_config()
    work = Work(args.work_dir)
    if args.texts == "sample":
        sets = sample_sets(work, args.n)
    else:
        sets = {args.texts: chunk_texts(work.index_dir(args.texts, "torch"))[:args.n]}
    questions = latency_questions(work, cfg, args.queries) if args.queries else []
    res = embed_once(work, cfg, args.backend, sets, questions, Path(args.save) if args.save else None, args.label)
    res["peak_rss_mb"] = peak_rss_mb()
    line = json.dumps(res)
    if args.json_out:
        Path(args.json_out).write_text(line, encoding="utf-8")
    else:
        print(line)
    return 0


# ------------------------------------------------------------------------------------------------ CLI

def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        argv.insert(0, "run")
    default_work = Path(tempfile.gettempdir()) / "seoul-policy-rag-bench-ingest"
    p = argparse.ArgumentParser(prog="python -m eval.bench_ingest", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="the whole benchmark (default)")
    r.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every phase")
    r.add_argument("--work-dir", type=Path, default=default_work, help=f"scratch directory (default {default_work})")
    r.add_argument("--out", help="report directory (default eval/reports)")
    r.add_argument("--korquad-files", dest="korquad_files", type=int, default=None)
    r.add_argument("--embed-reps", dest="embed_reps", type=int, default=None)
    r.add_argument("--scale-queries", dest="scale_queries", type=int, default=None)
    r.add_argument("--scales", default=None, help="comma-separated chunk counts, e.g. 10000,100000,1000000")
    r.add_argument("--keep", action="store_true", help="keep the synthetic indexes in the work directory")
    ph = sub.add_parser("phase", help="one phase in this process (used by run)")
    ph.add_argument("name", choices=("export", "ingest", "embed", "recall", "scale-build", "scale-query"))
    ph.add_argument("params", nargs="*")
    ph.add_argument("--work-dir", type=Path, default=default_work)
    rp = sub.add_parser("report", help="write the report again from a finished run's results")
    rp.add_argument("--work-dir", type=Path, default=default_work)
    rp.add_argument("--out", help="report directory (default eval/reports)")
    e = sub.add_parser("embed", help="embed N chunk texts with one backend (whole-process timing)")
    e.add_argument("--backend", choices=BACKENDS, required=True)
    e.add_argument("--label", help="name for the saved vectors (default: the backend)")
    e.add_argument("--texts", choices=("seed", "korquad", "sample"), default="korquad",
                   help="the first N chunks of one corpus, or 'sample': the benchmark's N random chunks of each")
    e.add_argument("--n", type=int, default=32)
    e.add_argument("--queries", type=int, default=0, help="then embed this many questions one at a time")
    e.add_argument("--save", help="directory for the vectors (<backend>-<set>.npy)")
    e.add_argument("--json-out", help="write the result here instead of stdout")
    e.add_argument("--work-dir", type=Path, default=default_work)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.cmd == "run":
        return run_all(args)
    if args.cmd == "embed":
        return cmd_embed(args)
    from rag.config import load_config
    cfg = load_config()
    work = Work(args.work_dir)
    if args.cmd == "report":
        write(work, cfg, json.loads((work.root / "run.json").read_text(encoding="utf-8")),
              Path(args.out) if args.out else None)
        return 0
    name, params = args.name, args.params
    if name == "export":
        phase_export(work, cfg)
    elif name == "ingest":
        phase_ingest(work, cfg, params[0], params[1])
    elif name == "embed":
        phase_embed(work, cfg)
    elif name == "recall":
        phase_recall(work, cfg)
    elif name == "scale-build":
        phase_scale_build(work, cfg, int(params[0]))
    else:
        phase_scale_query(work, cfg, int(params[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
