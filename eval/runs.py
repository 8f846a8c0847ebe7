"""Evaluation jobs that survive being killed: every finished item is appended to `<run_dir>/items.jsonl` (flushed and
fsynced) and a new run with the same settings skips what is already there.

    run.json      the settings of the run (dataset hash, index, retrievers, budgets ...). Different settings start
                  the run over; the item limit is not a setting, so `--limit 50` then no limit continues the same run.
    items.jsonl   one JSON object per finished unit of work, with a unique "key"

Jobs: run_retrieval (each retriever on every question), run_answers (every question at every context budget,
follow-ups asked with their referenced question and the model's answer as history). Metrics come from eval/metrics.py.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from eval import metrics

RECALL_CURVE_KS = tuple(range(1, 11))


# ------------------------------------------------------------------------------------------------ the log

def _plain(obj: object) -> object:
    """JSON round trip so tuples, Paths etc. compare equal to what was read back from disk."""
    return json.loads(json.dumps(obj, ensure_ascii=False, default=str))


class RunLog:
    def __init__(self, run_dir: Path, settings: dict, fresh: bool = False):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.meta_path = self.dir / "run.json"
        self.items_path = self.dir / "items.jsonl"
        self.settings = _plain(settings)
        self.records: dict[str, dict] = {}
        self.resumed = 0
        try:
            old = json.loads(self.meta_path.read_text(encoding="utf-8")).get("settings")
        except (OSError, ValueError):
            old = None
        if fresh or old != self.settings:
            if old is not None and not fresh:
                sys.stderr.write(f"설정이 바뀌어 처음부터 다시 실행합니다 / settings changed, starting over: {self.dir}\n")
            self.items_path.unlink(missing_ok=True)
            self.meta_path.write_text(json.dumps({"settings": self.settings, "started": time.strftime(
                "%Y-%m-%dT%H:%M:%S%z")}, ensure_ascii=False, indent=1), encoding="utf-8")
        self._load()

    def _load(self) -> None:
        if not self.items_path.is_file():
            return
        good, broken = [], False
        for line in self.items_path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
                self.records[rec["key"]] = rec
                good.append(line)
            except (ValueError, KeyError, TypeError):
                broken = True                      # a line cut short by a kill: dropped, redone
        if broken or (good and not self.items_path.read_bytes().endswith(b"\n")):
            tmp = self.items_path.with_suffix(".tmp")
            tmp.write_text("".join(g + "\n" for g in good), encoding="utf-8")
            os.replace(tmp, self.items_path)
        self.resumed = len(self.records)

    def done(self, key: str) -> bool:
        return key in self.records

    def add(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self.items_path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        self.records[record["key"]] = record


def progress_bar(total: int, initial: int, desc: str):
    from tqdm import tqdm
    tty = sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc=desc, file=sys.stderr, unit="개", dynamic_ncols=True,
                mininterval=0.5 if tty else 30.0)


# ------------------------------------------------------------------------------------------------ retrieval

def relative_source(source: str, corpus: Path | None) -> str:
    if corpus is not None:
        try:
            return Path(source).resolve().relative_to(Path(corpus).resolve()).as_posix()
        except ValueError:
            pass
    return source


def retrieval_item_scores(item: dict, hits, corpus: Path | None = None) -> dict:
    """Scores of one item's ranked hits: source level, page level (when the item names pages), answer in chunks."""
    sources = [h.chunk.source for h in hits]
    out = {"scores": metrics.retrieval_scores(sources, item.get("sources") or [], metrics.source_matches,
                                              RECALL_CURVE_KS),
           "top": [relative_source(s, corpus) for s in metrics.distinct(sources)[:10]]}
    gold_pages = [(p["source"], p["page"]) for p in item.get("pages") or [] if p.get("page") is not None]
    if gold_pages:
        out["page_scores"] = metrics.retrieval_scores(
            [(h.chunk.source, h.chunk.page) for h in hits], gold_pages,
            lambda u, g: u[1] == g[1] and metrics.source_matches(u[0], g[0]), RECALL_CURVE_KS)
    texts = [h.chunk.text for h in hits]
    if item.get("answers"):
        out["scores"].update(metrics.answer_in_chunks(texts, item["answers"]))
    if item.get("evidence"):
        out["scores"].update({k.replace("answer@", "evidence@"): v
                              for k, v in metrics.answer_in_chunks(texts, [item["evidence"]]).items()})
    return out


