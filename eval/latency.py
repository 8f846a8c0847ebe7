"""`rag eval latency`: what the pipeline costs on top of the libraries it wraps, on the same questions.

- ask against raw: for each question, Assistant.stream (the product path) and then LlamaCppGenerator.raw_completion on
  the identical final prompt, rebuilt with rag.answer.build_messages from the evidence the pipeline selected (taken
  from the stream's "evidence" event). ask_vs_raw_ratio = median(ask total) / median(raw total).
  llama.cpp reuses the KV cache of a shared prompt prefix, so both calls must start from the same cache state:
    cache="reset"      llm.reset() before every call: both prefill the whole prompt (default; the fairest pair)
    cache="alternate"  no reset; odd questions run raw first, even ones ask first; medians reported per order, so
                       the benefit of a warm cache shows up on whichever call runs second
- retrieval: Retriever.search against raw FAISS `index.search` and raw bm25s `get_scores` on the same queries
  (the query embedding and the kiwipiepy tokenization are timed separately, so the overhead is explained)
- ingest: embed_passages (the indexer's path) against raw SentenceTransformer.encode of the same chunk texts, and the
  whole `update_index` from files when a corpus is given
- TTFT median / p95 of ask, peak RSS.
"""
from __future__ import annotations

import resource
import statistics
import tempfile
import time
from pathlib import Path

from eval import metrics
from rag.config import Config


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # Linux: kilobytes


def current_rss_mb() -> float | None:
    try:
        import psutil
        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return None


def memory_mb() -> dict:
    """Resident memory now (MB): VmRSS = RssAnon (heaps, arenas, KV cache, llama.cpp's repacked weights) + RssFile
    (mmap'ed model files, libraries; the kernel may drop these under memory pressure), and VmHWM, the peak so far."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = round(int(v.split()[0]) / 1024, 1)
    except OSError:                                  # not Linux
        pass
    return out


def _pct(values: list[float]) -> dict:
    return {"p50": metrics.percentile(values, 50), "p95": metrics.percentile(values, 95), "n": len(values)}


def retrieval_latency(index, embedder, retriever, questions: list[str], rounds: int = 5) -> dict:
    """Per-query times (ms) of the pipeline's retrieval and of the raw library calls it is built on."""
    from index import korean
    from index.embed import embed_queries
    out: dict[str, list[float]] = {"pipeline_search": [], "embed_query": [], "tokenize": [], "raw_faiss": [],
                                   "raw_bm25": []}
    vocab = index.bm25.vocab_dict
    k = max(retriever.candidates, 8)
    # a streamed index (index/dense.py) gives its pages back after each search; raw FAISS over the same mapped
    # matrix would keep all of it resident and so inflate the peak RSS this harness reports for the serving
    # process. Its raw comparison is eval/reports/scale.md's, in a process of its own
    raw_dense = not retriever._streams()
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            retriever.search(q, 8)
            out["pipeline_search"].append(_ms(t0))
            t0 = time.perf_counter()
            v = embed_queries(embedder, [q])
            out["embed_query"].append(_ms(t0))
            t0 = time.perf_counter()
            terms = [t for t in korean.terms(q) if t in vocab]
            out["tokenize"].append(_ms(t0))
            if raw_dense:
                t0 = time.perf_counter()
                index.dense.search(v, k)
                out["raw_faiss"].append(_ms(t0))
            if terms:
                t0 = time.perf_counter()
                index.bm25.get_scores(terms)
                out["raw_bm25"].append(_ms(t0))
    return out


