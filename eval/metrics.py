"""Metrics as pure functions: no I/O, no models. Every function takes plain lists and returns numbers.

Retrieval (per item, then averaged): the ranked list of chunks is turned into a ranked list of distinct units
(sources, or (source, page) pairs) in order of first appearance — the best chunk of a document stands for the
document — and compared with the gold units:

    recall@k   share of the gold units found among the first k distinct units
    MRR@10     1 / rank of the first gold unit within the first 10 (0 when none)
    nDCG@10    binary-relevance nDCG over the first 10 distinct units

Answers: a gold answer matches when, after normalization (NFC, case folding, whitespace and punctuation removed), it is
contained in the answer text. Refusal accuracy: refused == not answerable. A citation is correct when its passage
contains a gold answer or comes from a gold source.
"""
from __future__ import annotations

import math
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

RECALL_KS = (1, 3, 5, 10)


# ------------------------------------------------------------------------------------------------ text

def normalize_answer(text: str) -> str:
    """NFC, case-folded, with whitespace, punctuation and invisible format characters removed."""
    text = unicodedata.normalize("NFC", text or "").casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def answer_match(answer: str, golds: Iterable[str]) -> bool:
    """True when any (non-empty after normalization) gold answer is contained in the normalized answer."""
    a = normalize_answer(answer)
    return any(g and g in a for g in map(normalize_answer, golds))


# ------------------------------------------------------------------------------------------------ sources

def _posix(path: str) -> str:
    return str(PurePosixPath(str(path).replace("\\", "/")))


def source_matches(source: str, gold: str) -> bool:
    """A chunk's source (path as indexed, often absolute) matches a gold path relative to the corpus when it is the
    same path or ends with it at a path-component boundary ("/x/corpus/a/b.txt" matches "a/b.txt", not "b/b.txt")."""
    s, g = _posix(source), _posix(gold)
    return s == g or s.endswith("/" + g)


def distinct(units: Iterable) -> list:
    """Units in order of first appearance, duplicates dropped."""
    return list(dict.fromkeys(units))


def relevance(ranked_units: Sequence, gold: Sequence, match=None) -> list[int]:
    """Index into `gold` of the gold unit each ranked unit matches (or -1). `match(unit, gold_unit)` defaults to ==."""
    match = match or (lambda u, g: u == g)
    out = []
    for u in ranked_units:
        out.append(next((j for j, g in enumerate(gold) if match(u, g)), -1))
    return out


# ------------------------------------------------------------------------------------------------ retrieval

def recall_at_k(rel: Sequence[int], n_gold: int, k: int) -> float:
    """`rel` from relevance(): share of distinct gold units found in the first k ranked units."""
    if n_gold <= 0:
        return 0.0
    return len({j for j in rel[:k] if j >= 0}) / n_gold


def mrr_at_k(rel: Sequence[int], k: int = 10) -> float:
    for i, j in enumerate(rel[:k]):
        if j >= 0:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at_k(rel: Sequence[int], n_gold: int, k: int = 10) -> float:
    """Binary relevance; a gold unit counts once (a second unit matching the same gold adds nothing)."""
    if n_gold <= 0:
        return 0.0
    seen: set[int] = set()
    dcg = 0.0
    for i, j in enumerate(rel[:k]):
        if j >= 0 and j not in seen:
            seen.add(j)
            dcg += 1.0 / math.log2(i + 2)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(n_gold, k)))
    return dcg / idcg


def retrieval_scores(ranked_units: Sequence, gold: Sequence, match=None, ks: Sequence[int] = RECALL_KS) -> dict:
    """All retrieval metrics of one item. `ranked_units` may repeat (one per chunk); they are de-duplicated first."""
    gold = distinct(gold)
    rel = relevance(distinct(ranked_units), gold, match)
    out = {f"recall@{k}": recall_at_k(rel, len(gold), k) for k in ks}
    out["mrr@10"] = mrr_at_k(rel, 10)
    out["ndcg@10"] = ndcg_at_k(rel, len(gold), 10)
    return out


def answer_in_chunks(chunk_texts: Sequence[str], golds: Sequence[str], ks: Sequence[int] = RECALL_KS) -> dict:
    """Chunk level: is a gold answer string inside one of the first k chunks (the text the model would see)?"""
    first = next((i for i, t in enumerate(chunk_texts) if answer_match(t, golds)), None)
    return {f"answer@{k}": float(first is not None and first < k) for k in ks}


