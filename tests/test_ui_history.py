"""Conversations that last (issue 15), in real Chromium over the real app: an answered conversation survives a page
reload and a server restart (same data directory, same port), a follow-up asked in the reopened conversation is
rewritten from its earlier turns, the list is searched by text, and a deleted conversation is gone from the page
and from the store. Questions are stored masked. Screenshots go to tests/artifacts/.

Slow by nature (two LLM answers on 2 cores): about 1-2 minutes.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from test_ui_browser import (CHROMIUM, audit_records, samples_site, serve_app, shot, type_question,
                             wait_answer)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"),
    pytest.mark.timeout(900),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

FIRST = "도우미는 어떤 파일 형식을 읽을 수 있나요? 회신은 010-2345-6789로"
FOLLOWUP = "그 형식 중 HWP 문서는 암호가 걸려 있어도 등록되나요?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cfg, assistant = samples_site(tmp_path_factory, "ui-history", max_tokens=96)
    app, url = serve_app(cfg, assistant)
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    state = SimpleNamespace(url=url, cfg=cfg, data=cfg.data_dir, app=app)

    def restart():                       # the web server goes down and comes back on the same port and data
        state.app.close()
        state.app = serve_app(cfg, assistant, port)[0]

    state.restart = restart
    try:
        yield state
    finally:
        state.app.close()


def chat_text(pg) -> str:
    return pg.locator("#chat").inner_text()


def history_items(pg) -> list[str]:
    return pg.locator("#history-list label").all_inner_texts()


def test_a_conversation_survives_reload_and_restart_is_continued_searched_and_deleted(browser, server):
    from rag import conversations
    ctx = browser.new_context(viewport={"width": 1200, "height": 1100}, locale="ko-KR")
    pg = ctx.new_page()
    pg.goto(server.url)
    pg.wait_for_selector("#ai-notice", timeout=60_000)
    type_question(pg, FIRST)
    pg.locator("#question textarea").press("Enter")
    pg.wait_for_selector("#warning", state="visible", timeout=20_000)    # a phone number: masked, then sent
    pg.click("#mask-send")
    wait_answer(pg, 1)
    answered = chat_text(pg)
    assert "[전화번호]" in answered and "HWP" in answered

    pg.reload()                                                          # a reload keeps the conversation
    pg.wait_for_function("() => document.querySelectorAll('#chat .ai-label').length >= 1", timeout=60_000)
    assert "[전화번호]" in chat_text(pg) and "HWP" in chat_text(pg)
    shot(pg, "ui-history-1-after-reload.png")

    server.restart()                                                     # so does a server restart
    pg.goto(server.url)
    pg.wait_for_function("() => document.querySelectorAll('#chat .ai-label').length >= 1", timeout=60_000)
    assert "[전화번호]" in chat_text(pg)
    # a follow-up in the reopened conversation is read with its earlier turns
    type_question(pg, FOLLOWUP)
    pg.locator("#question textarea").press("Enter")
    wait_answer(pg, 2)
    follow = [r for r in audit_records(server) if r["kind"] == "ask" and r["question_masked"] == FOLLOWUP]
    assert follow and follow[-1]["rewritten_masked"], follow[-1:]

    # the list: one conversation of two turns; search by a word of its answer, and by one it does not hold
    pg.locator("#history").get_by_text("지난 대화").first.click()
    pg.wait_for_function("() => document.querySelectorAll('#history-list label').length === 1", timeout=30_000)
    assert history_items(pg)[0].strip().endswith("2")
    box = pg.locator("#history-search textarea, #history-search input").first
    box.fill("")
    box.press_sequentially("김치찌개", delay=20)          # typed: Gradio's change event follows key strokes
    pg.wait_for_function("() => document.querySelectorAll('#history-list label').length === 0", timeout=30_000)
    box.fill("")
    box.press_sequentially("형식", delay=20)
    pg.wait_for_function("() => document.querySelectorAll('#history-list label').length === 1", timeout=30_000)
    shot(pg, "ui-history-2-search.png")

    # nothing raw on disk: the stored question is masked
    store = conversations.db_path(server.data).read_bytes()
    assert b"010-2345-6789" not in store and "[전화번호]".encode() in store

    # delete: gone from the page and the store
    pg.locator("#history-list label").first.click()
    pg.click("#history-delete")
    pg.wait_for_function("() => document.querySelectorAll('#history-list label').length === 0", timeout=30_000)
    assert pg.locator("#chat .ai-label").count() == 0
    import sqlite3
    with sqlite3.connect(conversations.db_path(server.data)) as con:
        assert con.execute("SELECT COUNT(*) FROM conversations").fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0
    shot(pg, "ui-history-3-deleted.png")
    ctx.close()
