"""The server without accounts (issue 16 item 7), on loopback only, with the real app, models and CLI.

- `rag serve` on a host reachable from the network without any login refuses to start (exit 2, the way out named);
  --insecure-no-auth starts it with a loud warning; a half-set shared login is a start-up error naming the setting.
- On a server configured for a network host without accounts (bound to 127.0.0.1 here), nobody is an admin: the
  upload/re-index event is refused when called directly (by name: 403 before Gradio; by its number through the queue,
  as the page calls it: the handler refuses), nothing is saved or indexed, and Gradio's copy of the file is deleted.
- The JSON API's per-client limits: a second question while the first runs, and one beyond N a minute, are refused
  before any work with a Korean message and an audit record.
- The live guard reads a bounded prefix: a 1 MB paste costs a fraction of a second (it was ~130 s).
- Upload quotas name the file and the limit.

One real LLM answer (short); about 1-2 minutes on 2 cores.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_ui_browser import ROOT, free_port, samples_site, serve_app

httpx = pytest.importorskip("httpx")
pytestmark = pytest.mark.timeout(300)

RATE = 3                      # questions a minute per client on the test server
LLM_QUESTION = "도우미가 지원하는 문서 형식은 무엇인가요?"
SECRET_PASTE = "민원인 900101-1234567 관련 보고서 본문입니다. "


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A server configured for 0.0.0.0 without accounts (what `rag serve --host 0.0.0.0 --insecure-no-auth` builds),
    bound to 127.0.0.1 for the test."""
    cfg, assistant = samples_site(tmp_path_factory, "hardening", host="0.0.0.0", max_tokens=24,
                                  rate_limit_per_minute=RATE, max_active_per_client=1)
    assistant.warm_up()                      # as `rag serve` does: the first answer is not the cold one
    app, url = serve_app(cfg, assistant)
    try:
        yield SimpleNamespace(app=app, url=url.rstrip("/"), cfg=cfg, assistant=assistant)
    finally:
        app.close()


def fn_of(app, name: str):
    return next(f for f in app.fns.values() if getattr(f.fn, "__name__", "") == name)


def audit(cfg) -> list[dict]:
    path = cfg.log_dir / "audit.jsonl"
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.is_file() else []


def sse_result(client, url: str, timeout: float = 240) -> dict:
    """The final message of a Gradio SSE stream: {"event": ..., "data": ...}."""
    event, data = None, None
    with client.stream("GET", url, timeout=timeout) as r:
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data = line.split(":", 1)[1].strip()
                if event in ("complete", "error"):
                    return {"event": event, "data": json.loads(data) if data and data != "null" else None}
    return {"event": event, "data": data}


def call_ask(client, base: str, question: str, request_id: str) -> dict:
    r = client.post(f"{base}/gradio_api/call/ask", json={"data": [question, request_id]}, timeout=30)
    r.raise_for_status()
    return sse_result(client, f"{base}/gradio_api/call/ask/{r.json()['event_id']}")


