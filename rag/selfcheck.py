"""Self-check of the native parts in child processes: a real 2-token generation with the GGUF, one Korean embedding.

Native code that executes an instruction the CPU or the OS does not allow (AMX tiles in a worker thread, AVX-512 on
a CPU without it) kills its process with a signal, not an exception. Run in a child, such a crash becomes a message
that names the component, the signal and the fix, and a non-zero exit, instead of `Illegal instruction` and nothing.

    python -m rag.selfcheck [--json]          # the last step of scripts/setup.sh; `rag doctor` uses the same checks
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag import waitpolicy
from rag.config import PROJECT_ROOT, Config, load_config

PROBE_PROMPT = "서울시는 시민의 안전과 편의를 위해 행정 업무에 인공지능을 도입하고 있습니다. 다음 문장을 이어 쓰십시오:"
PROBE_SENTENCE = "민원 처리 기간은 접수일로부터 7일 이내이다."
TIMEOUT_S = 300.0
# the wait-policy measurement: rounds per policy (interleaved), decoded tokens per round
TUNE_ROUNDS, TUNE_DECODE_TOKENS = 2, 32
# the llama.cpp build setup.sh recorded (scripts/llama_build.py)
BUILD_STAMP = Path(sys.prefix) / "llama-cpp-build.json"


@dataclass
class CheckResult:
    component: str                     # "llm" | "embedder"
    ok: bool
    seconds: float = 0.0
    signal: str | None = None          # "SIGILL" when the child was killed by a signal
    exit_code: int | None = None
    message: str = ""                  # Korean / English, with the fix, when not ok
    details: dict = field(default_factory=dict)


def _texts() -> dict:
    with (PROJECT_ROOT / "prompts" / "selfcheck.toml").open("rb") as fh:
        return tomllib.load(fh)


def build_info() -> dict:
    try:
        return json.loads(BUILD_STAMP.read_text())
    except (OSError, ValueError):
        return {}


def missing_cpu_flags(cpuinfo: str | None = None, build: dict | None = None) -> list[str]:
    """Instruction sets the installed llama.cpp build needs that this CPU does not report (a venv copied to another
    machine): checked before the model is loaded in-process, where it would die with SIGILL instead."""
    build = build_info() if build is None else build
    need = build.get("requires_cpu_flags") or []
    if not need:
        return []
    text = cpuinfo if cpuinfo is not None else Path("/proc/cpuinfo").read_text(errors="replace")
    have = next((set(line.split(":", 1)[1].split()) for line in text.splitlines() if line.startswith("flags")), set())
    return sorted(set(need) - have) if have else []


# ------------------------------------------------------------------------------------------------ children

def probe_generation(model: str, threads: int, prompt: str = PROBE_PROMPT, max_prompt_tokens: int = 480,
                     decode_tokens: int = 2, n_ctx: int = 512) -> dict:
    """Load the GGUF, prefill `prompt` in one batch, decode greedily: the self-check (2 tokens) and the build
    benchmark (eval/bench_llama_build.py, 64 tokens) both run this in a child process."""
    import llama_cpp
    t0 = time.perf_counter()
    llm = llama_cpp.Llama(model_path=model, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, n_batch=512,
                          verbose=False)
    load_s = time.perf_counter() - t0
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True)[:max_prompt_tokens]
    t1 = time.perf_counter()
    llm.eval(tokens)                                   # prefill: the batched matrix kernels on every thread
    prefill_s = time.perf_counter() - t1
    out = []
    t2 = time.perf_counter()
    for _ in range(decode_tokens):                     # decode: real tokens
        tok = llm.sample(temp=0.0)
        out.append(tok)
        llm.eval([tok])
    decode_s = time.perf_counter() - t2
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return {"load_s": round(load_s, 2), "prompt_tokens": len(tokens), "generated_tokens": len(out),
            "prefill_tok_s": round(len(tokens) / prefill_s, 1), "decode_tok_s": round(len(out) / decode_s, 1),
            "sample": llm.detokenize(out).decode("utf-8", "replace"), "system_info": info.strip(),
            "amx_in_use": "AMX" in info.upper(), "name": llm.metadata.get("general.name"),
            "chat_template": bool(llm.metadata.get("tokenizer.chat_template"))}


def _child_embedder(path: str, backend: str, precision: str = "fp32") -> dict:
    import numpy as np

    from index.embed import embed_passages, load_embedder
    t0 = time.perf_counter()
    model = load_embedder(path, backend, precision)      # in this child: a bf16 (AMX) path that crashed shows here
    vec = embed_passages(model, [PROBE_SENTENCE])
    norm = float(np.linalg.norm(vec[0]))
    if not np.all(np.isfinite(vec)) or abs(norm - 1.0) > 1e-3:
        raise RuntimeError(f"embedding is not a finite unit vector (norm {norm:.4f})")
    return {"dim": int(vec.shape[1]), "norm": round(norm, 5), "seconds": round(time.perf_counter() - t0, 2),
            "precision": getattr(model, "rag_precision", "fp32")}


def _child_serving(model: str, threads: int, embedder: str, backend: str, precision: str, decode_tokens: int) -> dict:
    """The serving process in small: the embedder loads and embeds (a question, an upload), then the GGUF prefills
    and decodes. Its decode speed under this process' wait policy is what a civil servant sees stream."""
    from index.embed import embed_passages, load_embedder
    model_e = load_embedder(embedder, backend, precision)
    t0 = time.perf_counter()
    embed_passages(model_e, [PROBE_SENTENCE, PROBE_PROMPT] * 4)
    embed_s = time.perf_counter() - t0
    out = probe_generation(model, threads, decode_tokens=decode_tokens)
    return {"embed_s": round(embed_s, 3), **{k: out[k] for k in ("prompt_tokens", "generated_tokens",
                                                                  "prefill_tok_s", "decode_tok_s")}}


