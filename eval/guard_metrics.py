"""The guard's metric on a labelled set (`rag eval guard`): per-type precision/recall/F1 and false alarms."""
from __future__ import annotations

import time

from rag.guard import TYPES, at_least, scan


# ---------------------------------------------------------------------------------------------
# evaluation on a labelled set: items are {"id", "text", "expect": [types found at >= medium]}
# ---------------------------------------------------------------------------------------------
def evaluate_guard(items: list[dict], min_severity: str = "medium") -> dict:
    """Item-level precision/recall/F1 per type (a finding counts at severity >= min_severity),
    micro-averaged overall, and false alarms on items that expect nothing."""
    counts = {t: {"tp": 0, "fp": 0, "fn": 0} for t in TYPES}
    benign = alarms = 0
    errors = []
    ms = []
    by_cat: dict[str, dict] = {}
    for it in items:
        want = set(it.get("expect", []))
        t0 = time.perf_counter()
        findings = scan(it["text"])
        ms.append((time.perf_counter() - t0) * 1000)
        got = {f.type for f in findings if at_least(f.severity, min_severity)}
        if it.get("category"):              # sets written per category (health, criminal, marking, benign …)
            c = by_cat.setdefault(f"{it.get('family', '')}/{it['category']}".lstrip("/"), {"items": 0, "right": 0})
            c["items"] += 1
            # risky: every expected type found; benign: no marking and no 민감정보 raised (the family's own alarms)
            c["right"] += (want <= got) if want else not (got & {"CONFIDENTIAL", "SENSITIVE"})
        for t in TYPES:
            if t in want and t in got:
                counts[t]["tp"] += 1
            elif t in got:
                counts[t]["fp"] += 1
            elif t in want:
                counts[t]["fn"] += 1
        if not want:
            benign += 1
            alarms += bool(got)
        if want != got:
            errors.append({"id": it.get("id"), "missed": sorted(want - got), "extra": sorted(got - want)})

    def prf(tp: int, fp: int, fn: int) -> dict:
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4), "tp": tp, "fp": fp, "fn": fn}

    per_type = {t: prf(**c) for t, c in counts.items()}
    tot = {k: sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn")}
    return {
        "items": len(items),
        "per_type": per_type,
        "overall": prf(**tot),
        "false_alarms_on_benign": {"count": alarms, "benign_items": benign,
                                   "rate": round(alarms / benign, 4) if benign else 0.0},
        "errors": errors,
        "by_category": {k: {**v, "rate": round(v["right"] / v["items"], 4)} for k, v in sorted(by_cat.items())},
        "latency_ms": {"p50": _pct(ms, 50), "p95": _pct(ms, 95), "max": round(max(ms), 3) if ms else None,
                       "per_1000_chars": round(1000 * sum(ms) / max(sum(len(it["text"]) for it in items), 1), 3),
                       "mean_chars": round(sum(len(it["text"]) for it in items) / len(items), 1) if items else None},
    }


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))], 3)
