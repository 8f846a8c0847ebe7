"""`rag eval load --users N --duration S [--url http://127.0.0.1:PORT]`: a bounded load run that can fail.

N simulated users (at most 16) ask questions one after another for S seconds (at most 600); a request started before
the deadline is always finished. Every request carries a client-made id (`<run tag>-u<user>-s<seq>-<uuid4 hex>`) that
the server (`api_ask` in ui/app.py) records when the request starts (`ask_start`, with its own sequence number) and
with the answer (`ask`) in its audit log, and echoes in the reply. Mixed in:

- abandoning users (the last `abandoners`, default N//4 and at least one when N ≥ 2): every other request they send
  is dropped 1-10 s after sending, mid-answer, by closing the connection;
- bursts (default 3, at 0, S/3, 2S/3): every user waits at a barrier once its current request is done, and all
  send at the same instant. A barrier that has not filled by the deadline is broken and reported as such.

After the run the server's own audit.jsonl (the server this run starts writes to a data dir the run chose; for
--url, `server_log=` names it, else the cross-check is reported as not possible) is read and every request is
checked against it (cross_check):

    lost        a connected request with no answer record at the server, or answered there without the reply
                (carrying its own id) reaching the client
    duplicated  a request id recorded more than once (started or answered)
    reordered   per user, a request the server started before the one the user had sent before it
    errors      connected requests whose client saw an error (server error event, HTTP failure, timeout)

Abandoned requests are never counted as lost: the report says how many the server still completed (gradio lets a
running API function finish; only the reply is dropped), how many it started but never answered (cancelled), and how
many never reached it. Reported as well: the server's and the clients' answered counts, latency, TTFT, the
generator's queue wait (Stats.queue_wait_ms) and the delay from a client's send to the server's start record.

Only 127.0.0.1 is ever targeted; every loop is bounded in time (deadline, per-request and settle timeouts) and count.
"""
from __future__ import annotations

import http.client
import json
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from eval import metrics
from rag.config import PROJECT_ROOT, Config

MAX_USERS = 16
MAX_DURATION_S = 600.0
MAX_BURSTS = 10
MAX_REQUESTS_PER_USER = 2000          # a refusal without the LLM takes ~0.1 s: bounded in count as well as in time
REQUEST_TIMEOUT_S = 1800.0            # one request, send to reply, whatever the queue
READ_TIMEOUT_S = 60.0                 # no byte for this long (the server sends a heartbeat every 15 s): dead stream
SETTLE_TIMEOUT_S = 900.0              # after the run: the server finishing the abandoned requests it still holds
ABANDON_AFTER_S = (1.0, 10.0)
API_PATH = "/gradio_api/call/ask"
EXAMPLES = 10                         # request ids listed per problem in the report


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


