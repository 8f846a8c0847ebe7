"""First contact on a new machine: a llama.cpp build that cannot fault on this CPU, a self-check that turns a
crash into a message, and a CLI that prints what it decided (refusals, withheld and cut answers, model errors)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import llama_build  # noqa: E402

REFUSAL = "자료에서 찾을 수 없습니다."


def _env(cfg, **extra) -> dict:
    return {**os.environ, "RAG_DATA_DIR": str(cfg.data_dir), "RAG_MODEL_CACHE_DIR": str(cfg.models_dir),
            **{k: str(v) for k, v in extra.items()}}


def rag(args, env, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def cli_cfg(base_cfg, tmp_path_factory):
    """A data dir of its own (its audit log is read by the tests) and an index of samples/ built by `rag index`."""
    from dataclasses import replace
    data = tmp_path_factory.mktemp("cli-data")
    cfg = replace(base_cfg, data_dir=data, index_dir=data / "index")
    out = rag(["--index", str(cfg.index_dir), "index", str(ROOT / "samples")], _env(cfg))
    assert out.returncode == 0, out.stderr[-2000:]
    return cfg


def audit_records(cfg) -> list[dict]:
    path = cfg.data_dir / "logs" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


# ------------------------------------------------------------------------------------------ the llama.cpp build

def test_flags_never_enable_amx_and_follow_the_cpu():
    amx_cpu = {"avx", "avx2", "fma", "f16c", "bmi2", "sse4_2", "avx512f", "avx512cd", "avx512vl", "avx512dq",
               "avx512bw", "avx512_vnni", "amx_tile", "amx_int8", "amx_bf16"}
    for variant in ("cpu", "avx2", "native-noamx"):
        args = llama_build.cmake_args(variant, amx_cpu)
        assert "-DGGML_AMX_TILE=OFF" in args and "-DGGML_AMX_INT8=OFF" in args, variant
        assert not any("AMX" in a and a.endswith("=ON") for a in args), variant
    cpu = llama_build.cmake_args("cpu", amx_cpu)
    assert "-DGGML_NATIVE=OFF" in cpu and "-DGGML_AVX512=ON" in cpu and "-DGGML_AVX512_VNNI=ON" in cpu
    # a CPU without AVX-512 gets none of it (a build for this machine must not fault on that one)
    haswell = llama_build.cmake_args("cpu", {"avx", "avx2", "fma", "f16c", "bmi2", "sse4_2"})
    assert "-DGGML_AVX512=OFF" in haswell and "-DGGML_AVX2=ON" in haswell and "-DGGML_AVX_VNNI=OFF" in haswell
    assert "-DGGML_AVX512=OFF" in llama_build.cmake_args("avx2", amx_cpu)
    # other flags, another key: a wheel built with other flags is never reused
    assert llama_build.build_key(cpu) != llama_build.build_key(haswell)
    assert llama_build.build_key(cpu) == llama_build.build_key(list(cpu))


def test_installed_llama_cpp_is_our_build_and_holds_no_amx_instruction():
    reason = llama_build.verify(sys.executable)
    assert reason is None, reason
    libs = llama_build.installed_libs(sys.executable)
    assert any("ggml-cpu" in p.name for p in libs), libs
    for lib in libs:
        assert llama_build.amx_instructions(lib) == [], lib
    import llama_cpp
    info = llama_cpp.llama_print_system_info().decode()
    assert "AMX" not in info.upper(), info


def test_a_build_for_another_cpu_is_refused_before_loading_the_model():
    """A venv copied to a CPU without AVX-512: a clear error instead of SIGILL inside the process."""
    from rag.selfcheck import build_info, missing_cpu_flags
    haswell = "flags\t\t: fpu sse4_2 avx avx2 fma f16c bmi2\n"
    build = {"requires_cpu_flags": llama_build.required_cpu_flags("cpu", llama_build.cpu_flags())}
    if "avx512f" in llama_build.cpu_flags():
        assert "avx512f" in missing_cpu_flags(haswell, build)
    assert missing_cpu_flags(haswell, {"requires_cpu_flags": ["avx2", "fma"]}) == []
    assert missing_cpu_flags() == []                      # the installed build fits this CPU
    assert build_info()["requires_cpu_flags"]


def test_amx_scanner_finds_amx_instructions(tmp_path):
    """The scan that guards every build must be able to fail: a tiny library with one AMX instruction."""
    src = tmp_path / "amx.c"
    src.write_text("void f(void){ __asm__ volatile(\"tilerelease\"); }\n")
    lib = tmp_path / "libamx.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    assert llama_build.amx_instructions(lib) == ["tilerelease"]


# ------------------------------------------------------------------------------------------ the self-check

def test_selfcheck_generates_and_embeds_for_real(base_cfg):
    out = subprocess.run([sys.executable, "-m", "rag.selfcheck", "--json"], capture_output=True, text=True,
                         env=_env(base_cfg), timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.splitlines()[-1])
    checks = {c["component"]: c for c in r["checks"]}
    llm = checks["llm"]["details"]
    assert checks["llm"]["ok"] and llm["generated_tokens"] == 2 and llm["decode_tok_s"] > 0
    assert llm["amx_in_use"] is False
    assert checks["embedder"]["ok"] and checks["embedder"]["details"]["dim"] == 384
    assert r["build"]["variant"] in ("cpu", "avx2", "native-noamx")


@pytest.mark.parametrize("sig", [signal.SIGILL, signal.SIGSEGV])
def test_a_native_crash_becomes_a_message_naming_component_signal_and_fix(sig):
    from rag.selfcheck import run_child
    res = run_child("llm", [sys.executable, "-c", f"import os; os.kill(os.getpid(), {int(sig)})"])
    assert not res.ok and res.signal == sig.name and res.exit_code == -int(sig)
    assert sig.name in res.message and "llama.cpp" in res.message and "setup.sh" in res.message


def test_selfcheck_exits_non_zero_when_the_model_cannot_run(tmp_path, base_cfg):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + os.urandom(4096))
    out = subprocess.run([sys.executable, "-m", "rag.selfcheck"], capture_output=True, text=True,
                         env=_env(base_cfg, RAG_LLM_PATH=bad), timeout=600)
    assert out.returncode != 0
    assert "self-check FAILED" in out.stderr and "Traceback" not in out.stderr


def test_doctor_reports_the_generation_check(base_cfg):
    out = rag(["doctor", "--json"], _env(base_cfg))
    assert out.returncode == 0, out.stderr[-2000:]
    llm = json.loads(out.stdout.splitlines()[-1])["llm"]
    assert llm["generate_ok"] is True and llm["signal"] is None
    assert llm["prefill_tok_s"] > 0 and llm["decode_tok_s"] > 0 and llm["amx_in_use"] is False
    assert llm["build"]["key"] and llm["build"]["variant"]


# ------------------------------------------------------------------------------------------ the CLI says what it decided

def test_streamed_refusal_prints_the_refusal_sentence(cli_cfg):
    out = rag(["--index", str(cli_cfg.index_dir), "ask", "2031년 지하철 10호선 개통 예산은 얼마입니까?"], _env(cli_cfg))
    assert out.returncode == 0, out.stderr[-2000:]
    assert REFUSAL in out.stdout, out.stdout
    assert out.stdout.strip(), "nothing printed"


def test_withheld_answer_is_replaced_on_screen(cli_cfg):
    # min_support above 1.0: every answer with new content fails the grounding check (a real config knob)
    out = rag(["--index", str(cli_cfg.index_dir), "ask", "도우미는 질문을 외부 서버로 보내나요?"],
              _env(cli_cfg, RAG_MIN_SUPPORT=1.01))
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert "최종 답변" in out.stdout and "자료에서 확인되지 않아" in out.stdout, out.stdout
    # the streamed text comes first; the screen ends on the refusal, not on the withheld text
    assert lines.index(next(ln for ln in lines if "최종 답변" in ln)) >= 1
    assert any(REFUSAL in ln for ln in lines[lines.index(next(ln for ln in lines if "최종 답변" in ln)):])


def test_generation_failure_is_a_json_error_line_and_an_audit_record(cli_cfg):
    # a context too small for the prompt: llama.cpp refuses the request (a real generator error)
    before = len(audit_records(cli_cfg))
    out = rag(["--index", str(cli_cfg.index_dir), "ask", "--json", "도우미가 읽을 수 있는 문서 형식은 무엇인가요?"],
              _env(cli_cfg, RAG_N_CTX=256))
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr + out.stdout
    j = json.loads(out.stdout.splitlines()[-1])
    assert j["kind"] == "GeneratorError" and j["error"]
    recs = audit_records(cli_cfg)[before:]
    assert len(recs) == 1 and recs[0]["error"] and recs[0]["channel"] == "cli"


def test_a_question_longer_than_the_model_takes_is_refused_with_the_reason(cli_cfg):
    before = len(audit_records(cli_cfg))
    long = "서울시 인공지능 행정 서비스의 추진 경과와 향후 계획을 정리한 긴 보고서 본문입니다. " * 110
    out = rag(["--index", str(cli_cfg.index_dir), "ask", "--json", long], _env(cli_cfg))
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr + out.stdout and "너무 깁니다" in out.stderr
    j = json.loads(out.stdout.splitlines()[-1])
    assert j["kind"] == "QuestionTooLong" and j["tokens"] > j["limit"] > 0
    assert len(audit_records(cli_cfg)) == before                     # nothing was asked


def test_answer_cut_at_max_tokens_is_marked(cli_cfg):
    out = rag(["--index", str(cli_cfg.index_dir), "ask", "--json", "도우미가 읽을 수 있는 문서 형식은 무엇인가요?"],
              _env(cli_cfg, RAG_MAX_TOKENS=4))
    assert out.returncode == 0, out.stderr[-2000:]
    j = json.loads(out.stdout.splitlines()[-1])
    assert j["truncated"] is True
    assert j["refused"] or any("끊겼습니다" in w for w in j["warnings"])


def test_a_changed_faiss_kind_rebuilds_the_dense_index_without_re_embedding(tmp_path, embedder):
    import faiss

    from index.store import load_index, update_index
    from rag.runtime import pii_screen
    model, path = embedder
    d = tmp_path / "idx"
    first = update_index(d, [ROOT / "samples"], model, path, faiss_kind="flat", screen=pii_screen("mask"))
    assert first.chunks_total > 0
    again = update_index(d, [ROOT / "samples"], model, path, faiss_kind="hnsw", screen=pii_screen("mask"))
    assert again.faiss_rebuilt and again.chunks_embedded == 0
    idx = load_index(d)
    assert idx.manifest["faiss"] == "hnsw" and isinstance(idx.dense, faiss.IndexHNSWFlat)
    assert not update_index(d, [ROOT / "samples"], model, path, faiss_kind="hnsw",
                            screen=pii_screen("mask")).faiss_rebuilt


def test_prompts_ship_in_the_wheel(tmp_path):
    """A non-editable install must be able to answer: prompts/ is package data."""
    import shutil
    src = tmp_path / "src"                     # a copy: setuptools leaves build/ and *.egg-info in the tree it builds
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                                             "reports", "tests"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                          str(tmp_path), str(src)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next(tmp_path.glob("seoul_policy_rag-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in (ROOT / "prompts").iterdir():
        if f.suffix in (".txt", ".toml"):
            assert f"prompts/{f.name}" in names, f.name
    assert "ui/texts.toml" in names


def _native_wheel() -> Path | None:
    key = llama_build.build_key(llama_build.cmake_args("native", llama_build.cpu_flags()))
    found = sorted((llama_build.wheel_cache() / f"{llama_build.VERSION}-native-{key}").glob("*.whl"))
    return found[0] if found else None


@pytest.mark.skipif("amx_tile" not in llama_build.cpu_flags(), reason="this CPU does not report AMX")
def test_on_an_amx_cpu_the_native_build_crashes_and_the_selfcheck_says_so(tmp_path, base_cfg):
    """The reproduction behind the build flags: pip's default (-march=native) build, loaded by the same Python
    package, dies with SIGILL at the first generation here, and the self-check names it. Needs the native wheel in
    the build cache (`python scripts/llama_build.py wheel --variant native`, ~5 min; eval/bench_llama_build.py
    makes it)."""
    wheel = _native_wheel()
    if wheel is None:
        pytest.skip("the native build is not in the build cache (python scripts/llama_build.py wheel --variant native)")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp_path, [n for n in zf.namelist() if n.startswith("llama_cpp/lib/")])
    lib = tmp_path / "llama_cpp" / "lib"
    assert llama_build.amx_instructions(lib / "libggml-cpu.so"), "the native build should hold AMX code here"
    out = subprocess.run([sys.executable, "-m", "rag.selfcheck"], capture_output=True, text=True, timeout=600,
                         env=_env(base_cfg, LLAMA_CPP_LIB_PATH=lib))
    assert out.returncode == 3, (out.returncode, out.stderr[-2000:])
    assert "SIGILL" in out.stderr and "llama.cpp" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("env, key", [({"RAG_FUSION": "hybird"}, "fusion"), ({"RAG_FAISS_KIND": "ivf"}, "faiss_kind"),
                                      ({"RAG_EMBED_BACKEND": "cuda"}, "embed_backend"),
                                      ({"RAG_EMBED_PRECISION": "fp16"}, "embed_precision"),
                                      ({"RAG_N_CTX": "lots"}, "n_ctx"), ({"RAG_TOP_K": "0"}, "top_k")])
def test_a_bad_setting_fails_at_load_naming_the_key(env, key, tmp_path):
    from rag.config import load_config
    with pytest.raises(ValueError) as info:
        load_config(env=env)
    assert key in str(info.value)
    # and through the CLI: before any model is loaded, no traceback
    out = rag(["--index", str(tmp_path), "search", "질문"], {**os.environ, **env})
    assert out.returncode == 2 and key in out.stderr and "Traceback" not in out.stderr
