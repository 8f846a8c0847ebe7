#!/usr/bin/env bash
# README command 1: install, provision the default models, index the shipped sample corpus, start the chat.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> 예시 문서 색인 / indexing the sample corpus (samples/)"
.venv/bin/rag index samples || [ $? -eq 1 ]
echo "==> 채팅 시작 / starting the chat (기본 주소 / default http://127.0.0.1:7860)"
exec .venv/bin/rag serve "$@"
