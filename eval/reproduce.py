"""`python -m eval.reproduce` (or eval/reproduce.sh): regenerate every report in eval/reports/ with one command.

Steps run one after another in child processes (`python -m rag.cli eval …`), so a heavy step never shares memory or
cores with the next. `--only a,b` runs some steps, `--skip-llm` leaves out the steps that need the generator.
Retrieval and answer runs resume from their run logs; add `--fresh` to recompute everything.
Needs ../shared (KorQuAD 1.0 and the seed corpus) beside the project.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

from eval.data import SEOUL_CORPUS

STEPS: list[tuple[str, list[str], bool]] = [          # (name, arguments after `rag eval`, needs the generator)
    ("guard", ["guard", "--index-corpus", str(SEOUL_CORPUS)], False),
    # issue 13: the gaps set written before the detector changes (its first measurement, guard-gaps-first.md, is kept
    # as it was) and the held-out gaps set written after them
    ("guard-gaps", ["guard", "--dataset", "eval/datasets/guard_gaps.jsonl", "--name", "guard-gaps"], False),
    ("guard-gaps-heldout", ["guard", "--dataset", "eval/datasets/guard_gaps_heldout.jsonl",
                            "--name", "guard-gaps-heldout"], False),
    # issue 31: the blind guard sets (the *-first reports are the guard before the change, kept as measured; the
    # real-text check is python -m eval.guard_realtext)
    ("guard-blind-dev-last", ["guard", "--dataset", "guard_blind_dev", "--name", "guard-blind-dev-last"], False),
    ("guard-blind-heldout", ["guard", "--dataset", "guard_blind_heldout", "--name", "guard-blind-heldout"], False),
    ("retrieval-seoul_qa", ["retrieval", "--dataset", "seoul_qa", "--corpus", str(SEOUL_CORPUS)], False),
    ("retrieval-korquad", ["retrieval", "--dataset", "korquad"], False),
    ("fusion-sweep", ["sweep", "--dataset", "seoul_qa", "--dataset", "korquad", "--candidates", "20,50,100"], False),
    # evidence selection (eval/reports/evidence-selection.md): per-document topic words, the retriever's per-document
    # score and abbreviations, without the generator; KorQuAD's first 1,500 questions were looked at, the rest not
    *[(f"evidence-{d}", ["evidence", "--dataset", d, "--variants", "0:0,0.5:1,0.5:1:0.2,0:0:abbr,0.5:1:abbr"], False)
      for d in ("seoul_qa", "seoul_qa_abbrev", "seoul_qa_heldout")],
    ("evidence-korquad-tuned", ["evidence", "--dataset", "korquad", "--limit", "1500", "--variants",
                                "0:0,0.5:1,0.5:1:0.2,0.5:1:abbr", "--name", "evidence-korquad-tuned"], False),
    ("evidence-korquad-check", ["evidence", "--dataset", "korquad", "--offset", "1500", "--variants",
                                "0:0,0.5:1,0.5:1:0.2,0.5:1:abbr", "--name", "evidence-korquad-check"], False),
    ("answers-budget-curve", ["answers", "--dataset", "eval/datasets/seoul_qa_curve.jsonl", "--corpus",
                              str(SEOUL_CORPUS), "--budgets", "300,400,600", "--name", "answers-budget-curve"], True),
    ("answers-default", ["answers", "--dataset", "eval/datasets/seoul_qa.jsonl", "--corpus", str(SEOUL_CORPUS),
                         "--budgets", "400", "--name", "answers-default"], True),
    ("answers-full-300", ["answers", "--dataset", "eval/datasets/seoul_qa.jsonl", "--corpus", str(SEOUL_CORPUS),
                          "--budgets", "300", "--name", "answers-full-300"], True),
    # the answer-strategy ablation (eval/reports/answers-strategies.md): the project's QA set, KorQuAD questions
    # against their own articles and against the seed documents (all unanswerable), and the held-out set
    ("answers-strategies-seoul_qa", ["answers", "--dataset", "eval/datasets/seoul_qa.jsonl", "--corpus",
                                     str(SEOUL_CORPUS), "--strategies", "free,quote,choice",
                                     "--name", "answers-strategies-seoul_qa"], True),
    ("answers-strategies-korquad", ["answers", "--dataset", "korquad", "--limit", "30", "--strategies",
                                    "free,quote,choice", "--name", "answers-strategies-korquad"], True),
    ("answers-strategies-korquad-offcorpus", ["answers", "--dataset", "korquad-offcorpus", "--limit", "30",
                                              "--strategies", "free,quote,choice",
                                              "--name", "answers-strategies-korquad-offcorpus"], True),
    ("answers-heldout-last", ["answers", "--dataset", "eval/datasets/seoul_qa_heldout.jsonl", "--corpus",
                              str(SEOUL_CORPUS), "--strategies", "free", "--name", "answers-heldout-last"], True),
    # after evidence selection per document (eval/reports/evidence-*.md): the default strategy on both sets again
    ("answers-evidence-seoul_qa", ["answers", "--dataset", "eval/datasets/seoul_qa.jsonl", "--corpus",
                                   str(SEOUL_CORPUS), "--strategies", "free", "--name", "answers-evidence-seoul_qa"], True),
    ("answers-heldout-evidence", ["answers", "--dataset", "eval/datasets/seoul_qa_heldout.jsonl", "--corpus",
                                  str(SEOUL_CORPUS), "--strategies", "free", "--name", "answers-heldout-evidence"], True),
    # issue 30: the blind near-miss and KorQuAD multi-part sets (the *-first reports are the answer path before the
    # change; eval/reports/answer-conditions.md puts them side by side: python -m eval.conditions_report)
    ("answers-nearmiss_heldout", ["answers", "--dataset", "nearmiss_heldout", "--name",
                                  "answers-nearmiss_heldout"], True),
    ("answers-korquad_multipart_heldout", ["answers", "--dataset", "eval/datasets/korquad_multipart_heldout.jsonl",
                                           "--name", "answers-korquad_multipart_heldout"], True),
    ("latency", ["latency", "--dataset", "eval/datasets/seoul_qa_curve.jsonl", "--corpus", str(SEOUL_CORPUS),
                 "--limit", "6", "--name", "latency"], True),
    ("load-8users-5min", ["load", "--dataset", "eval/datasets/seoul_qa_curve.jsonl", "--corpus", str(SEOUL_CORPUS),
                          "--users", "8", "--duration", "300", "--name", "load-8users-5min"], True),
]
# the ingest benchmark is a script of its own: python -m eval.bench_ingest (eval/reports/ingest-benchmark.md)
RESUMABLE = ("retrieval", "answers")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.reproduce", description=__doc__.splitlines()[0])
    p.add_argument("--only", default=None, help="comma-separated step names: " + ", ".join(s[0] for s in STEPS))
    p.add_argument("--skip-llm", action="store_true", help="leave out answers, latency and load")
    p.add_argument("--fresh", action="store_true", help="recompute resumable runs from scratch")
    args = p.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - {s[0] for s in STEPS}
    if unknown:
        p.error(f"unknown step(s): {', '.join(sorted(unknown))}")
    failed = []
    for name, cmd, llm in STEPS:
        if (only and name not in only) or (llm and args.skip_llm):
            continue
        extra = ["--fresh"] if args.fresh and cmd[0] in RESUMABLE else []
        full = [sys.executable, "-m", "rag.cli", "eval", *cmd, *extra]
        print(f"==> {name}: rag eval {' '.join(cmd + extra)}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(full, stdout=subprocess.DEVNULL)
        print(f"    {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {time.perf_counter() - t0:.0f} s", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