def retrieval_items(items: list[dict]) -> list[dict]:
    """Items retrieval can be scored on: answerable, with at least one gold source, and standalone (a follow-up such
    as "그분 직책은?" means something only with its conversation; the answers run covers follow-ups)."""
    return [r for r in items if r.get("answerable", True) and r.get("sources") and r.get("followup_of") is None]


def retrieval_bench_args(prog: str, doc: str, argv: list[str] | None, root: Path):
    """The options the same-run retrieval benchmarks share: --dataset, --limit, --repeat, --out."""
    import argparse
    p = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    p.add_argument("--dataset", default="korquad")
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default=str(root / "eval" / "reports"))
    return p.parse_args(argv)


@dataclass
class PreparedQuestions:
    """A retrieval dataset's index opened for evaluation, and its questions with kiwipiepy terms and embeddings
    computed once, so that a benchmark can time retrieval alone."""
    dataset: object
    index: object
    embedder: object
    embedder_path: object
    index_dir: Path
    items: list[dict]
    terms: list[list[str]]
    vectors: object


def prepare_questions(cfg, dataset: str, limit: int) -> PreparedQuestions:
    import numpy as np

    from eval.data import open_eval_index, resolve_dataset
    from index import korean
    from index.embed import embed_queries
    ds = resolve_dataset(dataset, "retrieval", cfg)
    index, embedder, emb_path, index_dir, _ = open_eval_index(cfg, ds.corpus)
    items = retrieval_items(ds.items)[:limit]
    qs = [r["question"] for r in items]
    vecs = np.vstack([embed_queries(embedder, qs[i:i + 64]) for i in range(0, len(qs), 64)])
    return PreparedQuestions(ds, index, embedder, emb_path, index_dir, items, [korean.terms(q) for q in qs], vecs)


def run_retrieval(index, embedder, items: list[dict], retrievers: list[str], log: RunLog, *, weight_bm25: float,
                  candidates: int, depth: int = 30, batch: int = 64, corpus: Path | None = None,
                  abbreviations: dict | None = None) -> None:
    """Every retriever on every item (in batches: the embedder runs once per batch and retriever)."""
    from rag.retrieve import Retriever
    todo = [r for r in items if not log.done(str(r["id"]))]
    bar = progress_bar(len(items), len(items) - len(todo), "retrieval")
    rs = {name: Retriever(index, embedder, name, weight_bm25, candidates, abbreviations=abbreviations or {})
          for name in retrievers}
    try:
        for i in range(0, len(todo), batch):
            part = todo[i:i + batch]
            qs = [r["question"] for r in part]
            per = {name: r.search_many(qs, depth) for name, r in rs.items()}
            for j, item in enumerate(part):
                rec = {"key": str(item["id"]), "id": item["id"], "retrievers": {}}
                for name in retrievers:
                    hits, timings = per[name][j]
                    rec["retrievers"][name] = {**retrieval_item_scores(item, hits, corpus),
                                               "ms": round(timings["retrieval_ms"], 3)}
                log.add(rec)
            bar.update(len(part))
    finally:
        bar.close()


def summarize_retrieval(records: list[dict], retrievers: list[str]) -> dict:
    out = {}
    for name in retrievers:
        rows = [r["retrievers"][name] for r in records if name in r["retrievers"]]
        if not rows:
            continue
        s = metrics.mean_dicts([x["scores"] for x in rows])
        pages = [x["page_scores"] for x in rows if "page_scores" in x]
        ms = [x["ms"] for x in rows]
        out[name] = {"items": len(rows), **s,
                     "page": ({"items": len(pages), **metrics.mean_dicts(pages)} if pages else None),
                     "latency_ms_p50": metrics.percentile(ms, 50), "latency_ms_p95": metrics.percentile(ms, 95)}
    return out


