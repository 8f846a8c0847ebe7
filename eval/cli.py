"""`rag eval …`: argument wiring and one short function per subcommand.

    rag eval retrieval --dataset korquad|FILE.jsonl [--corpus DIR | --index DIR] [--retrievers bm25,dense,linear,rrf]
    rag eval answers   --dataset FILE.jsonl [--corpus DIR | --index DIR] [--budgets 600,1200,2400] [--limit N]
                       [--strategies free,quote,choice]   (korquad-offcorpus: KorQuAD questions against the seed corpus)
    rag eval guard     [--dataset eval/datasets/guard.jsonl]
    rag eval sweep     --dataset seoul_qa --dataset korquad [--weights 0,0.1,…,1] [--candidates 50]
    rag eval latency   [--dataset seoul_qa] [--limit 10] [--cache reset|alternate]
    rag eval load      --users N --duration S [--url http://127.0.0.1:PORT]
    rag eval scale     --chunks 100000,1000000 [--queries 200]   (synthetic indexes: load, RSS, latency vs raw)
    rag eval compare   A.json B.json

Every run writes eval/reports/<name>.json|.md|-*.png (--out DIR elsewhere); retrieval and answers runs resume from
<data_dir>/eval/runs/<name>/items.jsonl when killed (--fresh starts over). --json prints the report as one JSON line.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from rag.config import Config

EXIT_OK = 0
ALL_RETRIEVERS = "bm25,dense,linear,rrf"
STRATEGIES = ("free", "quote", "choice", "choice+quote")


# ------------------------------------------------------------------------------------------------ arguments

def _ints(s: str) -> list[int]:
    try:
        return [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"쉼표로 구분한 정수 / comma-separated integers: {s!r}") from None


def _floats(s: str) -> list[float]:
    try:
        return [float(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"쉼표로 구분한 수 / comma-separated numbers: {s!r}") from None


def _common_run(s: argparse.ArgumentParser, dataset_default: str | None) -> None:
    s.add_argument("--dataset", default=dataset_default, required=dataset_default is None,
                   help="FILE.jsonl 또는 korquad, seoul_qa, guard / dataset file or shortcut name")
    s.add_argument("--name", help="보고서 이름 / report name (default: <kind>-<dataset>)")
    s.add_argument("--out", metavar="DIR", help="보고서 폴더 / report directory (default: eval/reports)")


def _corpus_opts(s: argparse.ArgumentParser) -> None:
    s.add_argument("--corpus", metavar="DIR", help="이 폴더를 캐시 인덱스로 색인해 사용 / index DIR into a cache and use it")
    s.add_argument("--limit", type=int, default=None, help="앞의 N개 항목만 / first N items only")
    s.add_argument("--fresh", action="store_true", help="이어하지 않고 처음부터 / start over instead of resuming")


def add_eval_arguments(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="eval_cmd", required=True, metavar="{retrieval,evidence,answers,guard,"
                                                                        "sweep,latency,load,scale,compare}")

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_)

    s = add("retrieval", "검색 평가 / retrieval: recall@k, MRR, nDCG per retriever")
    _common_run(s, None)
    _corpus_opts(s)
    s.add_argument("--retrievers", default=ALL_RETRIEVERS, help=f"default {ALL_RETRIEVERS}")
    s.add_argument("--depth", type=int, default=30, help="질문마다 가져올 청크 수 / chunks retrieved per question")

    s = add("evidence", "근거 선택 평가 / evidence selection: does the evidence hold the answer (no generator)")
    _common_run(s, None)
    _corpus_opts(s)
    s.add_argument("--variants", default="0:0,0.5:1",
                   help="topic_discount:doc_weight[:retrieval_doc_weight][:abbr] per variant, the first is the "
                        "baseline (default 0:0,0.5:1)")
    s.add_argument("--offset", type=int, default=0, help="앞의 N개 항목을 건너뜀 / skip the first N items")

    s = add("answers", "답변 평가 / answers: match, refusal, citations, TTFT per context budget")
    _common_run(s, None)
    _corpus_opts(s)
    s.add_argument("--budgets", type=_ints, default=None, help="evidence_chars values, e.g. 600,1200,2400")
    s.add_argument("--strategies", default=None,
                   help="answer strategies side by side, e.g. free,quote,choice,choice+quote (default: the config's)")

    s = add("guard", "개인정보·주입 검사 평가 / guard: precision, recall, F1 per type")
    _common_run(s, "guard")
    s.add_argument("--min-severity", default="medium", choices=("low", "medium", "high"))
    s.add_argument("--index-corpus", metavar="DIR", default=None,
                   help="이 폴더를 새 임시 인덱스로 색인해 문서 검사 시간의 비율을 잼 / index DIR into a fresh "
                        "temporary index and report the document scan's share of the indexing time")

    s = add("sweep", "융합 가중치 곡선 / fusion weight sweep (recall@1 against weight_bm25)")
    s.add_argument("--dataset", action="append", required=True, help="repeatable: seoul_qa, korquad, FILE.jsonl")
    s.add_argument("--name", default="fusion-sweep")
    s.add_argument("--out", metavar="DIR")
    s.add_argument("--weights", type=_floats, default=[round(0.1 * i, 1) for i in range(11)])
    s.add_argument("--candidates", type=_ints, default=None, help="candidate counts, e.g. 20,50,100")
    s.add_argument("--limit", type=int, default=None)

    s = add("latency", "지연 시간: 파이프라인 대 원시 호출 / latency: pipeline against raw library calls")
    _common_run(s, "seoul_qa")
    s.add_argument("--corpus", metavar="DIR")
    s.add_argument("--limit", type=int, default=10)
    s.add_argument("--cache", choices=("reset", "alternate"), default="reset",
                   help="reset: llm.reset() before every call; alternate: no reset, order alternates")
    s.add_argument("--ingest-chunks", type=int, default=256)

    s = add("load", "부하 시험 (127.0.0.1만) / bounded load run (127.0.0.1 only)")
    _common_run(s, "seoul_qa")
    s.add_argument("--corpus", metavar="DIR")
    s.add_argument("--users", type=int, default=4)
    s.add_argument("--duration", type=float, default=60.0)
    s.add_argument("--url", default=None, help="http://127.0.0.1:PORT (`rag serve`); default: start one")
    s.add_argument("--server-log", default=None, metavar="AUDIT.jsonl",
                   help="the --url server's audit log, for the cross-check (a server this run starts: known)")
    s.add_argument("--bursts", type=int, default=3, help="times all users send at the same instant")
    s.add_argument("--abandoners", type=int, default=None, help="users who disconnect mid-answer (default N//4)")

    s = add("scale", "규모 시험: 합성 인덱스 / scale: synthetic indexes, load, RSS, latency against raw calls")
    s.add_argument("--chunks", type=_ints, default=[100_000, 1_000_000], help="index sizes, e.g. 100000,1000000")
    s.add_argument("--queries", type=int, default=200, help="KorQuAD questions timed per size")
    s.add_argument("--out", metavar="DIR", help="보고서 폴더 / report directory (default: eval/reports)")
    s.add_argument("--work", metavar="DIR", help="where the synthetic indexes are written (default: eval home)")
    s.add_argument("--keep", action="store_true", help="keep the synthetic indexes after the run")
    s.add_argument("--resident-max", type=int, default=None, help="measure resident=True only up to N chunks")

    s = add("compare", "두 보고서 비교 / compare two report JSON files")
    s.add_argument("a", metavar="A.json")
    s.add_argument("b", metavar="B.json")


# ------------------------------------------------------------------------------------------------ helpers

def _err(msg: str) -> None:
    sys.stderr.write(msg.rstrip() + "\n")
    sys.stderr.flush()


def _progress():
    bars: dict = {}

    def progress(stage: str, done: int, total: int, eta: float) -> None:
        from tqdm import tqdm
        bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=f"index:{stage}", file=sys.stderr,
                                                             mininterval=0.5 if sys.stderr.isatty() else 30))
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
    return progress


def _emit(args, report: dict, paths: list[Path], human: str) -> int:
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(report, ensure_ascii=False, default=str) + "\n")
    else:
        print(human)
        print("\n보고서 / report: " + ", ".join(str(p) for p in paths if p.suffix in (".md", ".json")))
    return EXIT_OK


def _out_dir(args) -> Path:
    from eval.data import REPORTS_DIR
    return Path(args.out) if getattr(args, "out", None) else REPORTS_DIR


def _corpus_for(args, ds) -> Path | None:
    if getattr(args, "corpus", None) and args.index:
        raise ValueError("--corpus와 --index는 함께 쓸 수 없습니다 / use --corpus or --index, not both")
    if getattr(args, "corpus", None):
        return Path(args.corpus)
    return None if args.index else ds.corpus


def prompts_hash(cfg: Config) -> str:
    h = hashlib.sha256()
    for f in sorted(Path(cfg.prompts_dir).glob("*")):
        if f.is_file():
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def _limited(items: list[dict], limit: int | None) -> list[dict]:
    return items[:limit] if limit else items


# ------------------------------------------------------------------------------------------------ commands

def cmd_retrieval(cfg: Config, args) -> int:
    from eval import report as rep
    from eval.data import eval_home, open_eval_index, resolve_dataset
    from eval.runs import RunLog, retrieval_items, run_retrieval, summarize_retrieval
    from rag.expand import load_abbreviations
    from rag.retrieve import FUSIONS
    retrievers = [r.strip() for r in args.retrievers.split(",") if r.strip()]
    bad = [r for r in retrievers if r not in FUSIONS]
    if bad or not retrievers:
        raise ValueError(f"알 수 없는 검색기 / unknown retriever(s) {bad}; one of {FUSIONS}")
    ds = resolve_dataset(args.dataset, "retrieval", cfg)
    corpus = _corpus_for(args, ds)
    index, embedder, emb_path, index_dir, _ = open_eval_index(cfg, corpus, _progress())
    items = retrieval_items(ds.items)
    skipped = len(ds.items) - len(items)
    items = _limited(items, args.limit)
    name = args.name or f"retrieval-{ds.name}"
    settings = {"kind": "retrieval", "dataset": ds.sha256, "index": str(index.path), "retrievers": retrievers,
                "weight_bm25": cfg.fusion_weight_bm25, "candidates": cfg.candidates, "depth": args.depth,
                "embedder": index.manifest.get("embedder", {}).get("id")}
    log = RunLog(eval_home(cfg) / "runs" / name, settings, fresh=args.fresh)
    if log.resumed:
        _err(f"이어서 실행: 완료된 항목 {log.resumed}개 / resuming: {log.resumed} items already done")
    run_retrieval(index, embedder, items, retrievers, log, weight_bm25=cfg.fusion_weight_bm25,
                  candidates=cfg.candidates, depth=args.depth, corpus=corpus,
                  abbreviations=load_abbreviations(cfg.prompts_dir / "abbreviations.toml") if cfg.abbreviations
                  else None)
    records = [log.records[str(r["id"])] for r in items]
    summary = summarize_retrieval(records, retrievers)
    notes = []
    if skipped:
        notes.append(f"{skipped} items left out of retrieval scoring (unanswerable, no gold source, or follow-ups "
                     "that need their conversation)")
    if args.limit:
        notes.append(f"limited to the first {args.limit} items")
    verdict = rep.retrieval_verdict(summary, records)
    if verdict:
        notes.append(verdict)
    if ds.name == "korquad":
        notes.append("KorQuAD questions were written by annotators reading the paragraph, so they share many words "
                     "with it, which favours BM25: read this as a check that fusion does not hurt on a benchmark it "
                     "was not tuned on, not as typical user queries")
    notes.append(f"linear fusion weight_bm25 {cfg.fusion_weight_bm25}, candidates {cfg.candidates}; "
                 f"{len(index.chunks)} chunks from {index.file_count} files")
    title = f"Retrieval: {ds.name}"
    md = rep.retrieval_markdown(title, summary, notes)
    report = {"kind": "retrieval", "metrics": summary, "settings": settings, "notes": notes,
              "stamp": rep.stamp(cfg, index=index, index_dir=index_dir, dataset=ds, embedder_path=emb_path)}
    lat = {n: [r["retrievers"][n]["ms"] for r in records] for n in retrievers}
    paths = rep.write_report(_out_dir(args), name, report, md, rep.retrieval_figures(summary, lat))
    return _emit(args, {**report, "name": name}, paths, md)


def cmd_evidence(cfg: Config, args) -> int:
    from eval import report as rep
    from eval.data import open_eval_index, resolve_dataset
    from eval.runs import parse_variants, retrieval_items, run_evidence, summarize_evidence
    from rag.answer import Assistant
    from rag.expand import load_abbreviations
    from rag.runtime import make_retriever
    variants = parse_variants(args.variants)
    ds = resolve_dataset(args.dataset, "answers", cfg)
    corpus = _corpus_for(args, ds)
    index, embedder, emb_path, index_dir, _ = open_eval_index(cfg, corpus, _progress())
    assistant = Assistant(cfg, make_retriever(cfg, index, embedder), None)
    items = retrieval_items(ds.items)[max(args.offset, 0):]
    items = _limited(items, args.limit)
    rows = run_evidence(assistant, items, variants, load_abbreviations(cfg.prompts_dir / "abbreviations.toml"))
    summary = summarize_evidence(rows, variants)
    name = args.name or f"evidence-{ds.name}"
    notes = [f"{len(items)} standalone answerable items" + (f", from item {args.offset}" if args.offset else "")
             + (f", at most {args.limit}" if args.limit else ""),
             f"evidence budget {cfg.evidence_chars} characters, top_k {cfg.top_k}; variant = topic_discount:doc_weight"
             "[:retrieval_doc_weight][:abbr] (the first two: rag/evidence.py select_evidence; the third: "
             "rag/retrieve.py Retriever.doc_weight with doc_top 2, 0 when absent; abbr: the abbreviations of "
             "prompts/abbreviations.toml searched in BM25 and counted in sentences)"]
    heads = ["variant", "items", "has_answer", "top_sentence_has_answer", "first_passage_gold_source",
             "only_variant", "only_baseline", "mcnemar_p"]
    md = "\n".join([f"# Evidence selection: {ds.name}", "",
                    "has_answer: a gold answer is inside the evidence the answer step would see (retrieval and "
                    "selection as `rag ask` does them, no generator); top_sentence_has_answer: inside the best "
                    "sentence (the evidence preview); only_variant / only_baseline: items only that variant / only "
                    "the first variant gets right, with the exact McNemar p.", "",
                    rep.table(heads, [[n] + [s.get(h) for h in heads[1:]] for n, s in summary.items()]), "",
                    *[f"- {x}" for x in notes]])
    report = {"kind": "evidence", "metrics": summary, "settings": {"variants": variants, "offset": args.offset,
                                                                    "limit": args.limit}, "notes": notes,
              "items": rows, "stamp": rep.stamp(cfg, index=index, index_dir=index_dir, dataset=ds,
                                                embedder_path=emb_path)}
    paths = rep.write_report(_out_dir(args), name, report, md)
    return _emit(args, {**report, "name": name}, paths, md)


def cmd_answers(cfg: Config, args) -> int:
    from eval import report as rep
    from eval.data import eval_home, open_eval_index, resolve_dataset
    from eval.runs import RunLog, raw_prefill, run_answers, summarize_answers, with_referents
    from rag.runtime import make_retriever, open_assistant, open_generator
    ds = resolve_dataset(args.dataset, "answers", cfg)
    corpus = _corpus_for(args, ds)
    budgets = args.budgets or [cfg.evidence_chars]
    index, embedder, emb_path, index_dir, _ = open_eval_index(cfg, corpus, _progress())
    retriever = make_retriever(cfg, index, embedder)
    items = with_referents(ds.items, args.limit)
    name = args.name or f"answers-{ds.name}"
    gen_info = rep.generator_info(cfg, hash_custom=True)
    settings = {"kind": "answers", "dataset": ds.sha256, "index": str(index.path), "generator": gen_info.get("sha256")
                or gen_info.get("url"), "prompts": prompts_hash(cfg),
                **{k: getattr(cfg, k) for k in ("top_k", "fusion", "fusion_weight_bm25", "candidates", "max_tokens",
                                                "temperature", "min_evidence_coverage", "min_dense_score", "n_ctx",
                                                "min_support", "answer_strategy", "open_strategy", "unverified",
                                                "choice_min_margin")}}
    log = RunLog(eval_home(cfg) / "runs" / name, settings, fresh=args.fresh)
    if log.resumed:
        _err(f"이어서 실행: 완료된 항목 {log.resumed}개 / resuming: {log.resumed} answers already done")
    strategies = [x.strip() for x in args.strategies.split(",") if x.strip()] if args.strategies else None
    bad = [x for x in strategies or [] if x not in STRATEGIES]
    if bad:
        raise ValueError(f"--strategies {bad[0]!r}: 허용 값 / allowed: {', '.join(STRATEGIES)}")
    generator = open_generator(cfg)
    assistant = open_assistant(cfg, generator=generator, retriever=retriever)
    prefill = raw_prefill(generator)
    run_answers(assistant, items, budgets, log, corpus, strategies)
    after = raw_prefill(generator)
    if prefill and after:                       # the baseline before and after the run, averaged
        prefill = {**prefill, "a_ms": (prefill["a_ms"] + after["a_ms"]) / 2,
                   "ms_per_token": (prefill["ms_per_token"] + after["ms_per_token"]) / 2,
                   "before": {k: prefill[k] for k in ("a_ms", "ms_per_token")},
                   "after": {k: after[k] for k in ("a_ms", "ms_per_token")}}
    keys = [f"{r['id']}@{b}" + (f"@{s}" if s else "") for s in strategies or [""] for b in budgets for r in items]
    records = [log.records[k] for k in keys]
    summary = summarize_answers(records, budgets, assistant.prompts.msg("warn_unsupported"), strategies, prefill)
    notes = [f"{len(items)} items ({sum(1 for r in items if r.get('answerable', True))} answerable)"]
    if args.limit:
        notes.append(f"limited to the first {args.limit} items (plus the items their follow-ups refer to)")
    md = rep.answers_markdown(f"Answers: {ds.name}", summary, notes)
    if prefill:
        notes.append(f"raw llama-cpp-python prefill in this run: {prefill['a_ms']:.0f} ms + "
                     f"{prefill['ms_per_token']:.2f} ms/token (Llama.eval after the cached static prefix, measured "
                     f"before and after the answers); ttft_over_raw_prefill = TTFT / raw prefill of the answer's own "
                     f"prefill_tokens")
    report = {"kind": "answers", "metrics": summary, "settings": {**settings, "budgets": budgets,
                                                                  "strategies": strategies}, "notes": notes,
              "raw_prefill": prefill,
              "stamp": rep.stamp(cfg, index=index, index_dir=index_dir, dataset=ds, uses_generator=True,
                                 embedder_path=emb_path)}
    paths = rep.write_report(_out_dir(args), name, report, md, rep.answers_figures(summary))
    return _emit(args, {**report, "name": name}, paths, md)


def cmd_guard(cfg: Config, args) -> int:
    from eval import report as rep
    from eval.data import resolve_dataset
    from eval.guard_metrics import evaluate_guard
    ds = resolve_dataset(args.dataset, "guard", cfg)
    res = evaluate_guard(ds.items, min_severity=args.min_severity)
    res["min_severity"] = args.min_severity
    if args.index_corpus:
        res["index_overhead"] = index_overhead(cfg, Path(args.index_corpus))
    name = args.name or ("guard" if ds.name == "guard" else f"guard-{ds.name}")
    md = rep.guard_markdown(f"Guard: {ds.name}", res)
    metrics = {"overall": res["overall"], "per_type": res["per_type"],
               "false_alarms_on_benign": res["false_alarms_on_benign"], "latency_ms": res["latency_ms"],
               "by_category": res.get("by_category"),
               "index_overhead": res.get("index_overhead")}
    report = {"kind": "guard", "metrics": metrics, "errors": res["errors"], "items": res["items"],
              "settings": {"min_severity": args.min_severity}, "stamp": rep.stamp(cfg, dataset=ds)}
    paths = rep.write_report(_out_dir(args), name, report, md, rep.guard_figures(res))
    return _emit(args, {**report, "name": name}, paths, md)


def index_overhead(cfg: Config, corpus: Path) -> dict:
    """One `rag index` of `corpus` into a fresh temporary index with the configured document_pii: the document scan's
    time against the rest of the same run (parse, kiwipiepy, embed, write), and what it found."""
    import tempfile

    from rag.runtime import index_files
    if not corpus.is_dir():
        raise ValueError(f"--index-corpus: 폴더가 없습니다 / not a directory: {corpus}")
    with tempfile.TemporaryDirectory() as tmp:
        rep = index_files(cfg, [corpus], index_dir=Path(tmp) / "index")
    t = rep.timings
    rest = t["total_s"] - t["pii_s"]
    return {"corpus": str(corpus), "files": len(rep.added), "chunks": rep.chunks_total, "policy": rep.pii_policy,
            "pii_s": round(t["pii_s"], 3), "total_s": round(t["total_s"], 3), "without_scan_s": round(rest, 3),
            "ratio_to_indexing_without_scan": round(t["pii_s"] / rest, 4) if rest > 0 else None,
            "files_with_personal_data": len(rep.pii),
            "found": {k: sum(c.get(k, 0) for c in rep.pii.values()) for k in sorted({k for c in rep.pii.values()
                                                                                     for k in c})}}


def cmd_sweep(cfg: Config, args) -> int:
    from eval import report as rep
    from eval.data import open_eval_index, resolve_dataset
    from eval.runs import retrieval_items, run_sweep
    candidates = args.candidates or [cfg.candidates]
    curves, refs, stamps, notes = {}, {}, {}, []
    for spec in args.dataset:
        ds = resolve_dataset(spec, "retrieval", cfg)
        corpus = ds.corpus if not args.index else None
        index, embedder, emb_path, index_dir, _ = open_eval_index(cfg, corpus, _progress())
        items = _limited(retrieval_items(ds.items), args.limit)
        res = run_sweep(index, embedder, items, args.weights, candidates, desc=f"sweep:{ds.name}")
        curves[ds.name] = res["linear"]
        refs[ds.name] = res["reference"]
        stamps[ds.name] = rep.stamp(cfg, index=index, index_dir=index_dir, dataset=ds, embedder_path=emb_path)
        for c, pts in res["linear"].items():
            best = max(pts, key=lambda p: p["recall@1"])
            single = max(("bm25", "dense"), key=lambda n: res["reference"][n]["recall@1"])
            notes.append(f"{ds.name}, candidates {c}: best recall@1 {best['recall@1']:.4f} at w={best['weight']}; "
                         f"best single `{single}` {res['reference'][single]['recall@1']:.4f}; "
                         f"rrf {res['reference']['rrf']['recall@1']:.4f} ({len(items)} questions)")
    md = rep.sweep_markdown("Fusion weight sweep", curves, notes)
    md += "\n\n## Reference retrievers\n\n" + rep.table(
        ["dataset", "retriever", "recall@1", "recall@5", "mrr@10", "answer@1"],
        [[d, n, m["recall@1"], m["recall@5"], m["mrr@10"], m.get("answer@1")] for d, r in refs.items()
         for n, m in r.items()], 4)
    report = {"kind": "sweep", "metrics": {"linear": curves, "reference": refs}, "notes": notes,
              "settings": {"weights": args.weights, "candidates": candidates},
              "stamp": next(iter(stamps.values())), "stamps": stamps}
    paths = rep.write_report(_out_dir(args), args.name, report, md, rep.sweep_figures(curves))
    return _emit(args, {**report, "name": args.name}, paths, md)


def cmd_latency(cfg: Config, args) -> int:
    from eval.latency import run_latency
    from eval.data import resolve_dataset
    ds = resolve_dataset(args.dataset, "answers", cfg)
    report, md, paths = run_latency(cfg, ds, _corpus_for(args, ds), limit=args.limit, cache=args.cache,
                                    ingest_chunks=args.ingest_chunks, out_dir=_out_dir(args),
                                    name=args.name or "latency", progress=_progress())
    return _emit(args, report, paths, md)


def cmd_load(cfg: Config, args) -> int:
    from eval.data import resolve_dataset
    from eval.load import run_load
    ds = resolve_dataset(args.dataset, "answers", cfg)
    report, md, paths = run_load(cfg, ds, _corpus_for(args, ds), users=args.users, duration=args.duration,
                                 url=args.url, out_dir=_out_dir(args), name=args.name or "load",
                                 progress=_progress(), bursts=args.bursts, abandoners=args.abandoners,
                                 server_log=Path(args.server_log) if args.server_log else None)
    return _emit(args, report, paths, md)


def cmd_scale(cfg: Config, args) -> int:
    from eval.scale import json_lines, run_scale
    report, md, paths = run_scale(cfg, args.chunks, args.queries, _out_dir(args), args.work, args.keep,
                                  args.config, resident_max=args.resident_max)
    if args.json:
        sys.stdout.write("\n".join(json_lines(report)) + "\n")
        return EXIT_OK
    return _emit(args, report, paths, md)


def cmd_compare(cfg: Config, args) -> int:
    from eval import report as rep
    docs = []
    for p in (args.a, args.b):
        try:
            docs.append(json.loads(Path(p).read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            raise ValueError(f"보고서를 읽을 수 없습니다 / cannot read report {p}: {e}") from None
    if args.json:
        sys.stdout.write(json.dumps({"a": args.a, "b": args.b, "rows": rep.compare(*docs)}, ensure_ascii=False) + "\n")
    else:
        print(rep.compare_markdown(docs[0], docs[1], args.a, args.b))
    return EXIT_OK


COMMANDS = {"retrieval": cmd_retrieval, "answers": cmd_answers, "guard": cmd_guard, "sweep": cmd_sweep,
            "latency": cmd_latency, "load": cmd_load, "compare": cmd_compare,
            "evidence": cmd_evidence, "scale": cmd_scale}


def run_eval(cfg: Config, args) -> int:
    return COMMANDS[args.eval_cmd](cfg, args)
