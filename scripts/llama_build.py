"""Build and install llama-cpp-python with CPU flags that cannot fault on this machine (stdlib only; run by setup.sh).

Why: PyPI ships llama-cpp-python as a source package whose default build uses GGML_NATIVE (-march=native). On a
Xeon that reports AMX this compiles ggml's AMX kernels, and on this project's machines (KVM guests reporting
amx_tile/amx_int8) the first generation dies with SIGILL on an AMX tile instruction (`tilezero`), even though
strace shows the kernel granting the AMX permission request (ARCH_REQ_XCOMP_PERM returns 0) in the faulting thread;
upstream discusses a permission race in ggml-org/llama.cpp PR #26954. The cause below the instruction is not
established here; what is: a build with no AMX instruction in it cannot take that fault
(eval/reports/llama-build.md reproduces the crash and measures the candidates).

What: the flags come from /proc/cpuinfo, one GGML_* option per instruction set the CPU reports, AMX always off and
GGML_NATIVE off (so the compiler adds nothing we did not ask for). The wheel is built with pip's cache off and
kept in our own cache under a key of (version, flags, compiler): a wheel built with other flags is never reused.
After installing, every shared library is scanned for AMX instructions and a stamp with the key and the
libraries' SHA-256 is written into the venv; `verify` compares them so a later pip step that silently rebuilt
llama-cpp-python with its own defaults is caught.

    python scripts/llama_build.py ensure  --python .venv/bin/python [--variant cpu]
    python scripts/llama_build.py wheel   --variant avx2     # build (or reuse) the wheel only, print its path
    python scripts/llama_build.py verify  --python .venv/bin/python
    python scripts/llama_build.py flags   [--variant V]      # print the CMAKE_ARGS and the key

Variants (measured against each other in eval/reports/llama-build.md):
    cpu           every instruction set the CPU reports, AMX off (default)
    avx2          AVX2/FMA/F16C/BMI2 only (no AVX-512)
    native-noamx  -march=native with AMX switched off (-mno-amx-*)
    native        pip's default build (-march=native, AMX on where the CPU reports it) - the one that crashes
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.3.36"
STAMP_NAME = "llama-cpp-build.json"
# AMX mnemonics as objdump prints them; none may appear in an installed library
AMX_MNEMONICS = re.compile(r"\b(ldtilecfg|sttilecfg|tilerelease|tilezero|tileloadd|tileloaddt1|tilestored|"
                           r"tdpb[su][su]d|tdpbf16ps|tdpfp16ps)\b")

# GGML option -> the /proc/cpuinfo flags that must all be present
FEATURES: dict[str, tuple[str, ...]] = {
    "GGML_SSE42": ("sse4_2",),
    "GGML_AVX": ("avx",),
    "GGML_AVX2": ("avx2",),
    "GGML_FMA": ("fma",),
    "GGML_F16C": ("f16c",),
    "GGML_BMI2": ("bmi2",),
    "GGML_AVX_VNNI": ("avx_vnni",),
    "GGML_AVX512": ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"),
    "GGML_AVX512_VBMI": ("avx512vbmi",),
    "GGML_AVX512_VNNI": ("avx512_vnni",),
    "GGML_AVX512_BF16": ("avx512_bf16",),
}
AVX512_OPTIONS = ("GGML_AVX512", "GGML_AVX512_VBMI", "GGML_AVX512_VNNI", "GGML_AVX512_BF16", "GGML_AVX_VNNI")
AMX_OFF = ["-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]
VARIANTS = ("cpu", "avx2", "native-noamx", "native")
DEFAULT_VARIANT = "cpu"


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    text = cpuinfo if cpuinfo is not None else Path("/proc/cpuinfo").read_text(errors="replace")
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cmake_args(variant: str, flags: set[str]) -> list[str]:
    """The CMAKE_ARGS for one variant on a CPU with these flags. Deterministic: the same inputs, the same list."""
    common = ["-DLLAVA_BUILD=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF"]
    if variant == "native":
        return common + ["-DGGML_NATIVE=ON"]
    if variant == "native-noamx":
        no_amx = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
        return common + ["-DGGML_NATIVE=ON", *AMX_OFF, f"-DCMAKE_C_FLAGS={no_amx}", f"-DCMAKE_CXX_FLAGS={no_amx}"]
    if variant not in ("cpu", "avx2"):
        raise SystemExit(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    out = common + ["-DGGML_NATIVE=OFF", *AMX_OFF]
    for option, needs in FEATURES.items():
        on = all(f in flags for f in needs) and not (variant == "avx2" and option in AVX512_OPTIONS)
        out.append(f"-D{option}={'ON' if on else 'OFF'}")
    return out


def _compiler_id() -> str:
    try:
        return subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def build_key(args: list[str]) -> str:
    blob = json.dumps({"version": VERSION, "cmake_args": args, "compiler": _compiler_id()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def wheel_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "seoul-policy-rag" / "llama-wheels"


def say(msg: str) -> None:
    print(msg, flush=True)


def build_wheel(variant: str, python: str) -> tuple[Path, list[str], str]:
    args = cmake_args(variant, cpu_flags())
    key = build_key(args)
    dest = wheel_cache() / f"{VERSION}-{variant}-{key}"
    found = sorted(dest.glob("llama_cpp_python-*.whl")) if dest.is_dir() else []
    if found:
        say(f"    llama-cpp-python {VERSION} [{variant}] 빌드 재사용 / reusing the wheel built with these flags: {key}")
        return found[0], args, key
    say(f"==> llama-cpp-python {VERSION}을 소스에서 컴파일합니다 (2코어에서 5–9분) / compiling from source, "
        f"5-9 minutes on 2 cores\n    variant {variant}, key {key}\n    CMAKE_ARGS={' '.join(args)}")
    env = dict(os.environ, CMAKE_ARGS=shlex.join(args), FORCE_CMAKE="1",
               CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 2))
    env.pop("PIP_FIND_LINKS", None)
    with tempfile.TemporaryDirectory(prefix="llama-wheel-") as tmp:
        cmd = [python, "-m", "pip", "--disable-pip-version-check", "wheel", "--no-deps", "--no-cache-dir",
               "--no-binary", "llama-cpp-python", f"llama-cpp-python=={VERSION}", "-w", tmp]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stdout[-4000:] + r.stderr[-4000:])
            raise SystemExit("오류: llama-cpp-python 컴파일 실패 (위 로그) / error: building llama-cpp-python failed")
        built = sorted(Path(tmp).glob("llama_cpp_python-*.whl"))
        if not built:
            raise SystemExit("오류: 빌드가 wheel을 만들지 않았습니다 / error: the build produced no wheel")
        # scan before caching: a wheel with AMX code is never kept (the native variant is kept only for benchmarks)
        if variant != "native":
            hits = amx_in_wheel(built[0])
            if hits:
                raise SystemExit(f"오류: 빌드 결과에 AMX 명령이 있습니다 / error: the build contains AMX instructions: {hits}")
        dest.mkdir(parents=True, exist_ok=True)
        part = dest / (built[0].name + ".part")
        shutil.copy2(built[0], part)
        part.replace(dest / built[0].name)     # atomic: an interrupted copy never looks like a wheel
        (dest / "cmake_args.json").write_text(json.dumps({"variant": variant, "cmake_args": args}, indent=1))
    return sorted(dest.glob("llama_cpp_python-*.whl"))[0], args, key


def required_cpu_flags(variant: str, flags: set[str]) -> list[str]:
    """The /proc/cpuinfo flags a build of this variant made on a CPU with `flags` needs at run time (native builds:
    every SIMD flag of the build machine, since -march=native may use any of them)."""
    if variant.startswith("native"):
        return sorted(f for f in flags if f.startswith(("avx", "fma", "f16c", "bmi", "sse4")) and
                      not (variant == "native-noamx" and f.startswith("amx")))
    args = set(cmake_args(variant, flags))
    return sorted({f for option, needs in FEATURES.items() if f"-D{option}=ON" in args for f in needs})


def amx_instructions(lib: Path) -> list[str]:
    """AMX mnemonics in a shared library's disassembly (objdump from binutils, which gcc needs anyway)."""
    if shutil.which("objdump") is None:
        raise SystemExit("오류: objdump가 없습니다 (binutils 설치) / error: objdump not found (install binutils)")
    r = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"오류: objdump가 {lib}을 읽지 못했습니다 / error: objdump failed on {lib}")
    return sorted(set(AMX_MNEMONICS.findall(r.stdout)))


