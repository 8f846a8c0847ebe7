#!/usr/bin/env bash
# README command 2: the whole test suite. Sets up what it needs (reusing ./.venv), including Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v chromium >/dev/null 2>&1 || [ ! -f /usr/share/fonts/truetype/nanum/NanumGothic.ttf ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> Debian chromium, fonts-nanum 설치 / installing Debian chromium and fonts-nanum"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum) >/dev/null \
      || echo "경고: chromium 설치 실패, 브라우저 테스트는 건너뜁니다 / chromium install failed; browser tests skip"
  else
    echo "경고: root가 아니라 chromium을 설치할 수 없습니다 / not root: cannot install chromium; browser tests skip"
  fi
fi
# axe-core (pinned in tests/a11y/package-lock.json) for the accessibility browser tests (tests/test_ui_a11y.py)
if [ ! -f tests/a11y/node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "==> axe-core 설치 (npm ci) / installing axe-core (npm ci)"
    npm ci --prefix tests/a11y --no-audit --no-fund >/dev/null 2>&1 \
      || echo "경고: axe-core 설치 실패(npm ci), 접근성 검사는 건너뜁니다 / axe-core install failed; accessibility tests skip"
  else
    echo "경고: npm이 없어 axe-core를 설치할 수 없습니다, 접근성 검사는 건너뜁니다 / npm not found: accessibility tests skip"
  fi
fi
exec .venv/bin/python -m pytest "$@"