# ------------------------------------------------------------------------------------------------ answers

def with_referents(items: list[dict], limit: int | None) -> list[dict]:
    """The first `limit` items plus the items their follow-ups refer to, referents before follow-ups."""
    by_id = {r["id"]: r for r in items}
    chosen = items[:limit] if limit else list(items)
    out: list[dict] = []
    seen: set = set()

    def visit(r: dict, depth: int = 0) -> None:
        if r["id"] in seen or depth > 20:
            return
        ref = r.get("followup_of")
        if ref is not None and ref in by_id:
            visit(by_id[ref], depth + 1)
        seen.add(r["id"])
        out.append(r)

    for r in chosen:
        visit(r)
    return out


def variant(budget: int, strategy: str) -> str:
    return f"{strategy}@{budget}"


def quote_checks(citations: list[dict], golds: list[str]) -> dict:
    """Cross-checks of a shown answer's quotes made from the run record, not taken from the answer's own flags:
    every quote must be found verbatim (rag.quotes.locate, any length) in the text of the passage it cites; and
    does a quote hold a gold answer?"""
    from rag.quotes import locate
    quotes = [(c.get("quote") or "", c.get("text") or "") for c in citations if c.get("quote")]
    ok = bool(quotes) and all(all(locate(part, text, min_chars=1) is not None for part in q.split(" … "))
                              for q, text in quotes)
    return {"quote_verified": ok, "quote_has_answer": any(metrics.answer_match(q, golds) for q, _ in quotes)}


def answer_record(item: dict, budget: int, answer, evidence, corpus: Path | None, strategy: str = "") -> dict:
    cites = [{"n": c.n, "source": relative_source(c.source, corpus), "page": c.page, "text": c.text,
              "quote": c.quote} for c in answer.citations]
    ans = {"text": answer.text, "refused": answer.refused, "citations": cites, "warnings": answer.warnings,
           "rewritten_question": answer.rewritten_question, "strategy": answer.strategy,
           "verified": answer.verified, "extractive": answer.extractive,
           "unverified_reason": answer.unverified_reason, "draft": answer.draft,
           "conditions": getattr(answer, "conditions", []), "looped": bool(answer.timings.get("looped"))}
    ev_text = "\n".join(p.text for p in evidence.passages) if evidence is not None else ""
    top = evidence.top_sentence() if evidence is not None else None
    top_text = top[0].text[top[1].start:top[1].end] if top else ""
    golds = item.get("answers") or []
    key = f"{item['id']}@{budget}" + (f"@{strategy}" if strategy else "")
    return {"key": key, "id": item["id"], "budget": budget, "strategy": strategy, "answer": ans,
            "followup": item.get("followup_of") is not None,
            "kind": item.get("kind") or item.get("subtype") or ("answerable" if item.get("answerable", True)
                                                               else "unanswerable"),
            "scores": {**metrics.answer_scores(item, ans), **quote_checks(cites, golds)},
            "evidence": {"chars": len(ev_text), "passages": len(evidence.passages) if evidence else 0,
                         "has_answer": metrics.answer_match(ev_text, golds),
                         "has_quote": (metrics.answer_match(ev_text, [item["evidence"]])
                                       if item.get("evidence") else None),
                         "top_sentence_has_answer": metrics.answer_match(top_text, golds) if top_text else False,
                         "sources": metrics.distinct(relative_source(p.source, corpus)
                                                     for p in (evidence.passages if evidence else []))},
            "timings": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in answer.timings.items()}}


