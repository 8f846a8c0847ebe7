"""The browser chat in a real browser: Debian's chromium driven by Playwright, over the real app.

A real Assistant (default embedder + the default 1.5B GGUF) over a small index built from samples/, served by
ui.app on 127.0.0.1 with a free port; logs go to a temporary data_dir. Scenarios: the AI notice before the first
question; a 주민등록번호 in the prompt warns (names the type, highlights the span) and 가리고 보내기 sends only the
masked text, answered with a cited passage; 수정하기 sends nothing; an ordinary question is sent without a warning;
그대로 보내기 is recorded as acknowledged; feedback is stored; an uploaded document is indexed and answered from;
the page fetches nothing from outside 127.0.0.1; no file under the data_dir contains the raw number.
The desk features of issue 32 (copy, [n] links, export, the document list, refusals that help) are in
tests/test_ui_desk.py. Screenshots go to tests/artifacts/ (gitignored).

Slow by nature (four LLM answers on 2 cores): about 2.5-4 minutes.
"""
from __future__ import annotations

import json
import os
import re
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
MODELS = Path.home() / ".local" / "share" / "seoul-policy-rag" / "models"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
FAKE_RRN = "900101-1234567"                       # fake: a plausible date, not a real person's number
RAW_FORMS = [FAKE_RRN, FAKE_RRN.replace("-", ""), "1234567"]
FAKE_PHONE = "010-2345-6789"
ANSWER_TIMEOUT_MS = 240_000

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"),
    pytest.mark.timeout(900),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def _gguf_present() -> bool:
    from rag.models import GGUF_NAME
    return (MODELS / GGUF_NAME).is_file()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------------ fixtures

def samples_site(tmp_path_factory, name: str, **settings):
    """(cfg, assistant) over a fresh index of samples/ in a temporary data directory; skips without the GGUF. A
    smaller evidence budget and answer length than the defaults keep each answer within ~10-30 s on 2 cores."""
    if not _gguf_present():
        pytest.skip(f"the default GGUF is not provisioned in {MODELS} (run `rag doctor`)")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from index.store import update_index
    from rag.config import load_config
    from rag.runtime import open_assistant, open_embedder, pii_screen
    data = tmp_path_factory.mktemp(name)
    cfg = load_config(env={}, data_dir=data, model_cache_dir=MODELS, **({"evidence_chars": 700, "max_tokens": 128}
                                                                       | settings))
    embedder, emb_path = open_embedder(cfg)
    report = update_index(cfg.resolved_index_dir, [ROOT / "samples"], embedder, emb_path,
                          chunk_tokens=cfg.chunk_tokens, overlap=cfg.chunk_overlap_sentences,
                          faiss_kind=cfg.faiss_kind, screen=pii_screen(cfg.document_pii))
    assert len(report.added) == 4 and not report.errors, report.to_json()
    return cfg, open_assistant(cfg)


def serve_app(cfg, assistant, port: int | None = None):
    """The real app served on 127.0.0.1 (as `rag serve` does): (app, url)."""
    from ui.app import build_app, launch_options
    app = build_app(cfg, assistant)
    app.queue(default_concurrency_limit=1)
    port = port or free_port()
    app.launch(prevent_thread_lock=True, quiet=True, **launch_options(cfg, "127.0.0.1", port))
    return app, f"http://127.0.0.1:{port}/"


def served_samples(tmp_path_factory, name: str, **settings):
    """A module fixture's body: the app over samples_site, served until the module is done."""
    cfg, assistant = samples_site(tmp_path_factory, name, **settings)
    app, url = serve_app(cfg, assistant)
    try:
        yield SimpleNamespace(url=url, cfg=cfg, data=cfg.data_dir)
    finally:
        app.close()


@contextmanager
def chromium_browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cfg, assistant = samples_site(tmp_path_factory, "ui-data")
    app, url = serve_app(cfg, assistant)
    try:
        yield SimpleNamespace(url=url, cfg=cfg, data=cfg.data_dir, label=assistant.prompts.messages["ai_label"],
                              notice=assistant.prompts.messages["ai_notice"])
    finally:
        app.close()