def amx_in_wheel(wheel: Path) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="llama-scan-") as tmp, zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if ".so" in Path(name).name:
                zf.extract(name, tmp)
                found = amx_instructions(Path(tmp) / name)
                if found:
                    hits[Path(name).name] = found
    return hits


def installed_libs(python: str) -> list[Path]:
    code = "import importlib.util,pathlib;s=importlib.util.find_spec('llama_cpp');print(pathlib.Path(s.origin).parent)"
    r = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if r.returncode != 0:
        return []
    return sorted(p for p in (Path(r.stdout.strip()) / "lib").glob("*.so*") if p.is_file())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stamp_path(python: str) -> Path:
    # not resolve(): a venv's python is a symlink to the base interpreter
    return Path(python).absolute().parent.parent / STAMP_NAME


def verify(python: str, variant: str | None = None) -> str | None:
    """None when the installed llama-cpp-python is the one we built with the chosen flags, else the reason."""
    stamp = stamp_path(python)
    if not stamp.is_file():
        return "no build stamp (llama-cpp-python was not installed by this script)"
    try:
        s = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return "unreadable build stamp"
    want_variant = variant or s.get("variant", DEFAULT_VARIANT)
    want_key = build_key(cmake_args(want_variant, cpu_flags()))
    if s.get("key") != want_key:
        return f"built with other flags (key {s.get('key')}, want {want_key} for variant {want_variant})"
    libs = installed_libs(python)
    if not libs:
        return "llama_cpp is not importable"
    now = {p.name: _sha(p) for p in libs}
    if now != s.get("libs"):
        return "the installed libraries differ from the ones this script built (another pip step replaced them)"
    return None


