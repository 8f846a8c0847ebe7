#!/usr/bin/env bash
# Regenerate every report in eval/reports/ (see eval/reproduce.py; e.g. --skip-llm, --only guard,retrieval-korquad).
# With no arguments the ingest/query benchmark (python -m eval.bench_ingest, ~11 min) and the scale benchmark
# (rag eval scale, eval/reports/scale.md) run at the end as well.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m eval.reproduce "$@"
if [ "$#" -eq 0 ]; then
  .venv/bin/python -m eval.bench_ingest
  .venv/bin/rag eval scale --chunks 100000,1000000 --queries 100 --resident-max 100000
fi