def ingest_throughput(cfg: Config, index, embedder, emb_path, n_chunks: int, corpus: Path | None) -> dict:
    from index.embed import embed_passages
    from rag.runtime import index_files
    texts = [c.text for c in index.chunks[:n_chunks]]
    out: dict = {"chunks": len(texts)}
    if not texts:
        return out
    t0 = time.perf_counter()
    embed_passages(embedder, texts, cfg.embed_batch_size)
    out["pipeline_embed_chunks_per_s"] = len(texts) / (_ms(t0) / 1000)
    from index.embed import _precision, _trim_heap
    t0 = time.perf_counter()
    with _precision(embedder):              # the raw call at the same precision (bf16 autocast where "auto" picks it)
        embedder.encode(texts, prompt=(getattr(embedder, "prompts", None) or {}).get("passage", ""),
                        batch_size=cfg.embed_batch_size, normalize_embeddings=True, convert_to_numpy=True,
                        show_progress_bar=False)
    _trim_heap()                            # as embed_passages does: the raw call's freed activations go back too
    out["raw_encode_chunks_per_s"] = len(texts) / (_ms(t0) / 1000)
    out["embed_overhead_ratio"] = out["raw_encode_chunks_per_s"] / out["pipeline_embed_chunks_per_s"]
    if corpus is not None:
        with tempfile.TemporaryDirectory(prefix="rag-ingest-") as tmp:
            rep = index_files(cfg, [corpus], embedder, emb_path, index_dir=Path(tmp) / "index")
        out["full_ingest"] = {"files": len(rep.added), "chunks": rep.chunks_total,
                              "chunks_per_s": rep.chunks_total / max(rep.timings["total_s"], 1e-9),
                              "timings_s": {k: round(v, 3) for k, v in rep.timings.items()}}
    return out


def ask_vs_raw(assistant, generator, questions: list[str], cache: str, bar=None) -> list[dict]:
    """One row per question: ask total/TTFT and raw total on the identical final prompt, in the chosen cache mode."""
    from rag.answer import build_messages, collect
    cfg = assistant.cfg
    rows = []
    for i, q in enumerate(questions):
        row: dict = {"i": i}
        raw_first = cache == "alternate" and i % 2 == 1
        messages = None
        if raw_first:
            # the same steps ask() runs before generating (public Assistant methods), to know the prompt beforehand
            hits = assistant.retriever.search(q, cfg.top_k)
            ev = assistant.evidence(q, hits)
            if not assistant.insufficient(ev, hits):
                messages = build_messages(assistant.prompts, q, ev.passages)
                row.update(_raw(generator, messages, cfg, reset=False))
        if cache == "reset":
            generator.llm.reset()
        t0 = time.perf_counter()
        got = collect(assistant.stream(q))
        evidence, answer, pieces = got.evidence, got.answer, got.tokens
        row.update(ask_ms=_ms(t0), ttft_ms=answer.timings.get("ttft_ms"), generated=bool(pieces),
                   ask_completion_tokens=answer.timings.get("completion_tokens"), order="raw-first" if raw_first
                   else "ask-first")
        if not pieces:                # refused before the LLM: nothing to compare with
            row["skipped"] = "no LLM call (evidence insufficient)"
        else:
            built = build_messages(assistant.prompts, q, evidence.passages)
            if messages is not None and messages != built:
                row["prompt_mismatch"] = True
            if not raw_first:
                row.update(_raw(generator, built, cfg, reset=cache == "reset"))
            row["same_text"] = row.get("raw_text", "").strip() == "".join(pieces).strip()
        row.pop("raw_text", None)
        rows.append(row)
        if bar is not None:
            bar.update(1)
    return rows


def _raw(generator, messages, cfg: Config, reset: bool) -> dict:
    if reset:
        generator.llm.reset()
    t0 = time.perf_counter()
    out = generator.raw_completion(messages, max_tokens=cfg.max_tokens, temperature=cfg.temperature)
    ms = _ms(t0)
    return {"raw_ms": ms, "raw_completion_tokens": out.get("usage", {}).get("completion_tokens"),
            "raw_text": out["choices"][0]["message"].get("content") or ""}