def _stamped_variant(python: str) -> str | None:
    try:
        v = json.loads(stamp_path(python).read_text()).get("variant")
    except (OSError, ValueError):
        return None
    return v if v in VARIANTS and v != "native" else None


def ensure(python: str, variant: str) -> None:
    reason = verify(python, variant)
    if reason is None:
        stamp = json.loads(stamp_path(python).read_text())
        if "requires_cpu_flags" not in stamp:            # stamps written before this field
            stamp["requires_cpu_flags"] = required_cpu_flags(variant, cpu_flags())
            stamp_path(python).write_text(json.dumps(stamp, indent=1, ensure_ascii=False))
        say(f"    llama-cpp-python {VERSION} [{variant}]: 이미 올바른 빌드 / already the right build")
        return
    say(f"    llama-cpp-python 설치 필요 / install needed: {reason}")
    wheel, args, key = build_wheel(variant, python)
    r = subprocess.run([python, "-m", "pip", "--disable-pip-version-check", "install", "-q", "--no-cache-dir",
                        "--force-reinstall", "--no-deps", str(wheel)])
    if r.returncode != 0:
        raise SystemExit("오류: llama-cpp-python 설치 실패 / error: installing llama-cpp-python failed")
    libs = installed_libs(python)
    if not libs:
        raise SystemExit("오류: 설치 뒤에도 llama_cpp를 찾을 수 없습니다 / error: llama_cpp not found after install")
    if variant != "native":
        for lib in libs:
            hits = amx_instructions(lib)
            if hits:
                raise SystemExit(f"오류: {lib.name}에 AMX 명령 {hits} / error: AMX instructions in {lib.name}")
    stamp_path(python).write_text(json.dumps(
        {"version": VERSION, "variant": variant, "key": key, "cmake_args": args, "wheel": str(wheel),
         "requires_cpu_flags": required_cpu_flags(variant, cpu_flags()),
         "libs": {p.name: _sha(p) for p in libs}}, indent=1, ensure_ascii=False))
    say(f"    llama-cpp-python {VERSION} [{variant}] 설치, AMX 명령 없음 확인 / installed, no AMX instructions")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("ensure", "wheel", "verify", "flags"))
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--variant", default=os.environ.get("RAG_LLAMA_VARIANT") or None, choices=VARIANTS)
    a = p.parse_args(argv)
    if a.action == "flags":
        args = cmake_args(a.variant or DEFAULT_VARIANT, cpu_flags())
        print(json.dumps({"variant": a.variant or DEFAULT_VARIANT, "key": build_key(args), "cmake_args": args}))
    elif a.action == "wheel":
        print(build_wheel(a.variant or DEFAULT_VARIANT, a.python)[0])
    elif a.action == "verify":
        reason = verify(a.python, a.variant)
        print("ok" if reason is None else f"mismatch: {reason}")
        return 0 if reason is None else 1
    else:
        if a.variant == "native":
            raise SystemExit("the native variant is for benchmarks only: it crashes on CPUs that report AMX")
        # sticky: a machine set up once with RAG_LLAMA_VARIANT=avx2 keeps that build on the next setup run
        ensure(a.python, a.variant or _stamped_variant(a.python) or DEFAULT_VARIANT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
