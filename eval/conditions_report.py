"""One table for issue 30 (answering the question asked): before and after, set by set, from `rag eval answers`
reports (their JSON). Each set is a pair of reports made by the same command on the same items, before the change
(an earlier commit) and after it; the figures are the ones the answers report computes.

    python -m eval.conditions_report --pair "nearmiss (dev)" before.json after.json [--pair ...] \
        --out eval/reports/answer-conditions.md [--note TEXT ...]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.report import table

COLUMNS = [("answer_match", "answer match"), ("refused_unanswerable", "unanswerable refused"),
           ("false_refusals", "false refusals"), ("verified_shown", "verified (shown)"),
           ("verified_with_unmet_condition", "verified, condition unmet"),
           ("condition_met_shown", "condition met (shown)"), ("partial_answers", "partial list/two-part"),
           ("looped", "looped"), ("fragment_start", "fragment start"), ("prefill_tokens_median", "prefill tokens")]


def _summary(path: Path) -> tuple[dict, dict]:
    rep = json.loads(Path(path).read_text(encoding="utf-8"))
    metrics = rep["metrics"]
    return next(iter(metrics.values())), rep


def build(pairs: list[tuple[str, str | None, str | None]], notes: list[str]) -> str:
    rows = []
    kinds: list[str] = []
    for name, before, after in pairs:
        for label, path in (("before", before), ("after", after)):
            if not path:
                continue
            s, rep = _summary(Path(path))
            rows.append([name, label, s.get("items")] + [s.get(k) for k, _ in COLUMNS])
            if label == "after" and s.get("by_kind"):
                kinds.append(f"\n### {name}: by item kind (after; before in brackets)\n")
                prev = _summary(Path(before))[0].get("by_kind", {}) if before else {}
                kinds.append(table(["kind", "items", "right", "refused", "wrong shown"], [
                    [k, v["items"], f"{v['right']} ({prev.get(k, {}).get('right', '–')})",
                     f"{v['refused']} ({prev.get(k, {}).get('refused', '–')})",
                     f"{v['wrong_shown']} ({prev.get(k, {}).get('wrong_shown', '–')})"]
                    for k, v in s["by_kind"].items()], 0))
    md = ["# Answering the question asked: before and after (issue 30)", "",
          "Every figure comes from the `rag eval answers` report named under Sources (same items, same command, the "
          "default model and settings). answer match: every gold part is in a shown answer (answerable items); "
          "unanswerable refused: refused or answered with \"관련 자료만 찾았습니다\" (no answer shown); false refusals: "
          "answerable items refused; verified (shown): shown answers labelled verified; verified, condition unmet: "
          "labelled verified although a condition of the question is not met beside the quote (the label's promise: "
          "must be 0); condition met (shown): shown answers whose every condition is met.", "",
          table(["set", "run", "items"] + [c for _, c in COLUMNS], rows, 3)]
    md += kinds
    if notes:
        md += ["", *[f"- {n}" for n in notes]]
    md += ["", "## Sources", ""] + [f"- {name}: before `{b}`, after `{a}`" for name, b, a in pairs]
    return "\n".join(md) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.conditions_report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pair", nargs=3, action="append", metavar=("NAME", "BEFORE", "AFTER"), required=True,
                    help="a set's name and its two answers reports (JSON); '-' for a missing one")
    ap.add_argument("--note", action="append", default=[])
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    pairs = [(n, None if b == "-" else b, None if a == "-" else a) for n, b, a in args.pair]
    Path(args.out).write_text(build(pairs, args.note), encoding="utf-8")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