def cli_env(tmp_path: Path, site, **extra: str) -> dict[str, str]:
    """A fresh data directory (no accounts) over the site's models and index: a server that is not refused starts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(tmp_path / "data"), RAG_MODEL_CACHE_DIR=str(site.cfg.models_dir),
               RAG_INDEX_DIR=str(site.cfg.resolved_index_dir), GRADIO_ANALYTICS_ENABLED="False", **extra)
    return env


def run_serve(env: dict, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--port", str(free_port()), *args]
    try:
        return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
                              check=False)
    except subprocess.TimeoutExpired as e:          # it started serving instead of refusing
        pytest.fail(f"`rag serve {' '.join(args)}` did not refuse to start: {e.stderr!r}")


# ------------------------------------------------------------------------------------------------ start-up

def test_a_network_host_without_login_refuses_to_start(tmp_path, site):
    t0 = time.monotonic()
    done = run_serve(cli_env(tmp_path, site), "--host", "0.0.0.0")
    assert done.returncode == 2, done.stderr
    assert "0.0.0.0" in done.stderr and "--insecure-no-auth" in done.stderr and "rag users add" in done.stderr
    assert time.monotonic() - t0 < 30                # refused before any model is loaded


@pytest.mark.parametrize("settings, named", [
    ({"RAG_AUTH_USER": "office"}, "auth_password"),
    ({"RAG_AUTH_PASSWORD": "a-long-password"}, "auth_user"),
    ({"RAG_AUTH_USER": "office", "RAG_AUTH_PASSWORD": "short"}, "auth_password"),
])
def test_a_half_set_shared_login_is_a_startup_error(tmp_path, site, settings, named):
    done = run_serve(cli_env(tmp_path, site, **settings), "--host", "127.0.0.1")
    assert done.returncode == 2, done.stderr
    assert named in done.stderr and "오류" in done.stderr


def test_insecure_no_auth_starts_with_a_loud_warning(tmp_path, site):
    """Killed as soon as it is past the check (the warning comes before the models load, so it never binds)."""
    env = cli_env(tmp_path, site)
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--host", "0.0.0.0", "--port",
                             str(free_port()), "--insecure-no-auth"], env=env, cwd=ROOT, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("WARNING" in x for x in lines) and proc.poll() is None:
            time.sleep(0.2)
        time.sleep(1.0)
        assert any("WARNING" in x and "0.0.0.0" in x for x in lines), lines
        assert proc.poll() is None, f"it exited ({proc.returncode}): {lines}"
    finally:
        proc.kill()
        proc.wait(timeout=30)


# ------------------------------------------------------------------------------------------------ admin events

def test_upload_and_reindex_cannot_be_called_on_a_network_host_without_accounts(site, tmp_path):
    from gradio.utils import get_upload_folder
    doc = tmp_path / "poison.txt"
    doc.write_text("청사 주차장은 누구나 24시간 무료로 쓸 수 있다.\n", encoding="utf-8")
    uploads = site.cfg.data_dir / "uploads"
    before = sorted(p.name for p in uploads.iterdir()) if uploads.is_dir() else []
    with httpx.Client() as c:
        with doc.open("rb") as fh:
            r = c.post(f"{site.url}/gradio_api/upload", files={"files": ("poison.txt", fh, "text/plain")}, timeout=30)
        r.raise_for_status()
        temp = r.json()[0]
        assert Path(temp).resolve().is_relative_to(Path(get_upload_folder()).resolve())
        file_data = {"path": temp, "orig_name": "poison.txt", "meta": {"_type": "gradio.FileData"}}
        inputs = [[file_data], "mask", "공개", ""]
        # by name: Gradio's "private" still routes /gradio_api/call/<function name>; the gate does not
        named = c.post(f"{site.url}/gradio_api/call/upload_and_index", json={"data": inputs}, timeout=30)
        if named.status_code == 200:                   # (the code before the gate: read what it did)
            sse_result(c, f"{site.url}/gradio_api/call/upload_and_index/{named.json()['event_id']}")
        assert named.status_code == 403
        for private in ("search_history", "preview_pii", "show_users"):
            assert c.post(f"{site.url}/gradio_api/call/{private}", json={"data": []}).status_code == 403
        # by number through the queue, as the page calls it: the handler refuses
        session = uuid.uuid4().hex
        fn = fn_of(site.app, "upload_and_index")
        joined = c.post(f"{site.url}/gradio_api/queue/join", timeout=30, json={
            "data": inputs, "fn_index": fn._id, "session_hash": session, "event_data": None, "trigger_id": None})
        joined.raise_for_status()
        done = sse_queue(c, site.url, session)
    assert "관리자 계정만" in json.dumps(done, ensure_ascii=False), done
    after = sorted(p.name for p in uploads.iterdir()) if uploads.is_dir() else []
    assert after == before and "poison.txt" not in after
    assert not Path(temp).exists(), "Gradio's copy of the refused upload was kept"
    for f in (p for p in site.cfg.resolved_index_dir.rglob("*") if p.is_file()):
        assert b"poison" not in f.read_bytes(), f


def sse_queue(client, base: str, session: str, timeout: float = 120) -> dict:
    with client.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": session},
                       timeout=timeout) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    return {}


def test_admin_tab_is_hidden_and_the_document_events_refuse_anyone(site):
    req = SimpleNamespace(username=None, session_hash="x", client=SimpleNamespace(host="127.0.0.1"))
    shown = fn_of(site.app, "show_admin").fn(req)
    assert shown and all(getattr(t, "visible", None) is False for t in shown)
    refused = fn_of(site.app, "upload_and_index").fn(["/nonexistent.txt"], "mask", "공개", "", req)
    assert "관리자 계정만" in refused


# ------------------------------------------------------------------------------------------------ limits

def test_api_concurrency_and_rate_limits_refuse_before_any_work(site):
    """One question runs (the real model); a second from the same address meanwhile is refused as busy. Then too-long
    questions (refused cheaply, still counted) fill the minute's quota and the next is refused for its rate."""
    tag = uuid.uuid4().hex[:8]
    rid = {k: f"hard-{tag}-{k}" for k in ("a", "b", "c", "d", "e")}
    results: dict[str, dict] = {}
    with httpx.Client() as c:
        first = threading.Thread(target=lambda: results.setdefault("a", call_ask(c, site.url, LLM_QUESTION,
                                                                                 rid["a"])))
        first.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(r.get("request_id") == rid["a"] and r["kind"] == "ask_start"
                                                      for r in audit(site.cfg)):
            time.sleep(0.1)
        t0 = time.monotonic()
        results["b"] = call_ask(c, site.url, "도우미는 어떤 파일 형식을 읽나요?", rid["b"])
        busy_s = time.monotonic() - t0
        first.join(timeout=240)
        long_q = "서울시 인공지능 행정 서비스의 추진 경과와 향후 계획을 정리한 보고서입니다. " * 60
        for k in ("c", "d", "e"):
            results[k] = call_ask(c, site.url, long_q, rid[k])
    assert results["a"]["event"] == "complete", results["a"]
    assert results["b"]["event"] == "error" and "앞서 보낸 질문" in json.dumps(results["b"], ensure_ascii=False)
    assert busy_s < 5, f"the busy refusal took {busy_s:.1f} s"
    for k in ("c", "d"):
        assert results[k]["event"] == "error" and "너무 깁니다" in json.dumps(results[k], ensure_ascii=False)
    assert results["e"]["event"] == "error" and f"1분에 {RATE}건" in json.dumps(results["e"], ensure_ascii=False)
    recs = {r.get("request_id"): r for r in audit(site.cfg) if r["kind"] == "ask"}
    assert recs[rid["b"]]["error"] == "Busy" and recs[rid["b"]]["client"] == "ip:127.0.0.1"
    assert recs[rid["e"]]["error"] == "RateLimited" and recs[rid["e"]]["question_masked"] is None
    assert recs[rid["c"]]["error"] == "QuestionTooLong" and not recs[rid["a"]]["error"]