@pytest.fixture
def page(browser, server):
    """A fresh browser session; every request it makes must stay on the app's own origin."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 1000}, locale="ko-KR")
    pg = ctx.new_page()
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(server.url)
    pg.wait_for_selector("#ai-notice", timeout=60_000)
    yield pg
    ctx.close()
    origin = server.url.rstrip("/")
    external = [u for u in requests if not (u.startswith(origin) or u.startswith(("data:", "blob:")))]
    assert not external, f"the page fetched from outside the app: {external[:5]}"


# ------------------------------------------------------------------------------------------------ helpers

def audit_records(server) -> list[dict]:
    path = server.cfg.log_dir / "audit.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def type_question(pg, text: str) -> None:
    box = pg.locator("#question textarea")
    box.click()
    box.press_sequentially(text, delay=15)          # real key strokes: the live scan runs on .input


def wait_answer(pg, n: int) -> None:
    """Until the n-th answer (AI label) is in the chat and streaming has ended (no cursor)."""
    pg.wait_for_function(
        """n => { const c = document.querySelector('#chat');
                  return c && c.querySelectorAll('.ai-label').length >= n && !c.innerText.includes('▌'); }""",
        arg=n, timeout=ANSWER_TIMEOUT_MS)
    time.sleep(0.5)


def upload_secret(pg, doc: Path, group: str, indexed_name: str) -> str:
    """In the admin tab: upload `doc` labelled 대외비 for `group`, index it, and return the result table's text once
    it names the indexed file."""
    pg.get_by_role("tab", name="문서 관리").click()
    pg.locator("#upload-files input[type=file]").set_input_files([str(doc)])
    pg.wait_for_function("n => document.querySelector('#upload-files').innerText.includes(n)", arg=doc.stem[:4],
                         timeout=30_000)
    pg.get_by_role("radio", name=re.compile("대외비")).check()
    pg.locator("#upload-groups textarea, #upload-groups input").first.fill(group)
    pg.click("#upload-index")
    pg.wait_for_function("n => document.querySelector('#upload-result').innerText.includes(n)", arg=indexed_name,
                         timeout=120_000)
    return pg.locator("#upload-result").inner_text()


def warning_visible(pg) -> bool:
    return pg.locator("#warning").is_visible()


def shot(pg, name: str) -> None:
    pg.screenshot(path=str(ARTIFACTS / name), full_page=True)


# ------------------------------------------------------------------------------------------------ scenarios

def test_ai_notice_visible_before_the_first_question(page, server):
    notice = page.locator("#ai-notice")
    assert notice.is_visible()
    text = notice.inner_text()
    assert server.notice in text and "생성형 AI" in text
    assert page.locator("#chat .ai-label").count() == 0
    for elem in ("question", "send", "new-chat", "export-button", "documents"):
        assert page.locator(f"#{elem}").is_visible(), elem
    box = page.get_by_label("질문", exact=True)                               # the input has a visible label
    assert box.count() == 1 and box.evaluate("e => e.tagName") == "TEXTAREA" and box.is_visible()
    assert not warning_visible(page)
    shot(page, "ui-1-load.png")


def test_rrn_warns_and_mask_send_sends_only_the_masked_text(page, server):
    prompt = f"민원인 {FAKE_RRN} 건인데, 질문 창에 넣으면 안 되는 정보는 무엇인가요?"
    type_question(page, prompt)
    page.wait_for_selector("#warning", state="visible", timeout=20_000)
    warning = page.locator("#warning").inner_text()
    assert "주민등록번호" in warning
    spans = page.locator("#warning-spans")
    assert FAKE_RRN in spans.inner_text() and "주민등록번호" in spans.inner_text()
    shot(page, "ui-2-warning.png")

    # 수정하기: nothing is sent, the panel closes, the cursor is back in the question box
    page.click("#edit")
    page.wait_for_selector("#warning", state="hidden", timeout=10_000)
    assert page.evaluate("document.activeElement === document.querySelector('#question textarea')")
    # Enter with the number still there: the warning again, still nothing sent
    page.locator("#question textarea").press("Enter")
    page.wait_for_selector("#warning", state="visible", timeout=20_000)
    time.sleep(1.0)
    assert "넣으면 안 되는" not in page.locator("#chat").inner_text(), "a prompt with a warning was sent by Enter"

    page.click("#mask-send")
    wait_answer(page, 1)
    chat = page.locator("#chat").inner_text()
    assert "[주민등록번호]" in chat
    assert not any(raw in chat for raw in RAW_FORMS), "the chat shows the raw number"
    assert server.label in chat
    cites = page.locator("#chat .citations details")
    assert cites.count() >= 1, f"no cited passage under the answer: {chat[-500:]}"
    summary = cites.first.locator("summary")
    assert summary.inner_text().startswith("[1]")
    summary.click()
    passage = cites.first.locator(".passage")
    passage.wait_for(state="visible", timeout=5_000)
    assert len(passage.inner_text()) > 20
    assert page.locator("#question textarea").input_value() == ""
    assert not warning_visible(page)
    shot(page, "ui-3-masked-answer.png")

    # feedback, the one path: the answer's own thumbs (labelled in the browser's language: 좋아요 / 싫어요 in ko-KR)
    page.locator("#chat button[aria-label='좋아요'], #chat button[aria-label='Like']").last.click()
    page.wait_for_function("() => document.querySelector('#fb-status').innerText.includes('저장')", timeout=20_000)
    page.locator("#chat button[aria-label='싫어요'], #chat button[aria-label='Dislike']").last.click()
    deadline = time.time() + 20
    while time.time() < deadline and len([r for r in audit_records(server) if r["kind"] == "feedback"]) < 2:
        time.sleep(0.5)
    shot(page, "ui-4-feedback.png")


def test_ordinary_question_is_sent_without_warning(page, server):
    warnings_before = [r for r in audit_records(server) if r["kind"] == "warning"]
    type_question(page, "도우미가 지원하는 문서 형식은 무엇인가요?")
    time.sleep(2.0)                                  # give the live scan time to (not) show anything
    assert not warning_visible(page)
    page.locator("#question textarea").press("Enter")
    page.wait_for_selector("#chat .ai-label", timeout=60_000)
    assert not warning_visible(page)
    wait_answer(page, 1)
    assert not warning_visible(page)
    chat = page.locator("#chat").inner_text()
    assert "도우미가 지원하는 문서 형식은 무엇인가요?" in chat and server.label in chat
    assert [r for r in audit_records(server) if r["kind"] == "warning"] == warnings_before
    shot(page, "ui-5-plain-answer.png")


WATCH_JS = """() => { window.__seen = {};
  const mark = (k) => { if (!(k in window.__seen)) { window.__seen[k] = performance.now(); } };
  new MutationObserver(() => {
    const c = document.querySelector('#chat');
    if (!c) { return; }
    if (c.querySelector('.evidence-preview')) { mark('preview'); }
    const b = c.querySelector('.answer-body');
    if (b && b.textContent.trim()) { mark('answer'); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


def test_evidence_preview_arrives_before_the_first_model_token(page, server):
    """Within retrieval time the best evidence sentence is on screen, marked as evidence; the answer's first words
    come later, and its citation shows the verified quote highlighted inside the passage."""
    page.evaluate(WATCH_JS)
    type_question(page, "도우미는 질문과 문서를 외부 서버로 보내나요?")
    page.locator("#question textarea").press("Enter")
    page.wait_for_selector("#chat .evidence-preview", timeout=60_000)
    preview = page.locator("#chat .evidence-preview").inner_text()
    assert "답변이 아닙니다" in preview and ".md" in preview
    shot(page, "ui-7-evidence-preview.png")
    wait_answer(page, 1)
    seen = page.evaluate("() => window.__seen")
    assert "preview" in seen and "answer" in seen and seen["preview"] < seen["answer"], seen
    assert page.locator("#chat .evidence-preview").count() == 0          # the final answer replaces the preview
    # the server's own record: retrieval finished before the model's first token
    rec = [r for r in audit_records(server) if r["kind"] == "ask" and r.get("channel") == "ui"][-1]
    assert rec["timings"]["retrieval_ms"] < rec["timings"]["ttft_ms"]
    if not rec.get("refused"):
        page.locator("#chat .citations summary").first.click()
        assert page.locator("#chat .citations mark").first.inner_text().strip()
    shot(page, "ui-8-verified-quote.png")
    page.click("#new-chat")
    page.wait_for_function("() => document.querySelectorAll('#chat .ai-label').length === 0", timeout=10_000)


def focused_id(pg) -> str:
    return pg.evaluate("(() => { const a = document.activeElement; const b = a && a.closest('[id]'); "
                       "return b ? b.id : ''; })()")


def test_a_marking_alone_offers_only_edit_or_acknowledge_by_keyboard(page, server):
    """A marking is not masked, so the panel offers 수정하기 and 그대로 보내기 only; sending moves the focus to
    수정하기 (the safe choice first, 그대로 보내기 last); Enter on it sends nothing and returns to the question box;
    then Tab reaches 그대로 보내기 and Enter sends it, recorded as acknowledged."""
    prompt = "이 문서는 대외비입니다. 요약해줘"
    before = len(audit_records(server))
    type_question(page, prompt)
    page.locator("#question textarea").press("Enter")
    page.wait_for_selector("#warning", state="visible", timeout=20_000)
    assert not page.locator("#mask-send").is_visible(), "가리고 보내기 offered with nothing to mask"
    assert "가릴 개인정보는 없습니다" in page.locator("#warning").inner_text()
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('#edit')",
                           timeout=10_000)
    shot(page, "ui-5b-marking-warning-focus.png")
    page.keyboard.press("Enter")                                   # 수정하기, by keyboard
    page.wait_for_selector("#warning", state="hidden", timeout=10_000)
    assert focused_id(page) == "question" and page.locator("#question textarea").input_value() == prompt
    page.keyboard.press("Enter")                                   # the warning again, focus on 수정하기
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('#edit')",
                           timeout=20_000)
    page.keyboard.press("Tab")
    assert focused_id(page) == "send-anyway"
    page.keyboard.press("Enter")
    wait_answer(page, 1)
    asks = [r for r in audit_records(server)[before:] if r["kind"] == "ask" and "요약해줘" in r["question_masked"]]
    assert len(asks) == 1 and asks[0]["acknowledged_warning"] is True and asks[0]["sent_masked"] is False
    assert "CONFIDENTIAL" in asks[0]["finding_types"]
    page.click("#new-chat")
    page.wait_for_function("() => document.querySelectorAll('#chat .ai-label').length === 0", timeout=10_000)


def test_a_paste_longer_than_the_model_takes_is_explained_and_not_sent(browser, server):
    """About 5,000 characters pasted (the clipboard and Ctrl+V, as a user does) and Enter: the box says why it cannot
    be sent (the model's limit, computed from n_ctx, the static prefix and the evidence budget) and suggests a
    document; nothing is sent. A short question afterwards clears the message."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 1000}, locale="ko-KR",
                              permissions=["clipboard-read", "clipboard-write"])
    page = ctx.new_page()
    page.goto(server.url)
    page.wait_for_selector("#ai-notice", timeout=60_000)
    before = len(audit_records(server))
    paste = "서울시 인공지능 행정 서비스의 추진 경과와 향후 계획을 정리한 긴 보고서 본문입니다. " * 110
    assert len(paste) >= 5000
    box = page.locator("#question textarea")
    box.click()
    page.evaluate("t => navigator.clipboard.writeText(t)", paste)
    page.keyboard.press("Control+V")
    assert len(box.input_value()) == len(paste)
    # said as soon as it is pasted, in characters (not only at send, not in tokens)
    page.wait_for_function("() => document.querySelector('#question-limit').innerText.includes('너무 깁니다')",
                           timeout=20_000)
    note = page.locator("#question-limit").inner_text()
    assert f"{len(paste)}자" in note and "문서" in note and "토큰" not in note
    box.press("Enter")
    shot(page, "ui-5c-too-long.png")
    page.wait_for_timeout(1500)
    assert page.locator("#chat .ai-label").count() == 0 and len(box.input_value()) == len(paste)
    assert not [r for r in audit_records(server)[before:] if r["kind"] == "ask"], "a too-long question was sent"
    box.fill("")
    type_question(page, "도우미는 어떤 파일 형식을 읽나요")
    page.wait_for_function("() => !document.querySelector('#question-limit').innerText.includes('너무 깁니다')",
                           timeout=20_000)
    ctx.close()


def test_send_anyway_is_recorded_as_acknowledged(page, server):
    type_question(page, "[대외비] 답변을 보고서에 쓰기 전에 무엇을 확인해야 하나요?")
    page.wait_for_selector("#warning", state="visible", timeout=20_000)
    assert "보안 등급 표시" in page.locator("#warning").inner_text()
    page.click("#send-anyway")
    wait_answer(page, 1)
    assert "[대외비]" in page.locator("#chat").inner_text()         # sent as typed
    shot(page, "ui-6-send-anyway.png")
    # 새 대화 clears the conversation
    page.click("#new-chat")
    page.wait_for_function("() => document.querySelectorAll('#chat .ai-label').length === 0", timeout=10_000)


UPLOAD_PHONE = "010-5555-1234"                      # invented


def test_admin_upload_is_indexed_and_answered_from(page, server, tmp_path):
    doc = tmp_path / "주차 안내 (2025).txt"
    doc.write_text("청사 주차장 이용 안내\n\n청사 주차장은 평일 오전 7시부터 오후 10시까지 이용할 수 있습니다.\n"
                   "주말에는 민원인 차량만 주차할 수 있습니다.\n"
                   f"주차 민원 회신: 민원인 휴대전화 {UPLOAD_PHONE}\n", encoding="utf-8")
    page.get_by_role("tab", name="문서 관리").click()
    page.locator("#upload-files input[type=file]").set_input_files([str(doc)])
    page.wait_for_function("() => document.querySelector('#upload-files').innerText.includes('주차 안내')",
                           timeout=30_000)
    # before indexing: the personal data in the chosen file, by type and count, and the choice (masking by default)
    page.wait_for_function("() => document.querySelector('#upload-pii-preview').innerText.includes('전화번호 1')",
                           timeout=60_000)
    assert UPLOAD_PHONE not in page.locator("#upload-pii-preview").inner_text()
    assert page.get_by_role("radio", name=re.compile("가리고 색인")).is_checked()
    page.click("#upload-index")
    page.wait_for_function("() => document.querySelector('#upload-result').innerText.includes('추가됨')",
                           timeout=120_000)
    result = page.locator("#upload-result").inner_text()
    assert "주차_안내_2025.txt" in result and "실패 0건" in result
    assert "개인정보를 가려 색인함: 전화번호 1" in result and UPLOAD_PHONE not in result
    assert (server.data / "uploads" / "주차_안내_2025.txt").is_file()
    for f in (p for p in server.cfg.resolved_index_dir.rglob("*") if p.is_file()):
        data = f.read_bytes()
        assert UPLOAD_PHONE.encode() not in data and UPLOAD_PHONE.replace("-", "").encode() not in data, f
    time.sleep(0.8)                                  # let the result fade in before the screenshot
    shot(page, "ui-7-admin-upload.png")
    # the live assistant now searches the new index
    page.get_by_role("tab", name="질문하기").click()
    type_question(page, "청사 주차장은 평일 몇 시까지 이용할 수 있나요?")
    page.locator("#question textarea").press("Enter")
    wait_answer(page, 1)
    cited = " ".join(page.locator("#chat .citations summary").all_inner_texts())
    assert "주차_안내_2025.txt" in cited, page.locator("#chat").inner_text()[-500:]
    shot(page, "ui-8-answer-from-upload.png")


def test_an_upload_labelled_secret_is_not_shown_to_someone_outside_its_group(page, server, tmp_path):
    """The admin labels an upload 대외비 for 감사담당관; the chat's user (no accounts: this machine's user, no groups)
    does not get it, and the refusal is the ordinary one."""
    doc = tmp_path / "감사 결과.txt"
    doc.write_text("정보시스템 감사 결과\n\n서버실 출입 기록 누락이 17건 확인되었다.\n", encoding="utf-8")
    result = upload_secret(page, doc, "감사담당관", "감사_결과.txt")
    assert "등급 대외비 (그룹 감사담당관)" in result and "실패 0건" in result, result
    page.get_by_role("tab", name="질문하기").click()
    type_question(page, "서버실 출입 기록 누락은 몇 건이야?")
    page.locator("#question textarea").press("Enter")
    wait_answer(page, 1)
    chat = page.locator("#chat").inner_text()
    assert "17건" not in chat.split("서버실 출입 기록 누락은 몇 건이야?")[-1] and "감사_결과" not in chat, chat[-400:]


def test_a_queued_question_shows_its_place_and_a_reloaded_page_frees_the_model(browser, server):
    """Two pages ask at once: the second sees that it waits in line (its place and an estimate). The first page is
    reloaded while its answer streams: its answer is cancelled (the system's audit record says so) and the second
    one starts within seconds instead of waiting for the abandoned answer to finish."""
    pages = []
    for _ in range(2):
        ctx = browser.new_context(viewport={"width": 1200, "height": 1000}, locale="ko-KR")
        pg = ctx.new_page()
        pg.goto(server.url)
        pg.wait_for_selector("#ai-notice", timeout=60_000)
        pages.append((ctx, pg))
    (ctx_a, a), (ctx_b, b) = pages
    first = "도우미를 사용할 때 질문은 어떻게 쓰고, 답을 찾지 못하면 어떻게 해야 하나요?"
    type_question(a, first)
    a.locator("#question textarea").press("Enter")
    type_question(b, "도우미는 어떤 파일 형식을 읽을 수 있나요?")
    b.locator("#question textarea").press("Enter")
    b.wait_for_function("() => document.body.innerText.includes('대기')", timeout=60_000)
    shot(b, "ui-9-queued.png")
    # its place and an estimate resting on answers this server measured (cross-checked with its audit log)
    b.wait_for_function("() => (document.querySelector('#wait-note') || {}).innerText", timeout=30_000)
    note = b.locator("#wait-note").inner_text()
    assert "앞에 질문 1건" in note, note
    answered = [r for r in audit_records(server) if r["kind"] == "ask" and not r.get("error")
                and (r.get("timings") or {}).get("total_ms")]
    m = re.search(r"약 (\d+)(초|분) \(이 서버의 최근 답변 (\d+)건", note)
    if answered:
        assert m and 1 <= int(m.group(3)) <= len(answered) and int(m.group(1)) >= 1, note
    else:
        assert not m and "첫 답변" in note, note
    (ARTIFACTS / "queue-wait-note.txt").write_text(note + "\n", encoding="utf-8")
    # the first answer streams (tokens are arriving): now its page is reloaded
    a.wait_for_function("""() => { const c = document.querySelector('#chat');
        const body = c && c.querySelector('.answer-body');
        return c.innerText.includes('▌') && body && body.innerText.trim().length > 8; }""", timeout=ANSWER_TIMEOUT_MS)
    t0 = time.monotonic()
    a.reload()
    b.wait_for_function("() => document.querySelectorAll('#chat .ai-label').length >= 1", timeout=ANSWER_TIMEOUT_MS)
    waited = time.monotonic() - t0
    wait_answer(b, 1)
    for ctx in (ctx_a, ctx_b):
        ctx.close()
    # the system's own record of the abandoned answer: cancelled (by the closed page, or at its next model step)
    cancelled = [r for r in audit_records(server) if r["kind"] == "ask" and r["question_masked"] == first]
    assert cancelled and (cancelled[-1]["error"] == "Cancelled" or cancelled[-1]["timings"].get("cancelled")), \
        cancelled[-1:]
    assert waited < 2.0, f"the next question waited {waited:.1f} s for an abandoned answer"
    (ARTIFACTS / "queue-after-reload.txt").write_text(f"next question started {waited:.2f} s after the reload\n",
                                                      encoding="utf-8")


def test_logs_hold_no_raw_value_and_record_choices_and_feedback(server):
    """Runs after the scenarios above (file order): everything on disk under the data_dir is free of the number."""
    records = audit_records(server)
    assert records, "no audit log written"
    for f in sorted(p for p in Path(server.data).rglob("*") if p.is_file()):
        data = f.read_bytes()
        for raw in RAW_FORMS + [FAKE_PHONE]:
            assert raw.encode() not in data, f"{f.relative_to(server.data)} contains a raw value"

    choices = [r["choice"] for r in records if r["kind"] == "warning"]
    # the RRN scenario's 수정하기 and 가리고 보내기, the marking scenario's 수정하기 and 그대로 보내기, and 그대로 보내기
    assert choices.count("edit") == 2 and choices.count("mask") == 1 and choices.count("send_anyway") == 2
    asks = [r for r in records if r["kind"] == "ask"]
    masked = [r for r in asks if r["sent_masked"]]
    assert len(masked) == 1 and masked[0]["finding_types"] == ["RRN"] and masked[0]["cited_sources"]
    assert "[주민등록번호]" in masked[0]["question_masked"]
    plain = [r for r in asks if not r["sent_masked"] and not r["acknowledged_warning"]]
    # the ordinary question, the evidence-preview question, the uploaded-document question, the 대외비 one and the
    # two of the queue scenario
    assert len(plain) == 6 and all(r["finding_types"] == [] for r in plain)
    ack = [r for r in asks if r["acknowledged_warning"]]
    # the marking scenario and the [대외비] scenario: both acknowledged, never "neither masked nor acknowledged"
    assert len(ack) == 2 and all(r["finding_types"] == ["CONFIDENTIAL"] for r in ack)
    warned = [r for r in asks if r["finding_types"]]
    assert all(r["sent_masked"] or r["acknowledged_warning"] for r in warned), warned

    feedback = [r for r in records if r["kind"] == "feedback"]
    assert [r["rating"] for r in feedback] == ["up", "down"]
    assert all(r["answer_id"] == masked[0]["id"] for r in feedback)
