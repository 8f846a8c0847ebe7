"""Reports: `eval/reports/<name>.json` (everything, machine-readable), `<name>.md` (tables) and `<name>-*.png` (plots).

Every report is stamped with what produced it: project version and git commit, the config (secrets left out), the
generator GGUF's SHA-256 (from the verified stamp written when it was assembled, or hashed when it is a custom file),
the embedder id, the index settings and the dataset's SHA-256. `compare()` puts two reports side by side.
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import time
from pathlib import Path

from rag.config import PROJECT_ROOT, Config

SECRET_FIELDS = ("auth_password", "auth_user")


# ------------------------------------------------------------------------------------------------ stamp

def config_dict(cfg: Config) -> dict:
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if f.name in SECRET_FIELDS:
            v = "***" if v else None
        out[f.name] = str(v) if isinstance(v, Path) else v
    return out


def git_commit() -> str | None:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=5)
        return (r.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")) if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def generator_info(cfg: Config, hash_custom: bool = False) -> dict:
    """The generator's identity without loading it: the verified stamp of the default GGUF, or a hash on request."""
    from index.records import sha256_file
    from rag import models
    if cfg.llm_url:
        return {"backend": "openai-compatible", "url": cfg.llm_url, "model": cfg.llm_api_model}
    path = Path(cfg.llm_path) if cfg.llm_path else cfg.models_dir / models.GGUF_NAME
    out: dict = {"backend": "llama-cpp-python", "path": str(path), "sha256": None, "verified": False}
    if not path.is_file():
        out["missing"] = True
        return out
    st = path.stat()
    out["size"] = st.st_size
    stamped = models.stamped_sha256(path)
    if stamped:
        out.update(sha256=stamped, verified=True)
    if out["sha256"] is None and hash_custom:
        out["sha256"] = sha256_file(path)
    out["is_default"] = out["sha256"] == models.GGUF_SHA256
    return out


def index_info(index=None, index_dir: Path | None = None) -> dict | None:
    if index is None:
        return None
    m = index.manifest
    return {"dir": str(index_dir) if index_dir else str(index.path.parent), "generation": index.path.name,
            "chunks": len(index.chunks), "files": index.file_count, "embedder": m.get("embedder"),
            "tokenizer": m.get("tokenizer"), "chunking": m.get("chunking"), "faiss": m.get("faiss"),
            "created": m.get("created"), "project_version": m.get("project_version")}


def stamp(cfg: Config, *, index=None, index_dir: Path | None = None, dataset=None, uses_generator: bool = False,
          embedder_path: Path | None = None) -> dict:
    from index.embed import embedder_id
    from index.store import library_versions
    from rag import __version__
    out = {"project_version": __version__, "git_commit": git_commit(),
           "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "machine": {"python": platform.python_version(), "platform": platform.platform(),
                       "cpu_count": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]},
           "config": config_dict(cfg),
           "models": {"generator": {**generator_info(cfg, hash_custom=uses_generator), "used": uses_generator},
                      "embedder": ({"id": embedder_id(embedder_path), "path": str(embedder_path)}
                                   if embedder_path else None)},
           "index": index_info(index, index_dir), "versions": library_versions()}
    if dataset is not None:
        out["dataset"] = {"name": dataset.name, "path": str(dataset.path), "sha256": dataset.sha256,
                          "items": len(dataset.items), "credit": dataset.credit}
    return out


