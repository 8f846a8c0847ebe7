"""`rag eval load --users N --duration S [--url http://127.0.0.1:PORT]`: a bounded load run.

N simulated users (at most 16) each ask questions one after another, each user starting at a different question, for
S seconds (at most 600); a request started before the deadline is always finished. Checked: every request answered,
answers arrive in order per user, none lost; reported: request latency, TTFT and the generator's queue wait
(Stats.queue_wait_ms) p50/p95, throughput.

Target: `rag serve` over HTTP, through its JSON API `/ask` (ui/app.py): the --url given (only 127.0.0.1 is allowed,
anything else is refused) or a server this run starts itself on a free 127.0.0.1 port over the eval index.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from eval import metrics
from rag.config import Config

MAX_USERS = 16
MAX_DURATION_S = 600.0


def check_local_url(url: str) -> str:
    """Only http(s)://127.0.0.1[:port] is accepted; any other host is refused (ValueError)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname != "127.0.0.1":
        raise ValueError(f"부하 시험은 127.0.0.1에만 보낼 수 있습니다 / load runs may only target 127.0.0.1, "
                         f"refused: {parts.hostname or url!r}")
    return f"{parts.scheme}://127.0.0.1" + (f":{parts.port}" if parts.port else "")


def bounded(users: int, duration: float) -> tuple[int, float, list[str]]:
    notes = []
    if users < 1 or duration <= 0:
        raise ValueError("--users ≥ 1, --duration > 0")
    if users > MAX_USERS:
        notes.append(f"users capped at {MAX_USERS} (asked {users})")
        users = MAX_USERS
    if duration > MAX_DURATION_S:
        notes.append(f"duration capped at {MAX_DURATION_S:.0f} s (asked {duration:g})")
        duration = MAX_DURATION_S
    return users, duration, notes