def default_abandoners(users: int) -> int:
    return max(1, users // 4) if users >= 2 else 0


def abandon_after(user: int, seq: int, users: int, abandoners: int,
                  within: tuple[float, float] = ABANDON_AFTER_S) -> float | None:
    """Seconds after sending at which this request is dropped, or None: the last `abandoners` users drop every
    other request (even seq), after `within` seconds, 1-10 s by default (fixed per user and seq, so a run can be
    repeated)."""
    if user < users - abandoners or seq % 2:
        return None
    lo, hi = within
    return lo + (user * 7 + seq * 3) % int(hi - lo + 1)


def make_request_id(tag: str, user: int, seq: int) -> str:
    return f"{tag}-u{user:02d}-s{seq:04d}-{uuid.uuid4().hex[:12]}"


# ------------------------------------------------------------------------------------------------ one request

class ServerError(RuntimeError):
    """The server answered the request with an error event."""


def http_sender(base: str, api_path: str = API_PATH):
    """send(question, request_id, abandon_after) over the served JSON API (api_ask in ui/app.py): POST the call,
    then read its event stream until the reply ("complete") or an error; with `abandon_after`, close the connection
    that many seconds after sending unless the reply came first. Returns {"reply": dict | None, "abandoned": bool}."""
    parts = urlsplit(check_local_url(base))
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection

    def send(question: str, request_id: str, abandon: float | None = None) -> dict:
        conn = conn_class("127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80), timeout=30)
        t0 = time.monotonic()
        try:
            conn.request("POST", api_path, json.dumps({"data": [question, request_id]}),
                         {"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise ConnectionError(f"POST {api_path}: HTTP {resp.status}")
            event_id = json.loads(body)["event_id"]
            conn.request("GET", f"{api_path}/{event_id}")
            sock = conn.sock
            resp = conn.getresponse()
            if resp.status != 200:
                raise ConnectionError(f"GET {api_path}/…: HTTP {resp.status}")
            event = None
            while True:
                now = time.monotonic()
                limit = min(READ_TIMEOUT_S, t0 + REQUEST_TIMEOUT_S - now)
                if abandon is not None:
                    limit = min(limit, t0 + abandon - now)
                    if limit <= 0:
                        return {"reply": None, "abandoned": True}
                if limit <= 0:
                    raise TimeoutError(f"no reply within {REQUEST_TIMEOUT_S:.0f} s")
                sock.settimeout(limit)
                try:
                    line = resp.readline()
                except TimeoutError:
                    if abandon is not None and time.monotonic() >= t0 + abandon - 0.01:
                        return {"reply": None, "abandoned": True}
                    raise
                if not line:
                    raise ConnectionError("the event stream ended without a reply")
                line = line.decode("utf-8").rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "complete":
                    data = json.loads(line[5:])
                    return {"reply": data[0] if isinstance(data, list) and data else data, "abandoned": False}
                elif line.startswith("data:") and event == "error":
                    raise ServerError("the server answered with an error")
        finally:
            conn.close()                     # for an abandoned request: the disconnect the server sees
    return send


def reply_fields(reply: dict | None) -> dict:
    if not isinstance(reply, dict):
        return {"reply_request_id": None}
    t = reply.get("timings") or {}
    return {"reply_request_id": reply.get("request_id"), "queue_wait_ms": t.get("queue_wait_ms"),
            "ttft_ms": t.get("ttft_ms"), "completion_tokens": t.get("completion_tokens"),
            "refused": reply.get("refused"), "llm_called": "generate_ms" in t}


# ------------------------------------------------------------------------------------------------ the users

def simulate(send, questions: list[str], users: int, duration: float, *, abandoners: int = 0, bursts: int = 1,
             tag: str = "load", on_done=None, abandon_within: tuple[float, float] = ABANDON_AFTER_S
             ) -> tuple[list[dict], list[dict]]:
    """Run `users` threads calling send(question, request_id, abandon_after) -> {"reply", "abandoned"} until
    `duration` seconds have passed. Burst k (k < bursts) is due at duration*k/bursts: each user, once its current
    request is done, waits at that burst's barrier, and all send together. Returns (one row per request sent, one
    record per burst). Times: `start_s`/`end_s` from the run's start, `sent_mono_ms` on the monotonic clock (the
    server's `mono_ms` is on the same clock: same machine)."""
    bursts = max(1, min(bursts, MAX_BURSTS))
    t_start = time.monotonic()
    deadline = t_start + duration
    burst_at = [duration * k / bursts for k in range(bursts)]
    barriers = [threading.Barrier(users) for _ in burst_at]
    burst_log = [{"burst": k, "due_s": at, "released_s": []} for k, at in enumerate(burst_at)]
    rows: list[dict] = []
    lock = threading.Lock()

    def user(u: int) -> None:
        seq, k = 0, 0
        try:
            while time.monotonic() < deadline and seq < MAX_REQUESTS_PER_USER:
                burst = None
                if k < len(barriers) and time.monotonic() - t_start >= burst_at[k]:
                    try:
                        barriers[k].wait(timeout=max(0.01, deadline - time.monotonic()))
                        burst = k
                        with lock:
                            burst_log[k]["released_s"].append(time.monotonic() - t_start)
                    except threading.BrokenBarrierError:
                        pass
                    k += 1
                    if time.monotonic() >= deadline:
                        break
                q = questions[(u + seq) % len(questions)]
                rid = make_request_id(tag, u, seq)
                ab = abandon_after(u, seq, users, abandoners, abandon_within)
                t0 = time.monotonic()
                row = {"request_id": rid, "user": u, "seq": seq, "burst": burst, "abandon_after_s": ab,
                       "start_s": t0 - t_start, "sent_mono_ms": t0 * 1000, "error": None}
                try:
                    res = send(q, rid, ab)
                    row["abandoned"] = bool(res.get("abandoned"))
                    row["outcome"] = "abandoned" if row["abandoned"] else "answered"
                    row.update(reply_fields(res.get("reply")))
                except Exception as e:           # noqa: BLE001 - counted and reported, the run goes on
                    row.update(abandoned=False, outcome="error", error=type(e).__name__, reply_request_id=None)
                row["ok"] = row["outcome"] == "answered"
                row["end_s"] = time.monotonic() - t_start
                row["latency_ms"] = (row["end_s"] - row["start_s"]) * 1000
                with lock:
                    rows.append(row)
                if on_done:
                    on_done(row)
                seq += 1
        finally:
            for b in barriers[k:]:               # nobody waits for a user who has stopped
                b.abort()

    threads = [threading.Thread(target=user, args=(u,), name=f"load-user-{u}", daemon=True) for u in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows.sort(key=lambda r: (r["user"], r["seq"]))
    for b in burst_log:
        rel = b.pop("released_s")
        sent = [r for r in rows if r["burst"] == b["burst"]]
        b.update(users=len(rel), broken=len(rel) < users, released_s=min(rel) if rel else None,
                 sent=len(sent), send_spread_ms=((max(r["sent_mono_ms"] for r in sent)
                                                  - min(r["sent_mono_ms"] for r in sent)) if sent else None))
    return rows, burst_log


# ------------------------------------------------------------------------------------------------ the server's record

def read_server_log(path: Path) -> list[dict]:
    """The audit log's `ask_start` and `ask` records that carry a request id (a torn last line is skipped)."""
    out = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and rec.get("kind") in ("ask_start", "ask") and rec.get("request_id"):
            out.append(rec)
    return out


def in_flight(server_log: list[dict], ids: set[str]) -> set[str]:
    started = {r["request_id"] for r in server_log if r["kind"] == "ask_start" and r["request_id"] in ids}
    return started - {r["request_id"] for r in server_log if r["kind"] == "ask"}


def wait_until_settled(path: Path, ids: set[str], timeout: float = SETTLE_TIMEOUT_S, alive=lambda: True,
                       grace: float = 3.0) -> tuple[list[dict], float]:
    """Poll the server log until none of `ids` is started-but-unanswered (abandoned requests the server still works
    on), for at most `timeout` s or while alive(); returns (records, seconds waited)."""
    t0 = time.monotonic()
    while True:
        log = read_server_log(path)
        if not in_flight(log, ids):
            time.sleep(grace)                    # a start that was on its way
            log = read_server_log(path)
            if not in_flight(log, ids):
                return log, time.monotonic() - t0
        if time.monotonic() - t0 > timeout or not alive():
            return log, time.monotonic() - t0
        time.sleep(1.0)


def _examples(ids) -> list[str]:
    return sorted(ids)[:EXAMPLES]


def cross_check(rows: list[dict], server_log: list[dict], prefix: str | None = None) -> dict:
    """Client rows (simulate) against the server's records (read_server_log): the counts described in the module
    docstring, each with up to EXAMPLES request ids. `prefix` (the run's id prefix) finds records of ids no client
    sent."""
    sent = {r["request_id"]: r for r in rows}
    starts: dict[str, list[dict]] = defaultdict(list)
    answers: dict[str, list[dict]] = defaultdict(list)
    unknown = set()
    for rec in server_log:
        rid = rec.get("request_id")
        if rid not in sent:
            if prefix and isinstance(rid, str) and rid.startswith(prefix):
                unknown.add(rid)
            continue
        (starts if rec.get("kind") == "ask_start" else answers)[rid].append(rec)
    connected = [r for r in rows if not r.get("abandoned")]
    abandoned = [r for r in rows if r.get("abandoned")]

    def served(rid: str) -> bool:                # answered by the server without an error
        return any(a.get("error") is None for a in answers[rid])

    def delivered(r: dict) -> bool:              # the client holds a reply that carries its own id
        return r.get("outcome") == "answered" and r.get("reply_request_id") == r["request_id"]

    unanswered = {r["request_id"] for r in connected if not answers[r["request_id"]]}
    undelivered = {r["request_id"] for r in connected if served(r["request_id"]) and not delivered(r)}
    misdelivered = {r["request_id"] for r in connected
                    if r.get("outcome") == "answered" and r.get("reply_request_id") != r["request_id"]}
    duplicated = {rid for rid in sent if len(starts[rid]) > 1 or len(answers[rid]) > 1}
    errors = {r["request_id"] for r in connected if r.get("outcome") == "error"}
    server_errors = {rid for rid in sent if any(a.get("error") is not None for a in answers[rid])}
    no_start = {r["request_id"] for r in connected if not starts[r["request_id"]]}   # abandoned: ab_not_started
    reordered = set()
    by_user: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_user[r["user"]].append(r)
    for rs in by_user.values():
        seen = [starts[r["request_id"]][0] for r in sorted(rs, key=lambda r: r["seq"]) if starts[r["request_id"]]]
        for a, b in zip(seen, seen[1:]):
            before = b["seq"] < a["seq"] if a.get("boot") == b.get("boot") else b["mono_ms"] < a["mono_ms"]
            if before:
                reordered.add(b["request_id"])
    ab_ids = [r["request_id"] for r in abandoned]
    ab_completed = {rid for rid in ab_ids if served(rid)}
    ab_failed = {rid for rid in ab_ids if answers[rid] and not served(rid)}
    ab_cancelled = {rid for rid in ab_ids if starts[rid] and not answers[rid]}
    ab_not_started = {rid for rid in ab_ids if not starts[rid] and not answers[rid]}
    answered_clients = sum(1 for r in connected if delivered(r))
    answered_server = sum(1 for r in connected if served(r["request_id"]))
    start_delay = [starts[r["request_id"]][0]["mono_ms"] - r["sent_mono_ms"] for r in rows
                   if starts[r["request_id"]] and r.get("sent_mono_ms") is not None
                   and starts[r["request_id"]][0].get("mono_ms") is not None]
    out = {"sent": len(rows), "connected": len(connected), "abandoned": len(abandoned),
           "answered_server": answered_server, "answered_clients": answered_clients,
           "answered_counts_match": answered_server == answered_clients,
           "answered_server_incl_abandoned": sum(1 for rid in sent if served(rid)),
           "lost": len(unanswered) + len(undelivered), "lost_unanswered": len(unanswered),
           "lost_undelivered": len(undelivered), "duplicated": len(duplicated), "reordered": len(reordered),
           "errors": len(errors), "server_errors": len(server_errors), "misdelivered": len(misdelivered),
           "no_start_record": len(no_start), "unknown_ids": len(unknown),
           "abandoned_completed": len(ab_completed), "abandoned_failed": len(ab_failed),
           "abandoned_cancelled": len(ab_cancelled), "abandoned_not_started": len(ab_not_started),
           "server_processes": len({s.get("boot") for ss in starts.values() for s in ss}),
           "start_delay_ms": start_delay}
    out["examples"] = {k: _examples(v) for k, v in
                       (("lost_unanswered", unanswered), ("lost_undelivered", undelivered),
                        ("duplicated", duplicated), ("reordered", reordered), ("errors", errors),
                        ("server_errors", server_errors), ("misdelivered", misdelivered),
                        ("no_start_record", no_start), ("unknown_ids", unknown)) if v}
    return out


def client_counts(rows: list[dict]) -> dict:
    """What the clients alone can tell (no server log): the cross-check numbers stay None."""
    connected = [r for r in rows if not r.get("abandoned")]
    return {"sent": len(rows), "connected": len(connected), "abandoned": len(rows) - len(connected),
            "answered_clients": sum(1 for r in connected
                                    if r["outcome"] == "answered" and r.get("reply_request_id") == r["request_id"]),
            "errors": sum(1 for r in connected if r["outcome"] == "error"),
            "misdelivered": sum(1 for r in connected
                                if r["outcome"] == "answered" and r.get("reply_request_id") != r["request_id"]),
            **{k: None for k in ("answered_server", "answered_counts_match", "answered_server_incl_abandoned",
                                 "lost", "lost_unanswered", "lost_undelivered", "duplicated", "reordered",
                                 "server_errors", "no_start_record", "unknown_ids", "abandoned_completed",
                                 "abandoned_failed", "abandoned_cancelled", "abandoned_not_started",
                                 "server_processes")},
            "start_delay_ms": [], "examples": {}}


# ------------------------------------------------------------------------------------------------ the server

@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    data_dir: Path

    @property
    def audit_log(self) -> Path:
        return self.data_dir / "logs" / "audit.jsonl"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 60.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(cfg: Config, data_dir: Path, index_dir: Path) -> dict[str, str]:
    """The child's environment: every setting of `cfg` as RAG_<FIELD> (so the server answers with the settings the
    report records), logs in `data_dir`, no login (a load client cannot log in; loopback only, for this run), no
    per-client limits."""
    import dataclasses
    import os
    env = {k: v for k, v in os.environ.items() if k != "RAG_CONFIG"}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if v is not None:
            env["RAG_" + f.name.upper()] = str(v)
    env.update(RAG_DATA_DIR=str(data_dir), RAG_MODEL_CACHE_DIR=str(cfg.models_dir), RAG_INDEX_DIR=str(index_dir),
               RAG_AUTH_USER="", RAG_AUTH_PASSWORD="", GRADIO_ANALYTICS_ENABLED="False",
               # every simulated user calls from 127.0.0.1: the per-address limits (rag/limits.py) would refuse them
               RAG_MAX_ACTIVE_PER_CLIENT="0", RAG_RATE_LIMIT_PER_MINUTE="0")
    return env


def start_server(cfg: Config, index_dir: Path, data_dir: Path, timeout: float = 300.0) -> Server:
    """`rag serve` as a child process on a free 127.0.0.1 port, writing its audit log under `data_dir`
    (its output goes to data_dir/server.log)."""
    import urllib.request
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    with (data_dir / "server.log").open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "--index", str(index_dir), "serve", "--host",
                                 "127.0.0.1", "--port", str(port)], env=server_env(cfg, data_dir, index_dir),
                                stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", data_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`rag serve` exited with code {proc.returncode} (see {data_dir / 'server.log'})")
        try:
            with urllib.request.urlopen(server.url + "/", timeout=2):
                return server
        except OSError:
            time.sleep(1)
    server.stop()
    raise RuntimeError(f"`rag serve` did not start within {timeout:.0f} s (see {data_dir / 'server.log'})")


# ------------------------------------------------------------------------------------------------ the run

def _invocation() -> str | None:
    """The command line that started this process, when it was the `rag` CLI."""
    prog = Path(sys.argv[0])
    if prog.name == "rag":
        try:
            head = str(prog.resolve().relative_to(PROJECT_ROOT)) if prog.is_absolute() or "/" in str(prog) else "rag"
        except ValueError:
            head = "rag"
        return shlex.join([head, *sys.argv[1:]])
    if prog.name == "cli.py" and prog.parent.name == "rag":
        return shlex.join(["python", "-m", "rag.cli", *sys.argv[1:]])
    return None


def _p(values: list[float], q: float) -> float | None:
    return metrics.percentile([v for v in values if v is not None], q)


def timing_summary(rows: list[dict], start_delay: list[float], wall: float) -> dict:
    ok = [r for r in rows if r["ok"]]
    llm = [r for r in ok if r.get("llm_called")]
    return {"answered_before_abandoning": sum(1 for r in ok if r["abandon_after_s"] is not None),
            "requests_per_min": len(ok) / wall * 60 if wall else None,
            "latency_ms_p50": _p([r["latency_ms"] for r in ok], 50),
            "latency_ms_p95": _p([r["latency_ms"] for r in ok], 95),
            "latency_ms_max": max((r["latency_ms"] for r in ok), default=None),
            "queue_wait_ms_p50": _p([r["queue_wait_ms"] for r in llm], 50),
            "queue_wait_ms_p95": _p([r["queue_wait_ms"] for r in llm], 95),
            "ttft_ms_p50": _p([r["ttft_ms"] for r in llm], 50), "ttft_ms_p95": _p([r["ttft_ms"] for r in llm], 95),
            "start_delay_ms_p50": _p(start_delay, 50), "start_delay_ms_p95": _p(start_delay, 95),
            "start_delay_ms_max": max(start_delay, default=None),
            "refused_before_llm": sum(1 for r in ok if not r.get("llm_called"))}


def per_user_table(rows: list[dict], users: int, abandoners: int) -> list[dict]:
    out = []
    for u in range(users):
        rs = [r for r in rows if r["user"] == u]
        role = "abandons every other request" if abandon_after(u, 0, users, abandoners) is not None else \
            "waits for every reply"
        out.append({"user": u, "role": role, "sent": len(rs), "answered": sum(1 for r in rs if r["ok"]),
                    "abandoned": sum(1 for r in rs if r["abandoned"]),
                    "errors": sum(1 for r in rs if r["outcome"] == "error")})
    return out


def burst_details(bursts: list[dict], rows: list[dict]) -> list[dict]:
    out = []
    for b in bursts:
        rs = [r for r in rows if r["burst"] == b["burst"]]
        ok = [r for r in rs if r["ok"]]
        out.append({**b, "answered_clients": len(ok), "abandoned": sum(1 for r in rs if r["abandoned"]),
                    "errors": sum(1 for r in rs if r["outcome"] == "error"),
                    "latency_ms_p50": _p([r["latency_ms"] for r in ok], 50),
                    "latency_ms_max": max((r["latency_ms"] for r in ok), default=None),
                    "start_delay_ms_max": max((r["start_delay_ms"] for r in rs if r.get("start_delay_ms") is not None),
                                              default=None)})
    return out


def run_load(cfg: Config, ds, corpus: Path | None, *, users: int, duration: float, url: str | None, out_dir: Path,
             name: str = "load", progress=None, server_log: Path | None = None, bursts: int = 3,
             abandoners: int | None = None, command: str | None = None,
             abandon_within: tuple[float, float] = ABANDON_AFTER_S):
    """Load against `rag serve` over HTTP on 127.0.0.1: the given `url` (its audit log `server_log`, if known), or a
    server this run starts itself over the eval index with a data dir of its own."""
    from eval import report as rep
    from eval.data import eval_home, open_eval_index
    users, duration, notes = bounded(users, duration)
    bursts = max(1, min(int(bursts), MAX_BURSTS))
    abandoners = default_abandoners(users) if abandoners is None else max(0, min(int(abandoners), users - 1))
    index, embedder, emb_path, index_dir, _ = open_eval_index(cfg, corpus, progress)
    del embedder
    server = None
    if url:
        base = check_local_url(url)
        notes.append(f"target: the running `rag serve` at {base} (JSON API {API_PATH})")
        log_path = Path(server_log) if server_log else None
    else:
        data_dir = eval_home(cfg) / "load" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
        server = start_server(cfg, index_dir, data_dir)
        base, log_path = server.url, server.audit_log
        notes.append(f"target: `rag serve` started by this run at {base} over the eval index (JSON API {API_PATH}), "
                     f"with this run's settings and its own data dir (audit log `{log_path}`)")
    questions = [r["question"] for r in ds.items if r.get("followup_of") is None]
    tag = "ld" + uuid.uuid4().hex[:8]
    send = http_sender(base)
    settle_s, server_records = None, []
    try:
        warm = send(questions[0], f"{tag}w-warmup")                   # warm-up, not counted
        if not warm.get("reply"):
            raise RuntimeError("the warm-up request got no reply")
        bar = tqdm(desc="load", unit="req", file=sys.stderr)
        t0 = time.monotonic()
        try:
            rows, burst_log = simulate(send, questions, users, duration, abandoners=abandoners, bursts=bursts,
                                       tag=tag, on_done=lambda r: bar.update(1), abandon_within=abandon_within)
        finally:
            bar.close()
        wall = time.monotonic() - t0
        if log_path is not None:
            server_records, settle_s = wait_until_settled(log_path, {r["request_id"] for r in rows},
                                                          alive=server.alive if server else (lambda: True))
    finally:
        if server is not None:
            server.stop()
    checked = log_path is not None and log_path.is_file()
    if checked:
        chk = cross_check(rows, server_records, prefix=f"{tag}-u")
        notes.append(f"cross-checked against the server's audit log `{log_path}` ({len(server_records)} records "
                     f"with a request id); waited {settle_s:.0f} s after the last reply for the server to finish "
                     f"the abandoned requests it still held")
    else:
        chk = client_counts(rows)
        notes.append("cross-check NOT possible: the server's audit log is unknown or missing (for an external "
                     "server, run_load(server_log=<its data dir>/logs/audit.jsonl); `rag eval load --url` has no "
                     "option for it yet): lost / duplicated / reordered are not measured, only what the clients saw")
    first = {}
    for rec in server_records:
        if rec["kind"] == "ask_start":
            first.setdefault(rec["request_id"], rec)
    for r in rows:
        s = first.get(r["request_id"])
        r["start_delay_ms"] = (s["mono_ms"] - r["sent_mono_ms"]) if s and s.get("mono_ms") is not None else None
    delay = chk.pop("start_delay_ms")
    m = {"users": users, "abandoning_users": abandoners, "duration_s": duration, "wall_s": wall,
         "bursts_planned": bursts, "bursts_released": sum(1 for b in burst_log if not b["broken"]),
         **{k: v for k, v in chk.items() if k != "examples"}, **timing_summary(rows, delay, wall),
         "settle_wait_s": settle_s, "target": base}
    per_user = per_user_table(rows, users, abandoners)
    details = burst_details(burst_log, rows)
    command = command or _invocation()
    md = load_markdown(m, details, per_user, chk.get("examples", {}), notes, command)
    report = {"kind": "load", "metrics": m, "bursts": details, "per_user": per_user,
              "examples": chk.get("examples", {}), "rows": rows, "notes": notes, "command": command,
              "settings": {"users": users, "duration": duration, "url": url, "bursts": bursts,
                           "abandoners": abandoners, "server_log": str(log_path) if log_path else None,
                           "request_id_prefix": f"{tag}-u"},
              "stamp": rep.stamp(cfg, index=index, index_dir=index_dir, dataset=ds, uses_generator=True,
                                 embedder_path=emb_path)}
    paths = rep.write_report(out_dir, name, report, md, load_figures(rows, details))
    return {**report, "name": name}, md, paths


# ------------------------------------------------------------------------------------------------ the report

def load_markdown(m: dict, bursts: list[dict], per_user: list[dict], examples: dict, notes: list[str],
                  command: str | None) -> str:
    from eval.report import table

    def rows(keys):
        return [[k, m[k]] for k in keys]
    checked = m.get("lost") is not None
    verdict = ("**PASS**: nothing lost, duplicated or reordered, no errors, server and clients agree"
               if checked and not (m["lost"] or m["duplicated"] or m["reordered"] or m["errors"])
               and m["answered_counts_match"] else
               "**FAIL**: see the counts below" if checked else "**not cross-checked** (no server log)")
    out = [f"# Load: {m['users']} users for {m['duration_s']:g} s", "",
           f"Command: `{command}`" if command else "Command: run from Python (eval.load.run_load)", "",
           f"Users: {m['users'] - m['abandoning_users']} wait for every reply, {m['abandoning_users']} drop every "
           f"other request 1-10 s after sending it (closing the connection); {m['bursts_planned']} bursts were "
           f"planned, in which every user sends at the same instant. Every request carries its own id, which the "
           f"server records when the request starts and with the answer; the numbers below compare the clients' rows "
           f"with the server's own audit log. Verdict: {verdict}.", "",
           "## Requests", "",
           table(["measure", "value"], rows(
               ["sent", "connected", "answered_server", "answered_clients", "answered_counts_match", "lost",
                "lost_unanswered", "lost_undelivered", "duplicated", "reordered", "errors", "server_errors",
                "misdelivered", "no_start_record", "unknown_ids", "server_processes"]), 1), "",
           "`lost_unanswered`: sent by a connected client, no answer record at the server; `lost_undelivered`: "
           "answered there, but no reply carrying its own id reached the client (such a client error counts in "
           "`errors` too); `reordered`: per user, started by the server before a request the user had sent earlier "
           "(the server's `ask_start` sequence numbers); `misdelivered`: a reply carrying another request's id; "
           "`no_start_record`: no `ask_start` line; `unknown_ids`: this run's id prefix on records no client sent.", "",
           "## Abandoned requests", "",
           table(["measure", "value"], rows(
               ["abandoned", "abandoned_completed", "abandoned_cancelled", "abandoned_failed",
                "abandoned_not_started", "answered_server_incl_abandoned", "answered_before_abandoning"]), 1), "",
           "`abandoned_completed`: the server still produced and recorded the whole answer (gradio 6 lets a running "
           "API function finish; only the reply is dropped); `abandoned_cancelled`: started, never answered; "
           "`abandoned_not_started`: never reached the server. None of these counts as lost; "
           "`answered_before_abandoning`: the reply came before the drop time, counted as an ordinary answer.", "",
           "## Latency (answered requests)", "",
           table(["measure", "value"], rows(
               ["wall_s", "requests_per_min", "latency_ms_p50", "latency_ms_p95", "latency_ms_max",
                "queue_wait_ms_p50", "queue_wait_ms_p95", "ttft_ms_p50", "ttft_ms_p95", "start_delay_ms_p50",
                "start_delay_ms_p95", "start_delay_ms_max", "refused_before_llm", "settle_wait_s", "target"]), 1), "",
           "`queue_wait_ms`: time in the generator's queue (requests that reached the LLM); `start_delay_ms`: from "
           "the client's send to the server's `ask_start` record (same monotonic clock).", "",
           "## Bursts", "",
           table(["burst", "due (s)", "released (s)", "users", "sent", "send spread (ms)", "answered", "abandoned",
                  "errors", "latency p50 (ms)", "latency max (ms)", "max start delay (ms)", "broken"],
                 [[b["burst"], b["due_s"], b["released_s"], b["users"], b["sent"], b["send_spread_ms"],
                   b["answered_clients"], b["abandoned"], b["errors"], b["latency_ms_p50"], b["latency_ms_max"],
                   b["start_delay_ms_max"], b["broken"]] for b in bursts], 1), "",
           "A burst is released once every user has finished its current request (the queue drains first); one "
           "that has not filled by the deadline is broken and sends nothing.", "",
           "## Per user", "",
           table(["user", "role", "sent", "answered", "abandoned", "errors"],
                 [[u["user"], u["role"], u["sent"], u["answered"], u["abandoned"], u["errors"]] for u in per_user]),
           ""]
    if examples:
        out += ["## Request ids behind non-zero counts", "",
                *[f"- {k}: {', '.join(f'`{i}`' for i in v)}" for k, v in examples.items()], ""]
    out += [*[f"- {n}" for n in notes]]
    return "\n".join(out)


def load_figures(rows: list[dict], bursts: list[dict]) -> dict:
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
    for b in bursts:
        if b["released_s"] is not None:
            ax.axvline(b["released_s"], color="grey", ls=":", lw=1)
    if len(users) <= 8:
        ax.legend(fontsize=7)
    return {"queue-wait": fig}