def test_the_chat_refuses_a_second_question_while_its_answer_runs(site):
    """The browser path: while a page's answer has started (admitted, before any model work), its next send is refused
    by `check` with the text left in the box (gr.Error), and recorded; closing the answer frees the page."""
    import gradio as gr
    req = SimpleNamespace(username=None, session_hash=uuid.uuid4().hex, client=SimpleNamespace(host="127.0.0.1"))
    sess = {"history": [], "messages": [], "answer_ids": {}, "conversation": None}
    outgoing = {"text": LLM_QUESTION, "shown": LLM_QUESTION, "findings": [], "masked": False, "ack": False}
    answer = fn_of(site.app, "respond").fn(outgoing, sess, None, req)
    next(answer)                                     # admitted: the question is on screen, nothing generated yet
    check = fn_of(site.app, "check").fn
    try:
        with pytest.raises(gr.Error, match="앞서 보낸 질문"):
            check("도우미는 어떤 파일 형식을 읽나요?", req)
    finally:
        answer.close()                               # as a closed page: cancelled, the limit released
    assert check("도우미는 어떤 파일 형식을 읽나요?", req)[-4]["text"].startswith("도우미는")
    busy = [r for r in audit(site.cfg) if r["kind"] == "ask" and r.get("client") == f"page:{req.session_hash}"]
    assert [r["error"] for r in busy] == ["Busy"]


# ------------------------------------------------------------------------------------------------ the live guard

def test_the_live_guard_reads_a_bounded_prefix_of_a_1mb_paste(site):
    fn = fn_of(site.app, "live_scan")
    dep = next(d for d in site.app.config["dependencies"] if d["id"] == fn._id)
    assert dep["trigger_mode"] == "always_last"
    paste = (SECRET_PASTE + "서울시 인공지능 행정 서비스의 추진 경과와 향후 계획입니다. " * 40_000)[:1_000_000]
    out: dict = {}

    def run():
        c0 = time.process_time()           # this thread's CPU? process-wide: an upper bound, fine for the check
        out["result"] = fn.fn(paste)
        out["cpu"] = time.process_time() - c0

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "the live guard scanned a 1 MB paste for more than 20 s"
    assert out["cpu"] < 1.0, f"{out['cpu']:.2f} s of CPU on a 1 MB paste"
    _column, body, spans, _mask, note = out["result"]
    assert "주민등록번호" in body and "너무 깁니다" in note      # the warning for its start, the length note
    assert sum(len(s) for s, _ in spans) < 20_000             # the spans sent back are bounded too


# ------------------------------------------------------------------------------------------------ upload quotas

def test_upload_quotas_name_the_file_and_the_limit(tmp_path):
    from ui import app as ui
    T = ui.load_texts()
    src = tmp_path / "src"
    src.mkdir()
    files = []
    for i in range(4):
        f = src / f"문서{i}.txt"
        f.write_bytes(b"x" * 400_000)
        files.append(f)
    uploads = tmp_path / "uploads"
    saved, rejected = ui.save_uploads(files, uploads, 10**6, [".txt"], T, max_files=3, max_total=900_000,
                                      quota=10**7)
    assert [n for n, _ in saved] == ["문서0.txt", "문서1.txt"]
    assert rejected[0][0] == "문서2.txt" and "합계" in rejected[0][1] and "MB" in rejected[0][1]
    assert rejected[1][0] == "문서3.txt" and "3개" in rejected[1][1]
    saved, rejected = ui.save_uploads(files[2:3], uploads, 10**6, [".txt"], T, quota=1_000_000)
    assert not saved and rejected[0][0] == "문서2.txt" and "보관 공간" in rejected[0][1]
    saved, _ = ui.save_uploads(files[:1], uploads, 10**6, [".txt"], T, quota=1_000_000)   # a replacement fits
    assert [n for n, _ in saved] == ["문서0.txt"]
