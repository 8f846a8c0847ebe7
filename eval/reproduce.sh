#!/usr/bin/env bash
# Regenerate every report in eval/reports/ (see eval/reproduce.py; e.g. --skip-llm, --only guard,retrieval-korquad).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m eval.reproduce "$@"
