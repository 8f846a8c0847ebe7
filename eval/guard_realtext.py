"""False alarms of the guard's markings and 민감정보 on real policy and encyclopedic text: every line of the seed
documents (../shared/corpus/seoul-ai-policy) and every sentence of the KorQuAD 1.0 dev contexts goes through scan();
a CONFIDENTIAL or SENSITIVE finding at medium or above is listed, so a reader can tell a false alarm from a sentence
that really is a marking or personal data.

    python -m eval.guard_realtext [--name guard-real-text] [--out eval/reports]
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from eval.data import REPORTS_DIR, SEOUL_CORPUS
from eval.korquad import CREDIT, default_path
from rag.config import PROJECT_ROOT
from rag.guard import at_least, scan

TYPES = ("CONFIDENTIAL", "SENSITIVE")


def sentences() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if SEOUL_CORPUS.is_dir():
        for f in sorted(SEOUL_CORPUS.glob("*.txt")):
            out += [("seed", line.strip()) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    kq = default_path(PROJECT_ROOT)
    if kq.is_file():
        raw = json.loads(kq.read_text(encoding="utf-8"))
        for article in raw["data"]:
            for para in article["paragraphs"]:
                out += [("korquad", s) for s in re.split(r"(?<=[.!?])\s+", para["context"]) if s.strip()]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.guard_realtext", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="guard-real-text")
    ap.add_argument("--out", default=str(REPORTS_DIR))
    args = ap.parse_args(argv)
    counts: dict[str, int] = {}
    chars: dict[str, int] = {}
    hits: dict[str, list] = {}
    ms: dict[str, float] = {}
    for src, s in sentences():
        counts[src] = counts.get(src, 0) + 1
        chars[src] = chars.get(src, 0) + len(s)
        t0 = time.perf_counter()
        found = [f for f in scan(s) if f.type in TYPES and at_least(f.severity, "medium")]
        ms[src] = ms.get(src, 0.0) + (time.perf_counter() - t0) * 1000
        if found:
            hits.setdefault(src, []).append({"text": s, "types": sorted({f.type for f in found}),
                                             "spans": [s[f.start:f.end] for f in found]})
    rows = [f"| {src} | {n} | {len(hits.get(src, []))} | {len(hits.get(src, [])) / n:.4f} | "
            f"{1000 * ms[src] / max(chars[src], 1):.2f} |" for src, n in counts.items()]
    md = ["# Guard on real text: markings and 민감정보 raised", "",
          "Every line of the seed documents and every sentence of the KorQuAD 1.0 dev contexts, one scan() each. "
          "Listed: sentences where CONFIDENTIAL or SENSITIVE is raised at ≥ medium (what would warn before sending, "
          "and what document_pii = mask would replace at ingest). Many KorQuAD ones are real personal data of named "
          "people (a conviction, a party membership) rather than false alarms; each is listed for a reader to judge.",
          "", "| text | sentences | raised | rate | ms per 1,000 characters |", "|---|---|---|---|---|", *rows, ""]
    for src, hs in hits.items():
        md += [f"## {src}: {len(hs)}", ""] + [f"- {h['types']} `{'`, `'.join(h['spans'])}` — {h['text'][:200]}"
                                              for h in hs] + [""]
    md += ["", f"Command: `python -m eval.guard_realtext`. {CREDIT}"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (out / f"{args.name}.json").write_text(json.dumps({"counts": counts, "raised": {k: len(v) for k, v in hits.items()},
                                                       "hits": hits}, ensure_ascii=False, indent=1), encoding="utf-8")
    print(out / f"{args.name}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
