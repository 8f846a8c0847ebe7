"""A day at the desk (issue 32), in real Chromium over the real app and model: copy gives plain text with sources,
[n] in an answer opens its source with the highlighted sentence in view, a citation is labelled with its own
section, no repair note reaches the page, feedback on a reloaded answer is stored against its record, export
downloads a .docx python-docx reads back, a refusal shows the nearest documents and a rephrasing, the document
list shows what the assistant knows, a question that stands on its own is not rewritten, and the skip link takes
the keyboard to the question box.

Every check reads what the system recorded or served (the clipboard, the audit log, the downloaded file), not what
the test sent. Slow by nature (two LLM answers on 2 cores): about 2 minutes.
"""
from __future__ import annotations

import json
import re
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from test_ui_browser import (CHROMIUM, ROOT, audit_records, served_samples, shot, type_question,
                             wait_answer)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"),
    pytest.mark.timeout(900),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

QUESTION = "답변을 보고서에 쓰기 전에 무엇을 확인해야 하나요?"
STANDALONE = "HWP 지원돼?"              # short, but a whole question: the code before rewrote anything ≤ 8 characters
ABSENT = "부산광역시 도시철도 요금 인상 계획은 어떻게 되나요?"      # a city the samples never mention


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served_samples(tmp_path_factory, "ui-desk")


@pytest.fixture(scope="module")
def desk(browser, server):
    """One page (clipboard allowed) that asked QUESTION once; the scenarios below read that answer."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ko-KR", accept_downloads=True,
                              permissions=["clipboard-read", "clipboard-write"])
    pg = ctx.new_page()
    pg.goto(server.url)
    pg.wait_for_selector("#ai-notice", timeout=60_000)
    type_question(pg, QUESTION)
    pg.locator("#question textarea").press("Enter")
    wait_answer(pg, 1)
    shot(pg, "ui-desk-1-answer.png")
    yield SimpleNamespace(page=pg, ctx=ctx)
    ctx.close()


@contextmanager
def fresh_page(browser, server):
    """A new browser session on the app, loaded."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ko-KR")
    try:
        pg = ctx.new_page()
        pg.goto(server.url)
        pg.wait_for_selector("#ai-notice", timeout=60_000)
        yield pg
    finally:
        ctx.close()


def md_section_of(quote: str) -> str | None:
    """The '## ' heading above the line of samples/*.md that holds `quote` (None: not in a Markdown sample)."""
    for f in sorted(ROOT.glob("samples/*.md")):
        heading = None
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            elif quote and quote in " ".join(line.split()):
                return heading
    return None


def shown_answer(pg) -> str:
    """The last answer's text as the page shows it (the screen-reader words of its [n] links left out)."""
    return pg.locator("#chat .answer-body").last.evaluate(
        "el => { const c = el.cloneNode(true); c.querySelectorAll('.sr-only').forEach(s => s.remove());"
        " return c.textContent.trim(); }")


def answer_record(server) -> dict:
    asks = [r for r in audit_records(server) if r["kind"] == "ask" and r["question_masked"] == QUESTION]
    assert len(asks) == 1, asks
    return asks[0]


def test_the_answer_has_citations_labelled_with_their_own_section_and_no_repair_note(desk, server):
    pg = desk.page
    rec = answer_record(server)
    assert rec["verified"] and rec["cited_sources"], rec
    summaries = [s.strip() for s in pg.locator("#chat .citations summary").all_text_contents()]
    quotes = [q.split(":", 1)[1].strip().strip("“”") for q in pg.locator("#chat .citations .quote").all_text_contents()]
    checked = 0
    for summary, quote in zip(summaries, quotes):
        section = md_section_of(" ".join(quote.split(" … ")[0].split()))
        if section is not None:
            assert summary.endswith(section), (summary, quote, section)
            checked += 1
    assert checked, f"no cited quote from a Markdown sample to check: {summaries} {quotes}"
    # repair notes are for the audit log only: whatever the code corrected, the page says nothing of it
    text = pg.locator("#chat").inner_text()
    assert "고쳤습니다" not in text and "모델이 붙인" not in text
    assert isinstance(rec["repairs"], list)


