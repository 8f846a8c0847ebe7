"""Candidate llama.cpp builds side by side: prefill and decode tokens/s of the default GGUF, one run, interleaved.

    .venv/bin/python -m eval.bench_llama_build --variants cpu,avx2,native-noamx,native --rounds 3

Each variant's wheel is built (or reused) by scripts/llama_build.py with its own flags; its shared libraries are
unpacked into a scratch folder and loaded by a child process through llama-cpp-python's LLAMA_CPP_LIB_PATH, so the
Python side is the same for all and only the native code differs. Rounds are interleaved (the order rotates every
round) so that a machine whose speed drifts does not favour one variant; ratios are against the default variant
("cpu") measured in the same run. A child killed by a signal (the native build on a CPU that reports AMX) is
recorded as such. Writes eval/reports/llama-build.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import llama_build  # noqa: E402  (scripts/ is not a package: a stdlib-only script that setup.sh runs)

PREFILL_TOKENS = 480
DECODE_TOKENS = 64


def _child(model: str, threads: int, text_file: str) -> dict:
    from rag.selfcheck import probe_generation
    out = probe_generation(model, threads, Path(text_file).read_text(encoding="utf-8"), PREFILL_TOKENS,
                           DECODE_TOKENS, n_ctx=1024)
    out["prefill_tokens"] = out["prompt_tokens"]
    return out


def probe_text() -> str:
    """The project's own sample documents (samples/, written by this project), joined: realistic Korean text."""
    parts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "samples").glob("*.md"))]
    return "\n\n".join(parts) * 3