def run_answers(assistant, items: list[dict], budgets: list[int], log: RunLog, corpus: Path | None = None,
                strategies: list[str] | None = None) -> None:
    """Every item at every budget and strategy through Assistant.stream (the product's own path); strategy by
    strategy, so each keeps its prompt prefix in the KV cache."""
    from rag.answer import Turn, collect
    by_id = {r["id"]: r for r in items}
    strategies = strategies or [""]
    units = [(s, b, r) for s in strategies for b in budgets for r in items]

    def key(s: str, b: int, r_id: str) -> str:
        return f"{r_id}@{b}" + (f"@{s}" if s else "")

    todo = [(s, b, r) for s, b, r in units if not log.done(key(s, b, r["id"]))]
    bar = progress_bar(len(units), len(units) - len(todo), "answers")
    try:
        for strategy, budget, item in todo:
            history = []
            ref = item.get("followup_of")
            if ref is not None:
                prev = log.records.get(key(strategy, budget, ref))
                if prev is not None:
                    history = [Turn(by_id[ref]["question"], prev["answer"]["text"])]
            got = collect(assistant.stream(item["question"], history, evidence_chars=budget,
                                           strategy=strategy or None))
            log.add(answer_record(item, budget, got.answer, got.evidence, corpus, strategy))
            bar.update(1)
    finally:
        bar.close()


def raw_prefill(generator, sizes: tuple[int, ...] = (150, 300, 600), repeats: int = 2) -> dict | None:
    """The bare llama-cpp-python prefill on this machine, now: `Llama.eval` of n tokens of a real answer prompt
    after the cached static prefix, for a few n; a least-squares line ms = a + b·n lets every answer's TTFT be
    compared with the raw prefill of as many tokens as it actually prefilled. None for a generator by URL."""
    import time as _time
    if not hasattr(generator, "run_exclusive"):
        return None
    from rag.answer import static_messages
    from rag.prompting import load_prompts
    from rag.config import PROJECT_ROOT
    prompts = load_prompts(PROJECT_ROOT / "prompts")
    static = static_messages(prompts)
    filler = "\n".join(ex.evidence[0]["text"] for ex in prompts.examples) * 20
    tokens = generator.prompt_tokens(static + [{"role": "user", "content": filler}])
    base = len(generator.prompt_tokens(static)) - 1

    def measure(llm) -> list[tuple[int, float]]:
        got = []
        llm.n_tokens = 0
        llm.eval(tokens[:base])
        for _ in range(repeats):
            for n in sizes:
                llm.n_tokens = base
                t = _time.perf_counter()
                llm.eval(tokens[base:base + n])
                got.append((n, (_time.perf_counter() - t) * 1000))
        llm.n_tokens = base
        return got

    pts = generator.run_exclusive(measure)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return {"a_ms": round(my - b * mx, 1), "ms_per_token": round(b, 3), "points": pts,
            "tokens_per_s": round(1000 / b, 1) if b > 0 else None}


def failure_breakdown(rows: list[dict], withheld_msg: str | None = None) -> dict:
    """Where answers go wrong, one reason per item: for answerable items that do not match, the gold answer was not in
    the selected evidence (retrieval/selection), the grounding check withheld the model's answer, the model refused,
    or the model answered wrongly from evidence that held the answer; for unanswerable items, answered anyway."""
    out = {"answerable_missed_no_evidence": 0, "answerable_withheld_by_check": 0, "answerable_refused_by_model": 0,
           "answerable_wrong_from_good_evidence": 0, "unanswerable_answered": 0}
    for r in rows:
        sc = r["scores"]
        if not sc["answerable"]:
            out["unanswerable_answered"] += not sc["refused"]
        elif not sc["match"]:
            if not r["evidence"]["has_answer"]:
                out["answerable_missed_no_evidence"] += 1
            elif sc["refused"] and withheld_msg and withheld_msg in r["answer"].get("warnings", []):
                out["answerable_withheld_by_check"] += 1
            elif sc["refused"]:
                out["answerable_refused_by_model"] += 1
            else:
                out["answerable_wrong_from_good_evidence"] += 1
    return out