def test_copy_gives_the_answer_then_numbered_sources_as_plain_text(desk):
    pg = desk.page
    body = shown_answer(pg)
    pg.locator("#chat .citations").last.scroll_into_view_if_needed()
    pg.locator("#chat button[aria-label='메시지 복사'], #chat button[aria-label='Copy message']").last.click()
    copied = ""
    for _ in range(20):
        copied = pg.evaluate("() => navigator.clipboard.readText()")
        if copied:
            break
        time.sleep(0.25)
    (Path(ROOT / "tests" / "artifacts") / "ui-desk-copied.txt").write_text(copied, encoding="utf-8")
    assert copied.startswith(body), (copied[:200], body[:200])
    assert "<" not in copied and "&lt;" not in copied and "AI 생성" not in copied
    lines = copied.splitlines()
    sources = [ln for ln in lines if re.match(r"\[\d+\] ", ln)]
    n_cites = pg.locator("#chat .citations details").count()
    assert len(sources) == n_cites and all(" — “" in ln and ln.endswith("”") for ln in sources), lines


def test_a_number_in_the_answer_opens_its_source_with_the_sentence_in_view(desk):
    pg = desk.page
    links = pg.locator("#chat .answer-body a.cite-ref")
    assert links.count() >= 1, pg.locator("#chat .answer-body").last.inner_html()
    link = links.last
    n = re.search(r"cite-ref-(\d+)", link.get_attribute("class")).group(1)
    details = pg.locator(f"#chat details.cite-{n}").last
    pg.evaluate("n => document.querySelectorAll('#chat details').forEach(d => d.open = false)", n)
    pg.evaluate("() => { const l = document.querySelector('#chat [role=log]') || document.querySelector('#chat');"
                " l.scrollTop = 0; }")
    link.click()
    pg.wait_for_function("n => { const d = [...document.querySelectorAll('#chat details.cite-' + n)].pop();"
                         " return d && d.open; }", arg=n, timeout=5_000)
    time.sleep(0.8)                                   # the smooth scroll, if any
    in_view = pg.evaluate("""n => { const d = [...document.querySelectorAll('#chat details.cite-' + n)].pop();
        const m = d.querySelector('mark') || d; const r = m.getBoundingClientRect();
        let box = d.parentElement; while (box && box !== document.body) {
          const s = getComputedStyle(box); if (/(auto|scroll)/.test(s.overflowY) && box.scrollHeight > box.clientHeight) break;
          box = box.parentElement; }
        const b = box && box !== document.body ? box.getBoundingClientRect() : {top: 0, bottom: innerHeight};
        return r.height > 0 && r.top >= Math.max(b.top, 0) - 1 && r.bottom <= Math.min(b.bottom, innerHeight) + 1; }""",
                          n)
    shot(pg, "ui-desk-2-cite-link.png")
    assert details.evaluate("d => d.open") and in_view, "the cited sentence is not in view after clicking its number"


def test_export_downloads_a_docx_with_the_answer_and_its_sources(desk, tmp_path):
    import docx
    pg = desk.page
    pg.click("#export-button")
    pg.wait_for_selector("#export-files a", timeout=30_000)
    link = pg.locator("#export-files a[download$='.docx']").first
    with pg.expect_download(timeout=30_000) as dl:
        link.click()
    path = tmp_path / "export.docx"
    dl.value.save_as(str(path))
    paras = [p.text for p in docx.Document(str(path)).paragraphs]
    body = shown_answer(pg)
    assert f"질문 1. {QUESTION}" in paras and body in paras, paras[:8]
    assert any(re.match(r"\[\d+\] .+ — “.+”$", p) for p in paras), paras


def test_feedback_on_a_reloaded_answer_is_stored_against_its_record(desk, server):
    pg = desk.page
    rid = answer_record(server)["id"]
    pg.reload()
    pg.wait_for_function("() => document.querySelectorAll('#chat .ai-label').length >= 1", timeout=60_000)
    before = len([r for r in audit_records(server) if r["kind"] == "feedback"])
    pg.locator("#chat button[aria-label='싫어요'], #chat button[aria-label='Dislike']").last.click()
    pg.wait_for_function("() => document.querySelector('#fb-status').innerText.includes('저장')", timeout=20_000)
    shot(pg, "ui-desk-3-feedback-after-reload.png")
    feedback = [r for r in audit_records(server) if r["kind"] == "feedback"][before:]
    assert [(r["answer_id"], r["rating"]) for r in feedback] == [(rid, "down")], feedback