def run_latency(cfg: Config, ds, corpus: Path | None, *, limit: int = 10, cache: str = "reset",
                ingest_chunks: int = 256, out_dir: Path, name: str = "latency", progress=None):
    from eval import report as rep
    from eval.data import open_eval_index
    from eval.runs import progress_bar
    from rag.generate import LlamaCppGenerator
    from rag.runtime import make_retriever, open_assistant, open_generator
    index, embedder, emb_path, index_dir, _ = open_eval_index(cfg, corpus, progress)
    memory = {"index_and_embedder": memory_mb()}       # step by step: where the serving process' memory goes
    items = [r for r in ds.items if r.get("answerable", True) and r.get("followup_of") is None][:limit]
    questions = [r["question"] for r in items]
    retriever = make_retriever(cfg, index, embedder)
    retriever.search(questions[0] if questions else "워밍업", 8)              # warm-up (lazy loads)
    ret = retrieval_latency(index, embedder, retriever, questions)
    memory["retrieval"] = memory_mb()
    ing = ingest_throughput(cfg, index, embedder, emb_path, ingest_chunks, corpus)
    memory["ingest"] = memory_mb()
    t0 = time.perf_counter()
    generator = open_generator(cfg)
    load_ms = _ms(t0)
    memory["generator_loaded"] = memory_mb()
    notes = []
    if retriever._streams():
        notes.append("the dense index is streamed (index/dense.py, dense_stream_mb): no raw FAISS call in this process, "
                     "so its peak RSS is the serving process's; the raw comparison is eval/reports/scale.md's")
    rows: list[dict] = []
    if not isinstance(generator, LlamaCppGenerator):
        notes.append("generator is an OpenAI-compatible server: no raw llama-cpp-python call to compare with")
    else:
        assistant = open_assistant(cfg, generator=generator, retriever=retriever)
        generator.raw_completion([{"role": "user", "content": "안녕"}], max_tokens=2)        # warm-up (page-in)
        bar = progress_bar(len(questions), 0, "latency")
        try:
            rows = ask_vs_raw(assistant, generator, questions, cache, bar)
        finally:
            bar.close()
    pairs = [r for r in rows if "raw_ms" in r and "skipped" not in r]
    ask_ms = [r["ask_ms"] for r in pairs]
    raw_ms = [r["raw_ms"] for r in pairs]
    ttft = [r["ttft_ms"] for r in rows if r.get("generated") and r.get("ttft_ms")]
    m: dict = {
        "questions": len(questions), "pairs": len(pairs), "cache_mode": cache,
        "ask_ms_median": metrics.median(ask_ms), "raw_ms_median": metrics.median(raw_ms),
        "ask_vs_raw_ratio": (statistics.median(ask_ms) / statistics.median(raw_ms)) if pairs else None,
        "ttft_ms_median": metrics.median(ttft), "ttft_ms_p95": metrics.percentile(ttft, 95),
        "same_text_pairs": sum(bool(r.get("same_text")) for r in pairs),
        "generator_load_ms": load_ms,
        "retrieval_ms": {k: _pct(v) for k, v in ret.items()},
        "ingest": ing,
        "peak_rss_mb": peak_rss_mb(), "rss_mb": current_rss_mb(),
        "memory_mb": {**memory, "asks": memory_mb()},
    }
    if cache == "alternate":
        for order in ("ask-first", "raw-first"):
            sub = [r for r in pairs if r["order"] == order]
            m[order] = {"pairs": len(sub), "ask_ms_median": metrics.median([r["ask_ms"] for r in sub]),
                        "raw_ms_median": metrics.median([r["raw_ms"] for r in sub])}
    skipped = [r for r in rows if "skipped" in r]
    if skipped:
        notes.append(f"{len(skipped)} question(s) refused before the LLM call: no raw pair")
    notes.append("cache mode: " + ("llm.reset() before every ask and every raw call (both prefill the full prompt)"
                                   if cache == "reset" else
                                   "no reset; the call that runs second may reuse the first one's KV cache "
                                   "(see the per-order medians)"))
    md = latency_markdown(m, notes)
    report = {"kind": "latency", "metrics": m, "rows": rows, "notes": notes,
              "settings": {"limit": limit, "cache": cache, "ingest_chunks": ingest_chunks},
              "stamp": rep.stamp(cfg, index=index, index_dir=index_dir, dataset=ds, uses_generator=True,
                                 embedder_path=emb_path)}
    paths = rep.write_report(out_dir, name, report, md, latency_figures(rows, ret))
    return {**report, "name": name}, md, paths


