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
import sys
import time
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


def run_retrieval(index, embedder, items: list[dict], retrievers: list[str], log: RunLog, *, weight_bm25: float,
                  candidates: int, depth: int = 30, batch: int = 64, corpus: Path | None = None) -> None:
    """Every retriever on every item (in batches: the embedder runs once per batch and retriever)."""
    from rag.retrieve import Retriever
    todo = [r for r in items if not log.done(str(r["id"]))]
    bar = progress_bar(len(items), len(items) - len(todo), "retrieval")
    rs = {name: Retriever(index, embedder, name, weight_bm25, candidates) for name in retrievers}
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


def answer_record(item: dict, budget: int, answer, evidence, corpus: Path | None) -> dict:
    cites = [{"n": c.n, "source": relative_source(c.source, corpus), "page": c.page, "text": c.text}
             for c in answer.citations]
    ans = {"text": answer.text, "refused": answer.refused, "citations": cites, "warnings": answer.warnings,
           "rewritten_question": answer.rewritten_question}
    ev_text = "\n".join(p.text for p in evidence.passages) if evidence is not None else ""
    return {"key": f"{item['id']}@{budget}", "id": item["id"], "budget": budget, "answer": ans,
            "followup": item.get("followup_of") is not None,
            "scores": metrics.answer_scores(item, ans),
            "evidence": {"chars": len(ev_text), "passages": len(evidence.passages) if evidence else 0,
                         "has_answer": metrics.answer_match(ev_text, item.get("answers") or []),
                         "has_quote": (metrics.answer_match(ev_text, [item["evidence"]])
                                       if item.get("evidence") else None),
                         "sources": metrics.distinct(relative_source(p.source, corpus)
                                                     for p in (evidence.passages if evidence else []))},
            "timings": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in answer.timings.items()}}


def run_answers(assistant, items: list[dict], budgets: list[int], log: RunLog, corpus: Path | None = None) -> None:
    """Every item at every budget through Assistant.stream (the product's own path)."""
    from rag.answer import Turn, collect
    by_id = {r["id"]: r for r in items}
    units = [(b, r) for b in budgets for r in items]
    todo = [(b, r) for b, r in units if not log.done(f"{r['id']}@{b}")]
    bar = progress_bar(len(units), len(units) - len(todo), "answers")
    try:
        for budget, item in todo:
            history = []
            ref = item.get("followup_of")
            if ref is not None:
                prev = log.records.get(f"{ref}@{budget}")
                if prev is not None:
                    history = [Turn(by_id[ref]["question"], prev["answer"]["text"])]
            got = collect(assistant.stream(item["question"], history, evidence_chars=budget))
            log.add(answer_record(item, budget, got.answer, got.evidence, corpus))
            bar.update(1)
    finally:
        bar.close()


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


def summarize_answers(records: list[dict], budgets: list[int], withheld_msg: str | None = None) -> dict:
    out = {}
    for b in budgets:
        rows = [r for r in records if r["budget"] == b]
        if not rows:
            continue
        s = metrics.answer_summary([r["scores"] for r in rows], [r["timings"] for r in rows])
        ans = [r for r in rows if r["scores"]["answerable"]]
        s["evidence_has_answer"] = metrics.rate(sum(r["evidence"]["has_answer"] for r in ans), len(ans))
        quotes = [r["evidence"]["has_quote"] for r in ans if r["evidence"].get("has_quote") is not None]
        s["evidence_has_quote"] = metrics.rate(sum(quotes), len(quotes))
        s["evidence_chars_median"] = metrics.median([r["evidence"]["chars"] for r in rows])
        fol = [r for r in ans if r.get("followup")]
        if fol:
            s["followup_answer_match"] = metrics.rate(sum(r["scores"]["match"] for r in fol), len(fol))
        s["failures"] = failure_breakdown(rows, withheld_msg)
        out[str(b)] = s
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