def mean_dicts(rows: Sequence[dict]) -> dict:
    """Average of every numeric key over the rows that have it."""
    keys = distinct(k for r in rows for k in r)
    out = {}
    for k in keys:
        vals = [r[k] for r in rows if isinstance(r.get(k), (int, float))]       # bools count as 0/1
        if vals:
            out[k] = sum(float(v) for v in vals) / len(vals)
    return out


# ------------------------------------------------------------------------------------------------ answers

def refusal_correct(refused: bool, answerable: bool) -> bool:
    return bool(refused) == (not answerable)


def citation_correct(citation_text: str, citation_source: str, golds: Sequence[str], gold_sources: Sequence[str]) -> bool:
    return answer_match(citation_text, golds) or any(source_matches(citation_source, g) for g in gold_sources)


def answer_scores(item: dict, answer: dict) -> dict:
    """Per-item answer metrics. `item` is a dataset row, `answer` has text, refused, citations [{source, text}]."""
    answerable = bool(item.get("answerable", True))
    golds = item.get("answers") or []
    gold_sources = item.get("sources") or []
    cites = answer.get("citations") or []
    correct_cites = [c for c in cites if citation_correct(c.get("text", ""), c.get("source", ""), golds, gold_sources)]
    out = {"answerable": answerable, "refused": bool(answer.get("refused")),
           "refusal_correct": refusal_correct(answer.get("refused"), answerable),
           "n_citations": len(cites), "n_citations_correct": len(correct_cites)}
    if answerable:
        text = answer.get("text", "")
        parts = item.get("parts") or []
        shown = not answer.get("refused")
        if parts:                       # a list or two-part question: every part must be in the answer
            met = sum(answer_match(text, p) for p in parts)
            out["parts"], out["parts_met"] = len(parts), met if shown else 0
            out["match"] = shown and met == len(parts)
        else:
            out["match"] = shown and answer_match(text, golds)
    return out


def answer_summary(rows: Sequence[dict], timings: Sequence[dict] = ()) -> dict:
    """Aggregate answer metrics from answer_scores() rows (and the answers' timings)."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    answered = [r for r in ans if not r["refused"]]
    cited = sum(r["n_citations"] for r in rows if not r["refused"])
    cited_ok = sum(r["n_citations_correct"] for r in rows if not r["refused"])
    out = {
        "items": len(rows), "answerable": len(ans), "unanswerable": len(una),
        "answer_match": rate(sum(r["match"] for r in ans), len(ans)),
        "refusal_accuracy": rate(sum(r["refusal_correct"] for r in rows), len(rows)),
        "refused_unanswerable": rate(sum(r["refused"] for r in una), len(una)),
        "refused_answerable": rate(sum(r["refused"] for r in ans), len(ans)),
        "partial_answers": sum(0 < r.get("parts_met", 0) < r.get("parts", 0) for r in ans),
        "citation_precision": rate(cited_ok, cited),
        "answered_with_correct_citation": rate(sum(r["n_citations_correct"] > 0 for r in answered), len(answered)),
    }
    ttft = [t["ttft_ms"] for t in timings if t.get("ttft_ms") and t.get("completion_tokens")]
    tps = [tokens_per_second(t) for t in timings]
    tps = [x for x in tps if x is not None]
    out.update(ttft_ms_median=percentile(ttft, 50), ttft_ms_p95=percentile(ttft, 95),
               total_ms_median=percentile([t["total_ms"] for t in timings if t.get("total_ms")], 50),
               tokens_per_s_median=percentile(tps, 50))
    return out


def tokens_per_second(timings: dict) -> float | None:
    """Decode speed: tokens after the first over the time after the first token."""
    n = timings.get("completion_tokens") or 0
    span = (timings.get("total_ms") or 0) - (timings.get("ttft_ms") or 0)
    if n < 2 or span <= 0:
        return None
    return (n - 1) / (span / 1000)


def rate(num: float, den: int) -> float | None:
    return num / den if den else None


# ------------------------------------------------------------------------------------------------ latency

def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    vals = sorted(float(v) for v in values)
    if not vals:
        return None
    if len(vals) == 1:
        return vals[0]
    pos = (len(vals) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def mcnemar_p(b: int, c: int) -> float:
    """Exact two-sided McNemar test on paired outcomes: b = only A right, c = only B right. p-value."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)