def latency_markdown(m: dict, notes: list[str]) -> str:
    from eval.report import table
    r = m["retrieval_ms"]
    ing = m["ingest"]
    md = ["# Latency: pipeline against raw library calls", "",
          table(["measure", "value"], [
              ["questions (pairs compared)", f"{m['questions']} ({m['pairs']})"],
              ["ask total, median ms", m["ask_ms_median"]], ["raw llama-cpp-python total, median ms", m["raw_ms_median"]],
              ["ask_vs_raw_ratio", m["ask_vs_raw_ratio"]],
              ["TTFT median ms (ttft_ms_median)", m["ttft_ms_median"]], ["TTFT p95 ms (ttft_ms_p95)", m["ttft_ms_p95"]],
              ["identical generated text (pairs)", m["same_text_pairs"]],
              ["generator load ms", m["generator_load_ms"]],
              ["peak RSS MB", m["peak_rss_mb"]]], 2),
          "", "Memory after each step (MB; VmHWM = peak so far):", "",
          table(["step", "VmRSS", "RssAnon", "RssFile", "VmHWM"],
                [[k, v.get("VmRSS"), v.get("RssAnon"), v.get("RssFile"), v.get("VmHWM")]
                 for k, v in m.get("memory_mb", {}).items()], 0),
          "", "Retrieval, per query (ms):", "",
          table(["call", "p50", "p95", "n"], [[k, v["p50"], v["p95"], v["n"]] for k, v in r.items()], 3),
          "", "Ingest throughput (chunks/s):", "",
          table(["path", "chunks/s"], [["embed_passages (indexer)", ing.get("pipeline_embed_chunks_per_s")],
                                       ["raw SentenceTransformer.encode", ing.get("raw_encode_chunks_per_s")]]
                + ([["update_index from files (parse, kiwipiepy, chunk, embed, write)",
                     ing["full_ingest"]["chunks_per_s"]]] if ing.get("full_ingest") else []), 1)]
    for order in ("ask-first", "raw-first"):
        if order in m:
            o = m[order]
            md.append(f"\n{order}: {o['pairs']} pairs, ask median {metrics_fmt(o['ask_ms_median'])} ms, "
                      f"raw median {metrics_fmt(o['raw_ms_median'])} ms")
    md += ["", *[f"- {n}" for n in notes]]
    return "\n".join(md)


def metrics_fmt(v) -> str:
    return "–" if v is None else f"{v:.0f}"


def latency_figures(rows: list[dict], ret: dict) -> dict:
    from eval.report import figure
    figs = {}
    pairs = [r for r in rows if "raw_ms" in r and "skipped" not in r]
    if pairs:
        fig, ax = figure("End-to-end time per question", "seconds", "questions")
        ax.hist([r["ask_ms"] / 1000 for r in pairs], bins=15, alpha=0.6, label="ask (pipeline)")
        ax.hist([r["raw_ms"] / 1000 for r in pairs], bins=15, alpha=0.6, label="raw llama-cpp-python")
        ax.legend()
        figs["ask-vs-raw"] = fig
    fig, ax = figure("Retrieval calls per query", "ms (log)", "queries")
    for k, v in ret.items():
        if v:
            ax.hist([max(x, 1e-3) for x in v], bins=30, alpha=0.5, label=k)
    ax.set_xscale("log")
    ax.legend(fontsize=8)
    figs["retrieval"] = fig
    return figs