def starts_with_fragment(text: str) -> bool:
    """An answer whose first sentence has fewer than two letters before its first full stop or marker ("가[1].")."""
    head = re.split(r"[.!?]|\[\d+\]", text.strip(), maxsplit=1)[0]
    return bool(text.strip()) and sum(ch.isalnum() for ch in head) < 2


def by_kind(rows: list[dict]) -> dict:
    """Per item kind (table_row, two_part, wrong_ordinal, …): items, right (answerable: matched; unanswerable:
    refused), refused, shown with a wrong answer."""
    out: dict[str, dict] = {}
    for r in rows:
        k = out.setdefault(r.get("kind") or "?", {"items": 0, "right": 0, "refused": 0, "wrong_shown": 0})
        sc = r["scores"]
        k["items"] += 1
        k["refused"] += sc["refused"]
        right = sc["match"] if sc["answerable"] else sc["refused"]
        k["right"] += right
        k["wrong_shown"] += (not right) and not sc["refused"]
    return dict(sorted(out.items()))


def summarize_rows(rows: list[dict], withheld_msg: str | None = None, prefill: dict | None = None) -> dict:
    s = metrics.answer_summary([r["scores"] for r in rows], [r["timings"] for r in rows])
    ans = [r for r in rows if r["scores"]["answerable"]]
    s["evidence_has_answer"] = metrics.rate(sum(r["evidence"]["has_answer"] for r in ans), len(ans))
    quotes = [r["evidence"]["has_quote"] for r in ans if r["evidence"].get("has_quote") is not None]
    s["evidence_has_quote"] = metrics.rate(sum(quotes), len(quotes))
    s["evidence_chars_median"] = metrics.median([r["evidence"]["chars"] for r in rows])
    shown = [r for r in rows if not r["scores"]["refused"]]
    s["verified_quote_rate"] = metrics.rate(sum(quote_checks(r["answer"]["citations"], [])["quote_verified"]
                                                for r in shown), len(shown))
    s["extractive_shown"] = sum(r["answer"].get("extractive", False) for r in shown)
    s["prefill_tokens_median"] = metrics.median([r["timings"]["prefill_tokens"] for r in rows
                                                 if r["timings"].get("prefill_tokens")])
    if prefill:
        ratios = [r["timings"]["ttft_ms"] / (prefill["a_ms"] + prefill["ms_per_token"] * r["timings"]["prefill_tokens"])
                  for r in rows if r["timings"].get("prefill_tokens") and r["timings"].get("ttft_ms")]
        s["ttft_over_raw_prefill_median"] = metrics.median(ratios)
        s["ttft_over_raw_prefill_p95"] = metrics.percentile(ratios, 95)
    # the other policy for an unverified answer, from the same run: show the best evidence sentence instead
    una = [r for r in rows if not r["scores"]["answerable"]]
    withheld = [r for r in rows if r["answer"].get("unverified_reason")]
    if withheld:
        s["if_extract"] = {
            "answer_match": metrics.rate(sum(r["scores"].get("match", False) or (
                bool(r["answer"].get("unverified_reason")) and r["evidence"].get("top_sentence_has_answer", False))
                for r in ans), len(ans)),
            "refused_unanswerable": metrics.rate(sum(r["scores"]["refused"] and not r["answer"].get("unverified_reason")
                                                     for r in una), len(una)),
            "withheld": len(withheld)}
    # the label's promise: a shown answer is labelled verified only when every condition of the question is met
    s["verified_shown"] = metrics.rate(sum(bool(r["answer"].get("verified")) for r in shown), len(shown))
    s["verified_with_unmet_condition"] = sum(bool(r["answer"].get("verified")) and any(
        c.get("met") is False and c.get("where") != "said_missing" for c in r["answer"].get("conditions") or [])
        for r in shown)
    with_conds = [r for r in shown if r["answer"].get("conditions")]
    s["condition_met_shown"] = metrics.rate(sum(all(c.get("met") for c in r["answer"]["conditions"])
                                                for r in with_conds), len(with_conds))
    s["looped"] = sum(bool(r["answer"].get("looped")) for r in rows)
    s["fragment_start"] = sum(starts_with_fragment(r["answer"].get("text", "")) for r in shown)
    s["false_refusals"] = metrics.rate(sum(r["scores"]["refused"] for r in ans), len(ans))
    s["by_kind"] = by_kind(rows)
    fol = [r for r in ans if r.get("followup")]
    if fol:
        s["followup_answer_match"] = metrics.rate(sum(r["scores"]["match"] for r in fol), len(fol))
    s["failures"] = failure_breakdown(rows, withheld_msg)
    return s