def unpack_libs(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith("llama_cpp/lib/"):
                zf.extract(name, dest)
    return dest / "llama_cpp" / "lib"


def amx_in_libs(lib_dir: Path) -> list[str]:
    found: set[str] = set()
    for lib in lib_dir.glob("*.so*"):
        found |= set(llama_build.amx_instructions(lib))
    return sorted(found)


def run_one(lib_dir: Path, model: str, threads: int, text_file: str, timeout: float = 600) -> dict:
    """One measurement in a child process that loads the variant's libraries (a signal is recorded, not fatal)."""
    from rag.selfcheck import run_child
    cmd = [sys.executable, "-m", "eval.bench_llama_build", "--child", "--model", model, "--threads", str(threads),
           "--text", text_file]
    res = run_child("llm", cmd, timeout, env=dict(os.environ, LLAMA_CPP_LIB_PATH=str(lib_dir)))
    if res.signal:
        return {"ok": False, "signal": res.signal}
    if not res.ok:
        return {"ok": False, "error": res.details.get("error") or res.message}
    return {"ok": True, **res.details}


def cpu_description() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    flags = llama_build.cpu_flags()
    interesting = sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "f16c", "bmi2")))
    return {"model": model, "cores": os.cpu_count(), "flags": interesting}


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def markdown(rep: dict) -> str:
    base = rep["baseline"]
    rows = []
    for v, r in rep["variants"].items():
        ok = [x for x in r["runs"] if x["ok"]]
        failed = [x.get("signal") or x.get("error") for x in r["runs"] if not x["ok"]]
        pre = [x["prefill_tok_s"] for x in ok]
        dec = [x["decode_tok_s"] for x in ok]
        ratio_p = [x for x in r.get("prefill_ratio", [])]
        ratio_d = [x for x in r.get("decode_ratio", [])]

        def fmt(xs):
            return f"{_median(xs):.1f} ({min(xs):.1f}–{max(xs):.1f})" if xs else "—"

        def fr(xs):
            return f"{_median(xs):.2f}" if xs else "—"
        status = "ok" if ok and not failed else ("crashed: " + ", ".join(sorted(set(map(str, failed)))))
        rows.append(f"| {v}{' (default)' if v == base else ''} | {', '.join(r['amx_instructions']) or 'none'} "
                    f"| {fmt(pre)} | {fmt(dec)} | {fr(ratio_p)} | {fr(ratio_d)} | {status} |")
    cpu = rep["cpu"]
    runnable = {v: r for v, r in rep["variants"].items()
                if not r["amx_instructions"] and r["runs"] and all(x["ok"] for x in r["runs"])}
    best = max(runnable, key=lambda v: _median(runnable[v].get("prefill_ratio", [])) or 0) if runnable else None
    decision = (f"Decision: `{base}` stays the default" if best == base or (
        best and (_median(runnable[best]["prefill_ratio"]) or 0) < 1.05) else f"Decision: `{best}` is faster")
    lines = [
        "# llama.cpp build candidates: prefill and decode speed of the default GGUF", "",
        f"Command: `{rep['command']}`", "",
        f"Machine: {cpu['model']}, {cpu['cores']} cores; CPU flags (SIMD): {' '.join(cpu['flags'])}", "",
        f"Model: {rep['model']}; {rep['threads']} threads; prefill of {PREFILL_TOKENS} tokens in one batch, then "
        f"{DECODE_TOKENS} greedy decode steps; {rep['rounds']} interleaved rounds (order rotates each round). "
        f"Figures: median (min–max) tokens/s; ratios: per round against `{base}` measured in the same round, "
        f"median.", "",
        "| variant | AMX instructions in the libraries (objdump) | prefill tok/s | decode tok/s | prefill ratio "
        "| decode ratio | status |",
        "|---|---|---|---|---|---|---|", *rows, "",
        decision + (": the fastest build without AMX instructions that ran every round (within 5 % of the best "
                    "prefill ratio), with explicit flags from /proc/cpuinfo so that nothing the compiler infers can "
                    "add an instruction; AMX cannot be \"made safe\" by measurement here because every build that "
                    "contains it dies before the first token.") if best else "No candidate ran.", "",
        "CMake flags per variant:", "",
        *[f"- `{v}`: `{' '.join(r['cmake_args'])}`" for v, r in rep["variants"].items()], "",
        *[f"- {n}" for n in rep.get("notes", [])],
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bench_llama_build", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", default="cpu,avx2,native-noamx,native")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "eval" / "reports" / "llama-build"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--text", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(_child(a.model, a.threads, a.text)))
        return 0
    from rag.config import load_config
    from rag.models import generator_path
    model = str(generator_path(load_config()))
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    base = llama_build.DEFAULT_VARIANT if llama_build.DEFAULT_VARIANT in variants else variants[0]
    flags = llama_build.cpu_flags()
    rep: dict = {"command": "python -m eval.bench_llama_build " + " ".join(argv if argv is not None else sys.argv[1:]),
                 "cpu": cpu_description(), "model": Path(model).name, "threads": a.threads, "rounds": a.rounds,
                 "baseline": base, "variants": {}, "notes": []}
    with tempfile.TemporaryDirectory(prefix="llama-bench-") as tmp:
        text_file = Path(tmp) / "probe.txt"
        text_file.write_text(probe_text(), encoding="utf-8")
        libs: dict[str, Path] = {}
        for v in variants:
            wheel, args, key = llama_build.build_wheel(v, sys.executable)
            libs[v] = unpack_libs(wheel, Path(tmp) / v)
            rep["variants"][v] = {"cmake_args": args, "key": key, "amx_instructions": amx_in_libs(libs[v]),
                                  "runs": []}
        for r in range(a.rounds):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for v in order:
                res = run_one(libs[v], model, a.threads, str(text_file))
                res["round"] = r
                rep["variants"][v]["runs"].append(res)
                print(f"round {r} {v}: " + (f"prefill {res['prefill_tok_s']:.1f} tok/s, decode "
                                            f"{res['decode_tok_s']:.1f} tok/s" if res["ok"] else
                                            f"FAILED {res.get('signal') or res.get('error')}"), flush=True)
    for v, r in rep["variants"].items():
        for kind in ("prefill", "decode"):
            ratios = []
            for x in r["runs"]:
                b = next((y for y in rep["variants"][base]["runs"] if y["round"] == x["round"]), None)
                if x["ok"] and b and b["ok"]:
                    ratios.append(x[f"{kind}_tok_s"] / b[f"{kind}_tok_s"])
            r[f"{kind}_ratio"] = ratios
    if "amx_tile" in flags:
        rep["notes"].append("This CPU reports amx_tile/amx_int8: a variant whose libraries contain AMX instructions "
                            "is the configuration that crashed on the first generation.")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rep, indent=1, ensure_ascii=False), encoding="utf-8")
    md = markdown(rep)
    out.with_suffix(".md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