WATCH_READING_JS = """() => { window.__reading = [];
  new MutationObserver(() => { const t = (document.querySelector('#chat') || {}).innerText || '';
    const m = t.match(/근거 자료 \\d+건을 읽고 있습니다[^\\n]*/); if (m && !window.__reading.includes(m[0])) {
      window.__reading.push(m[0]); } }).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


def test_a_question_that_stands_on_its_own_is_not_rewritten_and_the_wait_is_explained(desk, server):
    """Also honest waiting: while the model reads, the chat says how many sources it reads and, from the speed this
    server measured on the first answer, when the answer should start."""
    pg = desk.page                                    # the conversation above (reloaded) is the history
    pg.evaluate(WATCH_READING_JS)
    type_question(pg, STANDALONE)
    pg.locator("#question textarea").press("Enter")
    wait_answer(pg, 2)
    rec = [r for r in audit_records(server) if r["kind"] == "ask" and r["question_masked"] == STANDALONE]
    assert rec and rec[-1]["rewritten_masked"] is None, rec[-1:]
    assert pg.locator("#chat .rewritten").count() == 0
    shot(pg, "ui-desk-6-standalone.png")
    reading = pg.evaluate("window.__reading")
    assert any(re.search(r"초당 약 \d+토큰\)로 약 \d+(초|분) 뒤 답변이 시작됩니다", r) for r in reading), reading


def test_a_refusal_shows_the_nearest_documents_and_a_rephrasing(browser, server):
    with fresh_page(browser, server) as pg:
        type_question(pg, ABSENT)
        pg.locator("#question textarea").press("Enter")
        wait_answer(pg, 1)
        chat = pg.locator("#chat")
        assert chat.locator(".refusal").count() == 1 and "부산" in chat.inner_text()
        nearest = chat.locator(".refusal-help details.nearest")
        assert nearest.count() >= 1
        names = nearest.locator("summary").all_inner_texts()
        indexed = {p.name for p in (ROOT / "samples").iterdir()}
        assert all(n.split(" · ")[0] in indexed for n in names), names
        assert chat.locator(".refusal-help .suggestion").inner_text().count("무엇인가요?") >= 1
        assert "관리자" in chat.locator(".refusal-help .refusal-next").inner_text()
        shot(pg, "ui-desk-4-refusal.png")
    rec = [r for r in audit_records(server) if r["kind"] == "ask" and r["question_masked"] == ABSENT]
    assert rec and rec[-1]["refused"] is True


def test_the_document_list_shows_what_the_assistant_knows(browser, server):
    with fresh_page(browser, server) as pg:
        pg.locator("#documents").get_by_text("등록된 자료 목록").first.click()
        pg.wait_for_function("() => document.querySelectorAll('#documents-table tbody tr, #documents-table tr')"
                             ".length >= 4", timeout=30_000)
        text = pg.locator("#documents-table").inner_text()
        from index.store import current_generation
        files = json.loads((current_generation(server.cfg.resolved_index_dir) / "files.json").read_text())
        for meta in files.values():
            assert Path(meta["source"]).name in text and meta["indexed"][:10] in text
        assert "문서 4건" in text
        box = pg.locator("#documents-search textarea, #documents-search input").first
        box.press_sequentially("보안", delay=20)
        pg.wait_for_function("() => document.querySelector('#documents-table').innerText.includes('문서 1건')",
                             timeout=30_000)
        assert "02_개인정보_보안지침.txt" in pg.locator("#documents-table").inner_text()
        shot(pg, "ui-desk-5-documents.png")


def test_the_skip_link_takes_the_keyboard_to_the_question_box(browser, server):
    with fresh_page(browser, server) as pg:
        pg.mouse.click(2, 2)                          # the top of the page: Tab starts from there
        pg.keyboard.press("Tab")
        assert pg.evaluate("() => document.activeElement.classList.contains('skip-link')")
        assert pg.evaluate("() => document.activeElement.getBoundingClientRect().width > 0"), "invisible on focus"
        pg.keyboard.press("Enter")
        assert pg.evaluate("() => document.activeElement === document.querySelector('#question textarea')")