def summarize_answers(records: list[dict], budgets: list[int], withheld_msg: str | None = None,
                      strategies: list[str] | None = None, prefill: dict | None = None) -> dict:
    """Metrics per variant: "<budget>" for the configured strategy, "<strategy>@<budget>" in an ablation."""
    out = {}
    for strategy in strategies or [""]:
        for b in budgets:
            rows = [r for r in records if r["budget"] == b and r.get("strategy", "") == strategy]
            if rows:
                out[variant(b, strategy) if strategy else str(b)] = summarize_rows(rows, withheld_msg, prefill)
    return out


# ------------------------------------------------------------------------------------------------ fusion sweep

class QueryCache:
    """A sentence-transformers model that encodes each (prompt, text) once; everything else passes through.
    Lets a weight sweep re-run retrieval many times without re-embedding the same questions."""

    def __init__(self, model):
        self.model = model
        self._cache: dict[tuple[str, str], object] = {}

    def __getattr__(self, name: str):
        return getattr(self.model, name)

    def encode(self, texts, prompt=None, **kw):
        import numpy as np
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        missing = list(dict.fromkeys(t for t in texts if (prompt or "", t) not in self._cache))
        if missing:
            for t, v in zip(missing, self.model.encode(missing, prompt=prompt, **kw)):
                self._cache[(prompt or "", t)] = v
        out = np.stack([self._cache[(prompt or "", t)] for t in texts])
        return out[0] if single else out


def run_sweep(index, embedder, items: list[dict], weights: list[float], candidates: list[int],
              depth: int = 30, batch: int = 64, desc: str = "sweep") -> dict:
    """{"linear": {candidates: [{"weight", metrics...}]}, "reference": {bm25|dense|rrf: metrics}}."""
    from rag.retrieve import Retriever
    cached = QueryCache(embedder)
    qs = [r["question"] for r in items]
    runs = [("bm25", 1.0, candidates[0]), ("dense", 0.0, candidates[0]), ("rrf", 0.5, candidates[0])]
    runs += [("linear", w, c) for c in candidates for w in weights]
    bar = progress_bar(len(runs) * len(items), 0, desc)
    out: dict = {"linear": {}, "reference": {}}
    try:
        for fusion, w, c in runs:
            r = Retriever(index, cached, fusion, w, c)
            rows = []
            for i in range(0, len(items), batch):
                part = items[i:i + batch]
                for item, (hits, _) in zip(part, r.search_many(qs[i:i + batch], depth)):
                    rows.append(retrieval_item_scores(item, hits)["scores"])
                bar.update(len(part))
            m = metrics.mean_dicts(rows)
            if fusion == "linear":
                out["linear"].setdefault(str(c), []).append({"weight": w, **m})
            else:
                out["reference"][fusion] = m
    finally:
        bar.close()
    return out


