"""Guard metrics on a labelled set: python -m eval.guard_eval [PATH] [--errors]

Each line of PATH (default eval/datasets/guard.jsonl) is {"id", "text", "expect": [types]}; `expect` lists the
types that must be found at severity >= medium, benign items expect []. Prints per-type precision/recall/F1,
the micro-averaged overall numbers and the false alarms on items that expect nothing (see rag.guard.evaluate_guard).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rag.guard import evaluate_guard

DEFAULT_PATH = Path(__file__).resolve().parent / "datasets" / "guard.jsonl"


def load_items(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    ap.add_argument("--errors", action="store_true", help="also list the items that were not exactly right")
    args = ap.parse_args(argv)
    items = load_items(args.path)
    t0 = time.perf_counter()
    report = evaluate_guard(items)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    if not args.errors:
        report.pop("errors")
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
