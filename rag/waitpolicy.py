"""How OpenMP threads wait between parallel regions, chosen per machine: measured at install, applied by `rag`.

torch, faiss and this project's llama.cpp build each load a libgomp, which reads OMP_WAIT_POLICY and GOMP_SPINCOUNT
once, when it starts. Which setting is faster depends on the CPU and its hypervisor, and two machines of our kind
disagree: on an AMX Xeon (2 shared KVM cores) PASSIVE made llama.cpp decode 1.80x faster in a process that also holds
the embedder; on a Zen 4 EPYC (2 KVM cores) it made it 2x slower (eval/reports/embed-paths-bf16.md,
embed-paths-zen4-spin.md). So the install self-check (python -m rag.selfcheck) decodes under each policy in its own
child process and records the faster one for this machine in the environment's folder; `rag` applies it before
anything loads libgomp. A value the user set (either variable) wins; a machine without a record gets PASSIVE.

Only the standard library here: rag/cli.py imports this before torch, faiss or llama.cpp.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

# name -> the variables that select it. "spin" is libgomp's own default: spin 300,000 rounds, then sleep.
POLICIES: dict[str, dict[str, str]] = {"passive": {"OMP_WAIT_POLICY": "PASSIVE"}, "spin": {}}
KEYS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
FALLBACK = "passive"                # what `rag` set on every machine before this was measured
MARGIN = 1.10                       # another policy replaces the fallback only when its decode is this much faster
DEFAULT_FILE = Path(sys.prefix) / "rag-wait-policy.json"     # beside the llama.cpp build stamp: one per venv


def policy_file() -> Path:
    """Where the record lives: RAG_WAIT_POLICY_FILE (tests; an IT department's own location) or the venv's folder."""
    return Path(os.environ.get("RAG_WAIT_POLICY_FILE") or DEFAULT_FILE)


def machine(cpuinfo: str | None = None) -> dict:
    """What the measurement is valid for: the CPU model, its flags and how many cores this process may use. A venv
    copied to another machine, or a VM given more cores, measures again."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        k, sep, v = line.partition(":")
        if sep and k.strip() in ("model name", "flags") and k.strip() not in fields:
            fields[k.strip()] = v.strip()
    flags = " ".join(sorted(fields.get("flags", "").split()))
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return {"cpu": fields.get("model name", "unknown"), "cpus": cpus,
            "flags": hashlib.sha256(flags.encode()).hexdigest()[:12]}


def load(path: Path | None = None, here: dict | None = None) -> dict | None:
    """The record measured on this machine, or None (none yet, unreadable, unknown policy, another machine)."""
    path = path or policy_file()
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("policy") not in POLICIES:
        return None
    return rec if rec.get("machine") == (here or machine()) else None


def save(record: dict, path: Path | None = None) -> Path:
    """Write the record atomically (a reader never sees half a file)."""
    path = path or policy_file()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n")
    os.replace(tmp, path)
    return path


@dataclass
class Applied:
    policy: str                     # a POLICIES name, or "user"
    source: str                     # "user" | "measured" | "fallback"
    env: dict[str, str]             # the variables as this process now has them


def apply(environ: MutableMapping[str, str] | None = None, path: Path | None = None) -> Applied:
    """Set this machine's policy in `environ` (os.environ) unless the user set either variable. Call it before
    torch, faiss or llama_cpp is imported: libgomp reads the variables once, when it loads."""
    environ = os.environ if environ is None else environ
    if any(k in environ for k in KEYS):
        return Applied("user", "user", {k: environ[k] for k in KEYS if k in environ})
    rec = load(path)
    name = rec["policy"] if rec else FALLBACK
    environ.update(POLICIES[name])
    return Applied(name, "measured" if rec else "fallback", dict(POLICIES[name]))


def choose(decode: dict[str, list[float]]) -> str:
    """The policy to record from decode tok/s per policy (one value per round). Each policy's best round counts
    (interference on shared cores only slows a round down); another policy replaces the fallback only when it is
    MARGIN faster, so noise keeps what ran before."""
    best = {name: max(v) for name, v in decode.items() if v}
    if FALLBACK not in best:
        raise ValueError(f"no measurement of the fallback policy {FALLBACK!r}")
    winner = max(best, key=best.get)
    return winner if best[winner] >= MARGIN * best[FALLBACK] else FALLBACK


def decode_summary(record: dict) -> str:
    """"passive 8.7, spin 15.8": each policy's best decode tok/s in a record, for messages and reports."""
    return ", ".join(f"{n} {max(v)}" for n, v in record["decode_tok_s"].items())


def libgomp_spincounts(stderr: str) -> list[int]:
    """GOMP_SPINCOUNT as each libgomp that loaded reported it under OMP_DISPLAY_ENV=VERBOSE: what the threads really
    do (0 = PASSIVE), not what the environment asked."""
    out = []
    for line in stderr.splitlines():
        k, sep, v = line.strip().partition("=")
        if sep and k.strip() == "GOMP_SPINCOUNT":
            try:
                out.append(int(v.strip().strip("'")))
            except ValueError:
                pass
    return out


def expected_spincount(name: str) -> int:
    """What libgomp reports for a policy of POLICIES (libgomp's defaults: PASSIVE 0, unset 300,000)."""
    env = POLICIES[name]
    if env.get("OMP_WAIT_POLICY") == "PASSIVE":
        return 0
    return int(env.get("GOMP_SPINCOUNT", 300000))