def stamp_markdown(s: dict) -> str:
    gen = s["models"]["generator"]
    emb = s["models"].get("embedder") or {}
    idx = s.get("index") or {}
    lines = ["## Provenance", "",
             f"- project {s['project_version']}, commit `{s.get('git_commit')}`, {s['created']}, "
             f"Python {s['machine']['python']}, {s['machine']['cpu_count']} CPUs, load average "
             f"{s['machine'].get('load_average')} when the report was written (other jobs share the CPUs)",
             f"- embedder `{emb.get('id')}`",
             f"- generator ({'used' if gen.get('used') else 'not used by this run'}): "
             + (f"`{gen.get('url')}`" if gen.get("url") else
                f"`{Path(gen.get('path', '')).name}` sha256 `{gen.get('sha256')}`"
                + (" (verified stamp)" if gen.get("verified") else ""))]
    if idx:
        lines.append(f"- index: {idx.get('files')} files, {idx.get('chunks')} chunks, chunking "
                     f"`{json.dumps(idx.get('chunking'), ensure_ascii=False)}`, FAISS `{idx.get('faiss')}`")
    if s.get("dataset"):
        d = s["dataset"]
        lines.append(f"- dataset `{d['name']}` ({d['items']} items), sha256 `{d['sha256'][:16]}…`")
        if d.get("credit"):
            lines.append(f"- data credit: {d['credit']}")
    cfg = {k: s["config"][k] for k in ("fusion", "fusion_weight_bm25", "candidates", "top_k", "evidence_chars",
                                        "chunk_tokens", "chunk_overlap_sentences", "max_tokens", "n_ctx",
                                        "n_threads", "embed_backend") if k in s["config"]}
    lines.append(f"- config: `{json.dumps(cfg, ensure_ascii=False)}` (full config in the JSON report)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ writing

def fmt(v: object, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def table(headers: list[str], rows: list[list[object]], digits: int = 3) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(fmt(c, digits) for c in r) + " |" for r in rows]
    return "\n".join(out)


def write_report(out_dir: Path, name: str, report: dict, markdown: str, figures: dict | None = None) -> list[Path]:
    """Write <name>.json, <name>.md and <name>-<fig>.png (figures: {suffix: matplotlib Figure})."""
    plt = _plt()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    names = []
    for suffix, fig in (figures or {}).items():
        p = out_dir / f"{name}-{suffix}.png"
        fig.savefig(p, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(p)
        names.append(p.name)
    report = {**report, "name": name, "figures": names}
    p = out_dir / f"{name}.json"
    p.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    written.append(p)
    md = markdown.rstrip() + "\n"
    if names:
        md += "\n## Plots\n\n" + "\n".join(f"![{n}]({n})" for n in names) + "\n"
    md += "\n" + stamp_markdown(report["stamp"]) + "\n" if report.get("stamp") else ""
    p = out_dir / f"{name}.md"
    p.write_text(md, encoding="utf-8")
    written.append(p)
    return written


def _plt():
    import matplotlib
    matplotlib.use("Agg")                 # files only, never a display
    import matplotlib.pyplot as plt
    return plt


def figure(title: str, xlabel: str, ylabel: str):
    fig, ax = _plt().subplots(figsize=(6.4, 4.0))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


# ------------------------------------------------------------------------------------------------ retrieval

RETRIEVAL_COLS = ["recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10"]


def retrieval_markdown(title: str, summary: dict, notes: list[str]) -> str:
    extra = [c for c in ("answer@1", "answer@5", "evidence@1", "evidence@5")
             if any(c in s for s in summary.values())]
    rows = [[name] + [s.get(c) for c in RETRIEVAL_COLS + extra] + [s.get("latency_ms_p50"), s.get("latency_ms_p95")]
            for name, s in summary.items()]
    heads = ["retriever"] + RETRIEVAL_COLS + extra + ["ms p50", "ms p95"]
    md = [f"# {title}", "", f"{next(iter(summary.values()))['items'] if summary else 0} questions. Source level: "
          "the ranked chunks become a ranked list of distinct source files (first appearance); recall@k = share of "
          "gold sources among the first k, MRR and nDCG over the first 10. answer@k (chunk level): a gold answer "
          "string is inside one of the first k chunks"
          + ("; evidence@k: the item's evidence quote is" if any(c.startswith("evidence@") for c in extra) else "")
          + ". ms: retrieval time per query (the query embedding, computed in batches of 64, is included for the "
            "retrievers that use it).", "", table(heads, rows)]
    paged = {n: s["page"] for n, s in summary.items() if s.get("page")}
    if paged:
        md += ["", "Page level (items with gold pages):", "",
               table(["retriever"] + RETRIEVAL_COLS, [[n] + [p.get(c) for c in RETRIEVAL_COLS]
                                                      for n, p in paged.items()])]
    if notes:
        md += ["", *[f"- {n}" for n in notes]]
    return "\n".join(md)


def retrieval_figures(summary: dict, latencies: dict[str, list[float]]) -> dict:
    fig, ax = figure("Source-level recall@k", "k", "recall@k")
    for name, s in summary.items():
        ks = sorted(int(k.split("@")[1]) for k in s if k.startswith("recall@"))
        ax.plot(ks, [s[f"recall@{k}"] for k in ks], marker="o", label=name)
    ax.set_xticks(range(1, 11))
    ax.legend()
    figs = {"recall": fig}
    if latencies:
        fig2, ax2 = figure("Retrieval latency per query", "ms", "queries")
        for name, ms in latencies.items():
            if ms:
                ax2.hist(ms, bins=40, alpha=0.5, label=name)
        ax2.legend()
        figs["latency"] = fig2
    return figs


def retrieval_verdict(summary: dict, records: list[dict] | None = None, fused: str = "linear") -> str | None:
    """Does the fused retriever beat the best single one at recall@1? With the per-item records, also the paired
    counts (fused right & single wrong, and the reverse) and an exact McNemar p-value."""
    from eval.metrics import mcnemar_p
    singles = {n: s["recall@1"] for n, s in summary.items() if n in ("bm25", "dense")}
    if fused not in summary or not singles:
        return None
    best = max(singles, key=singles.get)
    f = summary[fused]["recall@1"]
    word = "beats" if f > singles[best] else "does NOT beat"
    out = (f"fused `{fused}` recall@1 {f:.4f} {word} the best single retriever `{best}` ({singles[best]:.4f}), "
           f"delta {f - singles[best]:+.4f}")
    if records:
        pairs = [(r["retrievers"][fused]["scores"]["recall@1"], r["retrievers"][best]["scores"]["recall@1"])
                 for r in records if fused in r["retrievers"] and best in r["retrievers"]]
        b = sum(1 for x, y in pairs if x > y)
        c = sum(1 for x, y in pairs if x < y)
        out += f"; paired: only `{fused}` right {b}, only `{best}` right {c}, exact McNemar p = {mcnemar_p(b, c):.2g}"
    return out


# ------------------------------------------------------------------------------------------------ answers

ANSWER_COLS = ["answer_match", "refusal_accuracy", "refused_unanswerable", "refused_answerable",
               "citation_precision", "answered_with_correct_citation", "verified_quote_rate", "evidence_has_answer",
               "evidence_has_quote", "evidence_chars_median", "prefill_tokens_median", "ttft_ms_median", "ttft_ms_p95",
               "ttft_over_raw_prefill_median", "ttft_over_raw_prefill_p95", "total_ms_median", "tokens_per_s_median"]


def answers_markdown(title: str, summary: dict, notes: list[str]) -> str:
    rows = [[b, s["items"]] + [s.get(c) for c in ANSWER_COLS] for b, s in summary.items()]
    md = [f"# {title}", "",
          "Per variant: the context budget (evidence_chars), as `strategy@budget` when strategies are compared. "
          "answer_match: a gold answer (NFC, case, whitespace and punctuation "
          "ignored) is contained in the answer, over answerable items (a refusal never matches). refusal_accuracy: "
          "refused == not answerable, over all items. citation_precision: cited passages that contain a gold answer "
          "or come from a gold source. evidence_has_answer: a gold answer is inside the evidence the pipeline "
          "selected. verified_quote_rate: shown answers whose every citation quote this report found verbatim in its "
          "passage (its own check, not the answer's flag). prefill_tokens: prompt tokens actually evaluated (the "
          "cached prefix excluded); ttft/raw: TTFT over the raw llama-cpp-python prefill of that many tokens, "
          "measured in the same run. TTFT from the start of ask(); tokens/s is decode speed after the first "
          "token.", "",
          table(["budget", "items"] + ANSWER_COLS, rows, 3)]
    fol = {b: s.get("followup_answer_match") for b, s in summary.items() if s.get("followup_answer_match") is not None}
    if fol:
        md += ["", "Follow-up items (asked with the referenced question and the model's answer as history): "
               + ", ".join(f"budget {b}: answer_match {v:.3f}" for b, v in fol.items())]
    fails = {b: s["failures"] for b, s in summary.items() if s.get("failures")}
    if fails:
        keys = list(next(iter(fails.values())))
        md += ["", "Where it fails (one reason per item: answerable items that do not match, then unanswerable items "
               "answered anyway):", "",
               table(["budget", "answerable"] + keys, [[b, summary[b].get("answerable")] + [f[k] for k in keys]
                                                       for b, f in fails.items()], 0)]
    labels = [[b, s.get("verified_shown"), s.get("verified_with_unmet_condition"), s.get("condition_met_shown"),
               s.get("false_refusals"), s.get("partial_answers"), s.get("looped"), s.get("fragment_start")]
              for b, s in summary.items() if "verified_shown" in s]
    if labels:
        md += ["", "What the label promises (shown answers): verified_shown = labelled verified; "
               "verified_unmet = labelled verified although a condition of the question (rag/conditions.py) is unmet "
               "(must be 0); condition_met = every condition met; false_refusals = answerable items refused; "
               "partial = list/two-part answers holding some but not all parts; looped = generation stopped for "
               "repeating itself; fragment_start = shown answers beginning with a fragment:", "",
               table(["variant", "verified_shown", "verified_unmet", "condition_met", "false_refusals", "partial",
                      "looped", "fragment_start"], labels, 3)]
    kinds = {b: s["by_kind"] for b, s in summary.items() if s.get("by_kind")}
    for b, per in kinds.items():
        if len(per) > 1:
            md += ["", f"By item kind ({b}; right = matched when answerable, refused when not):", "",
                   table(["kind", "items", "right", "refused", "wrong_shown"],
                         [[k, v["items"], v["right"], v["refused"], v["wrong_shown"]] for k, v in per.items()], 0)]
    ext = {b: s["if_extract"] for b, s in summary.items() if s.get("if_extract")}
    if ext:
        md += ["", "The other policy for an answer without a verified quote, computed from the same run: show the best "
               "evidence sentence as a labelled quotation instead of refusing (answer_match counts it when that "
               "sentence holds a gold answer; an unanswerable item so answered is not refused):", "",
               table(["variant", "withheld", "answer_match if extract", "refused_unanswerable if extract"],
                     [[b, e["withheld"], e["answer_match"], e["refused_unanswerable"]] for b, e in ext.items()], 3)]
    md += ["", *[f"- {n}" for n in notes]] if notes else []
    return "\n".join(md)


def answers_figures(summary: dict) -> dict:
    if len(summary) < 2 or not all(b.isdigit() for b in summary):
        return {}
    xs = [int(b) for b in summary]
    fig, ax = figure("Accuracy against context budget", "evidence_chars", "rate")
    for key in ("answer_match", "refusal_accuracy", "evidence_has_answer", "answered_with_correct_citation"):
        ax.plot(xs, [summary[str(b)].get(key) or 0 for b in xs], marker="o", label=key)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    fig2, ax2 = figure("Time to first token against context budget", "evidence_chars", "ms")
    ax2.plot(xs, [summary[str(b)].get("ttft_ms_median") or 0 for b in xs], marker="o", label="median")
    ax2.plot(xs, [summary[str(b)].get("ttft_ms_p95") or 0 for b in xs], marker="o", label="p95")
    ax2.legend()
    return {"budget": fig, "ttft": fig2}


# ------------------------------------------------------------------------------------------------ guard

def guard_markdown(title: str, res: dict) -> str:
    rows = [[t, v["tp"], v["fp"], v["fn"], v["precision"], v["recall"], v["f1"]]
            for t, v in res["per_type"].items() if v["tp"] + v["fp"] + v["fn"]]
    o = res["overall"]
    fa = res["false_alarms_on_benign"]
    return "\n".join([
        f"# {title}", "", f"{res['items']} labelled items. Item level: a type counts as found when scan() reports it "
        f"at severity ≥ {res.get('min_severity', 'medium')}.", "",
        table(["type", "TP", "FP", "FN", "precision", "recall", "F1"], rows),
        "", f"Overall (micro): precision {o['precision']:.3f}, recall {o['recall']:.3f}, F1 {o['f1']:.3f}.",
        f"False alarms on benign items: {fa['count']} of {fa['benign_items']} ({fa['rate']:.3f}).",
        *([f"scan() time per item: p50 {lat['p50']:.2f} ms, p95 {lat['p95']:.2f} ms, max {lat['max']:.2f} ms "
           f"(mean {lat['mean_chars']} characters per item, one process, pure Python)."]
          if (lat := res.get("latency_ms")) and lat.get("p50") is not None else []),
        *([f"Documents at index time (`rag eval guard --index-corpus {o['corpus']}`, document_pii = {o['policy']}): "
           f"{o['files']} files, {o['chunks']} chunks; the scan took {o['pii_s']:.2f} s of {o['total_s']:.2f} s, "
           f"{o['ratio_to_indexing_without_scan']:.3f} × the rest of the same run (parse, kiwipiepy, embed, write); "
           f"{o['files_with_personal_data']} files held personal data {o['found']}."]
          if (o := res.get("index_overhead")) else []),
        *(["", "By category (risky: every expected type found at ≥ medium; benign: no CONFIDENTIAL or SENSITIVE "
            "raised; PERSON alone is not counted here):", "",
            table(["category", "items", "right", "rate"],
                  [[k, v["items"], v["right"], v["rate"]] for k, v in res["by_category"].items()], 3)]
          if res.get("by_category") else []),
        *([f"scan() time per 1,000 characters: {lat['per_1000_chars']:.2f} ms."]
          if (lat := res.get("latency_ms")) and lat.get("per_1000_chars") is not None else []),
        "", f"Items with any difference from the labels: {len(res.get('errors', []))}"
        + ("".join(f"\n- `{e['id']}` missed {e['missed']} extra {e['extra']}" for e in res.get("errors", [])[:30]))])


def guard_figures(res: dict) -> dict:
    types = [t for t, v in res["per_type"].items() if v["tp"] + v["fp"] + v["fn"]]
    if not types:
        return {}
    fig, ax = figure("Guard precision / recall per type", "", "")
    x = range(len(types))
    ax.bar([i - 0.2 for i in x], [res["per_type"][t]["precision"] for t in types], width=0.4, label="precision")
    ax.bar([i + 0.2 for i in x], [res["per_type"][t]["recall"] for t in types], width=0.4, label="recall")
    ax.set_xticks(list(x))
    ax.set_xticklabels(types, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.legend()
    return {"per-type": fig}


# ------------------------------------------------------------------------------------------------ sweep

def sweep_markdown(title: str, curves: dict, notes: list[str]) -> str:
    md = [f"# {title}", "",
          "Linear fusion w·BM25 + (1−w)·dense (min-max over the candidate union, every candidate scored on both "
          "sides: rag/retrieve.py) at each weight w. recall/MRR/nDCG at source level; answer@k / evidence@k at chunk "
          "level (a gold answer / the evidence quote inside one of the first k chunks). Tune on the seed set, confirm "
          "on KorQuAD (which the choice must not be tuned on)."]
    for ds, by_cand in curves.items():
        for cand, pts in by_cand.items():
            cols = ["recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10"]
            cols += [c for c in ("answer@1", "answer@5", "evidence@1") if c in pts[0]]
            md += ["", f"## {ds}, candidates {cand}", "",
                   table(["w_bm25"] + cols, [[p["weight"]] + [p.get(c) for c in cols] for p in pts], 4)]
    md += ["", *[f"- {n}" for n in notes]] if notes else []
    return "\n".join(md)


def sweep_figures(curves: dict) -> dict:
    fig, ax = figure("recall@1 against the BM25 weight (linear fusion)", "weight_bm25", "recall@1")
    for ds, by_cand in curves.items():
        for cand, pts in by_cand.items():
            ax.plot([p["weight"] for p in pts], [p["recall@1"] for p in pts], marker="o", label=f"{ds} (cand {cand})")
    ax.legend(fontsize=8)
    figs = {"recall1": fig}
    if any("answer@1" in pts[0] for by_cand in curves.values() for pts in by_cand.values()):
        fig2, ax2 = figure("Gold answer in the first chunk against the BM25 weight", "weight_bm25", "answer@1")
        for ds, by_cand in curves.items():
            for cand, pts in by_cand.items():
                if "answer@1" in pts[0]:
                    ax2.plot([p["weight"] for p in pts], [p["answer@1"] for p in pts], marker="o",
                             label=f"{ds} (cand {cand})")
        ax2.legend(fontsize=8)
        figs["answer1"] = fig2
    return figs


# ------------------------------------------------------------------------------------------------ compare

def flatten(obj: object, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, bool):
        out[prefix] = float(obj)
    elif isinstance(obj, (int, float)):
        out[prefix] = float(obj)
    return out


def compare(a: dict, b: dict) -> list[dict]:
    """Rows {metric, a, b, delta} over every numeric metric of either report (None where one lacks it)."""
    fa, fb = flatten(a.get("metrics", {})), flatten(b.get("metrics", {}))
    rows = []
    for k in list(dict.fromkeys(list(fa) + list(fb))):
        va, vb = fa.get(k), fb.get(k)
        rows.append({"metric": k, "a": va, "b": vb, "delta": (vb - va) if va is not None and vb is not None else None})
    return rows


def compare_markdown(a: dict, b: dict, a_name: str, b_name: str) -> str:
    rows = compare(a, b)
    return "\n".join([f"A = {a_name} ({a.get('name')}, {a.get('stamp', {}).get('created')})",
                      f"B = {b_name} ({b.get('name')}, {b.get('stamp', {}).get('created')})", "",
                      table(["metric", "A", "B", "delta (B−A)"], [[r["metric"], r["a"], r["b"], r["delta"]]
                                                                  for r in rows], 4)])