# ------------------------------------------------------------------------------------------------ parent

def _signal_name(returncode: int) -> str | None:
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run_child(component: str, argv: list[str], timeout: float = TIMEOUT_S, env: dict | None = None,
              libgomp: bool = False) -> CheckResult:
    """Run one check's child and turn whatever happened to it (JSON line, exception, signal, hang) into a result.
    `libgomp`: the child's libgomps print their settings (OMP_DISPLAY_ENV) and details["libgomp_spincounts"] holds
    what they reported."""
    texts = _texts()
    label = texts["component"][component]            # {"ko": ..., "en": ...}
    t0 = time.perf_counter()
    env = dict(os.environ if env is None else env, PYTHONFAULTHANDLER="0")
    if libgomp:
        env["OMP_DISPLAY_ENV"] = "VERBOSE"
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return CheckResult(component, False, round(time.perf_counter() - t0, 2),
                           message=texts["timeout"].format(**label, seconds=int(timeout)))
    seconds = round(time.perf_counter() - t0, 2)
    sig = _signal_name(r.returncode)
    if sig:
        fix = texts["fix"].get(f"{component}_{sig}") or texts["fix"].get(sig) or texts["fix"]["other"]
        meaning = texts["signal"].get(sig, {"ko": sig, "en": sig})
        return CheckResult(component, False, seconds, signal=sig, exit_code=r.returncode,
                           message=texts["crashed"].format(**label, signal=sig, meaning_ko=meaning["ko"],
                                                           meaning_en=meaning["en"], fix=fix))
    last = (r.stdout.strip().splitlines() or [""])[-1]
    try:
        payload = json.loads(last)
    except ValueError:
        payload = {"error": (r.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    if r.returncode != 0 or "error" in payload:
        return CheckResult(component, False, seconds, exit_code=r.returncode, details=payload,
                           message=texts["failed"].format(**label, reason=payload.get("error", "?")))
    if libgomp:
        payload["libgomp_spincounts"] = waitpolicy.libgomp_spincounts(r.stderr)
    return CheckResult(component, True, seconds, exit_code=0, details=payload)


def child_argv(component: str, cfg: Config) -> list[str]:
    from rag import models
    if component == "llm":
        return [sys.executable, "-m", "rag.selfcheck", "--child", "llm", "--model", str(models.generator_path(cfg)),
                "--threads", str(cfg.n_threads)]
    return [sys.executable, "-m", "rag.selfcheck", "--child", "embedder", "--model",
            str(models.embedder_path(cfg)), "--backend", cfg.embed_backend, "--precision", cfg.embed_precision]


def serving_argv(cfg: Config, decode_tokens: int = TUNE_DECODE_TOKENS) -> list[str]:
    from rag import models
    return [sys.executable, "-m", "rag.selfcheck", "--child", "serving", "--model", str(models.generator_path(cfg)),
            "--threads", str(cfg.n_threads), "--embedder", str(models.embedder_path(cfg)), "--backend",
            cfg.embed_backend, "--precision", cfg.embed_precision, "--decode-tokens", str(decode_tokens)]


def measure_wait_policy(cfg: Config, rounds: int = TUNE_ROUNDS, decode_tokens: int = TUNE_DECODE_TOKENS) -> dict:
    """Decode under each wait policy, each round in a fresh child (libgomp reads its variables once), the policies'
    order alternating per round so a drifting machine hits both alike. Returns the record waitpolicy.save writes;
    raises RuntimeError naming the policy when a child fails or its libgomp did not run the policy it was given."""
    base = {k: v for k, v in os.environ.items() if k not in waitpolicy.KEYS}
    names = list(waitpolicy.POLICIES)
    samples: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            res = run_child("llm", serving_argv(cfg, decode_tokens), env={**base, **waitpolicy.POLICIES[name]},
                            libgomp=True)
            if not res.ok:
                raise RuntimeError(f"{name}: {res.message}")
            seen, want = res.details.get("libgomp_spincounts") or [], waitpolicy.expected_spincount(name)
            if not seen or any(c != want for c in seen):
                raise RuntimeError(f"{name}: libgomp reported GOMP_SPINCOUNT {seen}, expected {want}")
            samples[name].append(res.details)
    decode = {n: [s["decode_tok_s"] for s in v] for n, v in samples.items()}
    return {"policy": waitpolicy.choose(decode), "machine": waitpolicy.machine(), "measured": time.strftime("%Y-%m-%d"),
            "decode_tok_s": decode, "embed_s": {n: [s["embed_s"] for s in v] for n, v in samples.items()},
            "decode_tokens": decode_tokens, "rounds": rounds, "margin": waitpolicy.MARGIN,
            "build": build_info().get("key")}


def check_generation(cfg: Config) -> CheckResult:
    return run_child("llm", child_argv("llm", cfg))


def check_embedding(cfg: Config) -> CheckResult:
    return run_child("embedder", child_argv("embedder", cfg))


def run_all(cfg: Config) -> list[CheckResult]:
    out = []
    if not cfg.llm_url:                                   # a remote generator is checked by rag doctor over HTTP
        out.append(check_generation(cfg))
    out.append(check_embedding(cfg))
    return out


def _child_main(a: argparse.Namespace) -> int:
    try:
        if a.child == "llm":
            payload = probe_generation(a.model, a.threads)
        elif a.child == "serving":
            payload = _child_serving(a.model, a.threads, a.embedder, a.backend, a.precision, a.decode_tokens)
        else:
            payload = _child_embedder(a.model, a.backend, a.precision)
    except Exception as e:                                 # noqa: BLE001 - reported to the parent as JSON
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}, ensure_ascii=False))
        return 1
    print(json.dumps(payload, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rag.selfcheck")
    p.add_argument("--json", action="store_true")
    p.add_argument("--config")
    p.add_argument("--retune", action="store_true",
                   help="measure the OpenMP wait policy again even when this machine has a record")
    p.add_argument("--no-tune", action="store_true", help="do not measure the OpenMP wait policy")
    p.add_argument("--child", choices=("llm", "embedder", "serving"), help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument("--backend", default="torch", help=argparse.SUPPRESS)
    p.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    p.add_argument("--embedder", help=argparse.SUPPRESS)
    p.add_argument("--decode-tokens", type=int, default=TUNE_DECODE_TOKENS, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        return _child_main(a)
    from rag.models import ModelProvisionError
    texts = _texts()
    try:
        cfg = load_config(a.config)
        results = run_all(cfg)
    except ModelProvisionError as e:
        print(f"오류 / error: {e}", file=sys.stderr)
        return 2
    ok = all(r.ok for r in results)
    policy = tune(cfg, retune=a.retune) if ok and not a.no_tune and not cfg.llm_url else None
    if a.json:
        print(json.dumps({"ok": ok, "build": build_info(), "checks": [asdict(r) for r in results],
                          "wait_policy": policy}, ensure_ascii=False))
    for r in results:
        if r.ok:
            d = r.details
            # a cold start (the model just paged in, 2 tokens): proof that it runs, not a speed (rag doctor, eval/)
            extra = (f"{d['generated_tokens']} tokens, cold start {d['prefill_tok_s']}/{d['decode_tok_s']} tok/s "
                     f"prefill/decode, AMX {d['amx_in_use']}"
                     if r.component == "llm" else f"dim {d['dim']}")
            print(texts["passed"].format(**texts["component"][r.component], seconds=r.seconds, extra=extra),
                  file=sys.stderr if a.json else sys.stdout)
        else:
            print(r.message, file=sys.stderr)
    if policy:
        print(policy_message(policy), file=sys.stderr if a.json else sys.stdout)
    return 0 if ok else 3


def tune(cfg: Config, retune: bool = False, path: Path | None = None) -> dict:
    """This machine's wait-policy record: the one on file, or measured now and saved (retune: always measured).
    A failed measurement is reported in the result and saves nothing; `rag` then keeps the fallback."""
    path = path or waitpolicy.policy_file()
    rec = None if retune else waitpolicy.load(path)
    if rec:
        return {**rec, "status": "recorded", "path": str(path)}
    try:
        rec = measure_wait_policy(cfg)
    except RuntimeError as e:
        return {"status": "failed", "error": str(e), "policy": waitpolicy.FALLBACK, "path": str(path)}
    try:
        waitpolicy.save(rec, path)
    except OSError as e:
        # Nothing was saved, so `rag` runs the fallback: report that, not the policy just measured.
        return {**rec, "status": "unsaved", "error": f"{e.strerror}: {path}", "policy": waitpolicy.FALLBACK,
                "measured_policy": rec["policy"], "path": str(path)}
    return {**rec, "status": "measured", "path": str(path)}


def policy_message(policy: dict) -> str:
    t = _texts()["wait_policy"]
    if policy["status"] == "failed":
        return t["failed"].format(reason=policy["error"], fallback=policy["policy"])
    if policy["status"] == "unsaved":
        return t["unsaved"].format(measured=policy["measured_policy"], speeds=waitpolicy.decode_summary(policy),
                                   fallback=policy["policy"], reason=policy["error"])
    return t[policy["status"]].format(policy=policy["policy"], speeds=waitpolicy.decode_summary(policy),
                                      path=policy["path"],
                                      measured=policy.get("measured", "?"))


if __name__ == "__main__":
    sys.exit(main())