# ------------------------------------------------------------------------------------------------ evidence selection
def parse_variants(spec: str) -> list[dict]:
    """"0:0,0.5:1,0.5:1:0.2,0.5:1:abbr" → evidence-selection settings: topic_discount, doc_weight, optionally the
    retriever's per-document weight, and "abbr" when abbreviations are searched too."""
    out = []
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        bits = part.split(":")
        abbr = bits[-1] == "abbr"
        nums = bits[:-1] if abbr else bits
        try:
            if len(nums) not in (2, 3):
                raise ValueError
            vals = [float(x) for x in nums]
        except ValueError:
            raise ValueError(f"--variants {part!r}: DISCOUNT:DOC_WEIGHT[:RETRIEVAL_DOC_WEIGHT][:abbr] 형식이어야 "
                             f"합니다 / expected DISCOUNT:DOC_WEIGHT[:RETRIEVAL_DOC_WEIGHT][:abbr], e.g. 0.5:1") from None
        out.append({"name": part, "topic_discount": vals[0], "doc_weight": vals[1],
                    "retrieval_doc_weight": vals[2] if len(vals) == 3 else 0.0, "abbreviations": abbr})
    if not out:
        raise ValueError("--variants: 하나 이상 필요합니다 / at least one variant")
    return out


def run_evidence(assistant, items: list[dict], variants: list[dict], abbreviations: dict) -> list[dict]:
    """Per item and variant: does the evidence the answer step would see hold a gold answer (and its top sentence)?
    Retrieval and selection exactly as Assistant.stream does them, without the generator."""
    import dataclasses

    from index import korean
    from rag import choice, expand, guard
    from rag.evidence import select_evidence
    df, n = assistant._df
    cfg = assistant.cfg
    retrievers = {w: dataclasses.replace(assistant.retriever, doc_weight=w, doc_top=2)
                  for w in {v["retrieval_doc_weight"] for v in variants}}
    bar = progress_bar(len(items), 0, "evidence")
    rows = []
    try:
        for item in items:
            q = item["question"]
            own = korean.terms(q)
            pairs = expand.aliases(q, own, abbreviations)
            hits = {}
            for v in variants:
                key = (v["retrieval_doc_weight"], v["abbreviations"])
                if key not in hits:
                    hits[key] = retrievers[key[0]].search(q, cfg.top_k, own + (expand.alias_terms(pairs)
                                                                                if key[1] else []))
            test = choice.type_test(choice.factoid_type(q), q)
            row = {"id": item["id"], "variants": {}}
            for v in variants:
                ev = select_evidence(q, hits[(v["retrieval_doc_weight"], v["abbreviations"])], cfg.evidence_chars,
                                     df, n, is_injection=guard.is_injection, q_terms=own,
                                     aliases=pairs if v["abbreviations"] else (), holds_answer_type=test,
                                     topic_discount=v["topic_discount"], doc_weight=v["doc_weight"])
                top = ev.top_sentence()
                top_text = top[0].text[top[1].start:top[1].end] if top else ""
                golds = item.get("answers") or []
                row["variants"][v["name"]] = {
                    "has_answer": metrics.answer_match("\n".join(p.text for p in ev.passages), golds),
                    "top_sentence_has_answer": bool(top_text) and metrics.answer_match(top_text, golds),
                    "first_passage_gold_source": bool(ev.passages) and any(
                        metrics.source_matches(ev.passages[0].source, s) for s in item.get("sources") or [])}
            rows.append(row)
            bar.update(1)
    finally:
        bar.close()
    return rows


def summarize_evidence(rows: list[dict], variants: list[dict]) -> dict:
    """Rates per variant, and paired counts against the first variant (the baseline) with an exact McNemar p."""
    out = {}
    base = variants[0]["name"]
    for v in variants:
        name = v["name"]
        s = {"items": len(rows)}
        for key in ("has_answer", "top_sentence_has_answer", "first_passage_gold_source"):
            s[key] = metrics.rate(sum(r["variants"][name][key] for r in rows), len(rows))
        if name != base:
            only_v = sum(r["variants"][name]["has_answer"] and not r["variants"][base]["has_answer"] for r in rows)
            only_b = sum(r["variants"][base]["has_answer"] and not r["variants"][name]["has_answer"] for r in rows)
            s.update(only_variant=only_v, only_baseline=only_b, mcnemar_p=metrics.mcnemar_p(only_v, only_b))
        out[name] = s
    return out