def simulate(ask, questions: list[str], users: int, duration: float, on_done=None) -> list[dict]:
    """Run `users` threads calling ask(question) -> dict until `duration` seconds have passed; one row per request
    (user, seq, start/end offsets, ok, error, and whatever ask returned)."""
    deadline = time.perf_counter() + duration
    t_start = time.perf_counter()
    rows: list[dict] = []
    sent = [0] * users
    lock = threading.Lock()

    def user(u: int) -> None:
        seq = 0
        while time.perf_counter() < deadline:
            q = questions[(u + seq) % len(questions)]
            sent[u] += 1
            t0 = time.perf_counter()
            row = {"user": u, "seq": seq, "start_s": t0 - t_start}
            try:
                row.update(ask(q))
                row["ok"] = True
            except Exception as e:               # noqa: BLE001 - counted and reported, the run goes on
                row.update(ok=False, error=type(e).__name__)
            row["end_s"] = time.perf_counter() - t_start
            row["latency_ms"] = (row["end_s"] - row["start_s"]) * 1000
            with lock:
                rows.append(row)
            if on_done:
                on_done(row)
            seq += 1

    threads = [threading.Thread(target=user, args=(u,), name=f"load-user-{u}", daemon=True) for u in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for u in range(users):
        rows.append({"user": u, "sent": sent[u], "summary": True})
    return rows


def check_rows(rows: list[dict], users: int) -> dict:
    """Every request answered, in order per user, none lost (rows as returned by simulate())."""
    sent = {r["user"]: r["sent"] for r in rows if r.get("summary")}
    reqs = [r for r in rows if not r.get("summary")]
    per_user = {u: [r for r in reqs if r["user"] == u] for u in range(users)}
    in_order = all([r["seq"] for r in sorted(rs, key=lambda r: r["end_s"])] == list(range(len(rs)))
                   for rs in per_user.values())
    n_sent = sum(sent.values())
    return {"sent": n_sent, "answered": sum(1 for r in reqs if r["ok"]), "lost": n_sent - len(reqs),
            "errors": sum(1 for r in reqs if not r["ok"]), "in_order_per_user": in_order,
            "per_user": {str(u): len(rs) for u, rs in per_user.items()}}


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(cfg: Config, index_dir: Path, timeout: float = 300.0):
    """`rag serve` as a child process on a free 127.0.0.1 port; returns (process, base url)."""
    import os
    import subprocess
    import urllib.request
    port = _free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(cfg.data_dir), "RAG_MODEL_CACHE_DIR": str(cfg.models_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "--index", str(index_dir), "serve", "--host",
                             "127.0.0.1", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`rag serve` exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return proc, url
        except OSError:
            time.sleep(1)
    proc.terminate()
    raise RuntimeError("`rag serve` did not start in time")


def http_asker(url: str):
    """ask(question) over the served JSON API (`/ask`, ui/app.py), one client per user thread."""
    from gradio_client import Client
    local = threading.local()

    def ask(q: str) -> dict:
        if not hasattr(local, "client"):
            local.client = Client(url + "/", verbose=False)
        a = local.client.predict(q, api_name="/ask")
        t = a["timings"]
        return {"queue_wait_ms": t.get("queue_wait_ms"), "ttft_ms": t.get("ttft_ms"), "refused": a["refused"],
                "completion_tokens": t.get("completion_tokens"), "llm_called": "generate_ms" in t}
    return ask


def run_load(cfg: Config, ds, corpus: Path | None, *, users: int, duration: float, url: str | None, out_dir: Path,
             name: str = "load", progress=None):
    """Load against `rag serve` over HTTP on 127.0.0.1: the given --url, or a server this run starts itself."""
    from eval import report as rep
    from eval.data import open_eval_index
    users, duration, notes = bounded(users, duration)
    index, embedder, emb_path, index_dir, _ = open_eval_index(cfg, corpus, progress)
    proc = None
    if url:
        base = check_local_url(url)
        notes.append(f"target: the running `rag serve` at {base} (JSON API /ask)")
    else:
        proc, base = start_server(cfg, index_dir)
        notes.append(f"target: `rag serve` started by this run at {base} over the eval index (JSON API /ask)")
    questions = [r["question"] for r in ds.items if r.get("followup_of") is None]
    ask = http_asker(base)
    try:
        ask(questions[0])                                             # warm-up, not counted
        bar = tqdm(desc="load", unit="req", file=sys.stderr)
        t0 = time.perf_counter()
        try:
            rows = simulate(ask, questions, users, duration, on_done=lambda r: bar.update(1))
        finally:
            bar.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
    wall = time.perf_counter() - t0
    chk = check_rows(rows, users)
    rows = [r for r in rows if not r.get("summary")]
    ok = [r for r in rows if r["ok"]]
    llm = [r for r in ok if r.get("llm_called")]
    m = {"users": users, "duration_s": duration, "wall_s": wall, **chk,
         "requests_per_min": len(ok) / wall * 60 if wall else None,
         "latency_ms_p50": metrics.percentile([r["latency_ms"] for r in ok], 50),
         "latency_ms_p95": metrics.percentile([r["latency_ms"] for r in ok], 95),
         "queue_wait_ms_p50": metrics.percentile([r["queue_wait_ms"] for r in llm], 50),
         "queue_wait_ms_p95": metrics.percentile([r["queue_wait_ms"] for r in llm], 95),
         "ttft_ms_p50": metrics.percentile([r["ttft_ms"] for r in llm], 50),
         "ttft_ms_p95": metrics.percentile([r["ttft_ms"] for r in llm], 95),
         "refused_before_llm": sum(1 for r in ok if not r.get("llm_called")),
         "target": base}
    md = load_markdown(m, notes)
    report = {"kind": "load", "metrics": m, "rows": rows, "notes": notes,
              "settings": {"users": users, "duration": duration, "url": url},
              "stamp": rep.stamp(cfg, index=index, index_dir=index_dir, dataset=ds, uses_generator=True,
                                 embedder_path=emb_path)}
    paths = rep.write_report(out_dir, name, report, md, load_figures(rows))
    return {**report, "name": name}, md, paths


def load_markdown(m: dict, notes: list[str]) -> str:
    from eval.report import table
    keys = ["users", "duration_s", "wall_s", "sent", "answered", "lost", "errors", "in_order_per_user",
            "requests_per_min", "latency_ms_p50", "latency_ms_p95", "queue_wait_ms_p50", "queue_wait_ms_p95",
            "ttft_ms_p50", "ttft_ms_p95", "refused_before_llm", "target"]
    return "\n".join([f"# Load: {m['users']} users for {m['duration_s']:g} s", "",
                      table(["measure", "value"], [[k, m[k]] for k in keys], 1), "", *[f"- {n}" for n in notes]])


def load_figures(rows: list[dict]) -> dict:
    from eval.report import figure
    ok = [r for r in rows if r["ok"] and r.get("queue_wait_ms") is not None]
    if not ok:
        return {}
    fig, ax = figure("Queue wait per request over the run", "request start (s)", "queue wait (s)")
    users = sorted({r["user"] for r in ok})
    for u in users:
        rs = [r for r in ok if r["user"] == u]
        ax.plot([r["start_s"] for r in rs], [r["queue_wait_ms"] / 1000 for r in rs], marker="o", ls="", ms=4,
                label=f"user {u}")
    if len(users) <= 8:
        ax.legend(fontsize=7)
    return {"queue-wait": fig}
