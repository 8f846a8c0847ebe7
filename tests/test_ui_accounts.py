"""Staff accounts in a real browser (issue 14): Debian's chromium driven by Playwright over the real app with
accounts, the real embedder and the default GGUF.

Two users of different departments sign in through the login page and ask the same question: each gets the answer
from their own department's 대외비 document, with its citation, and never the other's. An admin signs in, sees the
document, user and audit tabs (the others do not), adds an account through the user tab, labels an upload 대외비 for
one group; the new account (in that group) gets it cited, a user outside the group does not; the audit view lists
each user's cited documents. Screenshots go to tests/artifacts/.

Slow by nature (four LLM answers on 2 cores): about 2-4 minutes.
"""
from __future__ import annotations

import os
import re
from types import SimpleNamespace

import pytest

from test_ui_browser import (CHROMIUM, MODELS, _gguf_present, serve_app, shot, type_question,
                             upload_secret, wait_answer)

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"),
    pytest.mark.timeout(900),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

QUESTION = "2026년 보안 점검에서 확인된 출입 기록 누락은 몇 건인가요?"
AUDIT_DOC, TRAFFIC_DOC = "감사_점검결과.txt", "교통_점검결과.txt"
PASSWORDS = {"kim": "kim-pass-2026", "lee": "lee-pass-2026", "park": "park-pass-2026", "choi": "choi-pass-2026"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not _gguf_present():
        pytest.skip(f"the default GGUF is not provisioned in {MODELS} (run `rag doctor`)")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from index.access import make_label
    from index.store import update_index
    from rag import users
    from rag.config import load_config
    from rag.runtime import open_assistant, open_embedder, pii_screen

    base = tmp_path_factory.mktemp("ui-accounts")
    cfg = load_config(env={}, data_dir=base / "data", model_cache_dir=MODELS, evidence_chars=700, max_tokens=96)
    users.add(cfg.data_dir, "kim", PASSWORDS["kim"], ["감사담당관"])
    users.add(cfg.data_dir, "lee", PASSWORDS["lee"], ["교통정책과"])
    users.add(cfg.data_dir, "park", PASSWORDS["park"], [], admin=True)
    embedder, emb_path = open_embedder(cfg)
    docs = {AUDIT_DOC: ("감사담당관", 17), TRAFFIC_DOC: ("교통정책과", 4)}
    for name, (group, n) in docs.items():
        folder = base / group
        folder.mkdir()
        (folder / name).write_text(f"2026년 보안 점검 결과\n\n2026년 보안 점검에서 확인된 출입 기록 누락은 {n}건이다.\n"
                                   "누락 기록은 점검 후 한 달 안에 보완한다.\n", encoding="utf-8")
        rep = update_index(cfg.resolved_index_dir, [folder], embedder, emb_path, screen=pii_screen("mask"),
                           label=make_label("대외비", [group]))
        assert rep.ok and rep.added, rep.to_json()
    app, url = serve_app(cfg, open_assistant(cfg))
    try:
        yield SimpleNamespace(url=url, cfg=cfg, base=base)
    finally:
        app.close()


def sign_in(browser, server, name: str, shot_name: str | None = None):
    """A fresh browser context signed in through the login page as `name`; returns (context, page)."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 1000}, locale="ko-KR")
    pg = ctx.new_page()
    pg.goto(server.url)
    pg.locator("input[type=password]").wait_for(timeout=60_000)
    assert pg.locator("#ai-notice").count() == 0            # nothing of the app before signing in
    pg.locator("input:not([type=password])").first.fill(name)
    pg.locator("input[type=password]").fill(PASSWORDS[name])
    if shot_name:
        shot(pg, shot_name)
    pg.locator("input[type=password]").press("Enter")
    pg.wait_for_selector("#ai-notice", timeout=60_000)
    return ctx, pg


def ask(pg, question: str) -> tuple[str, str]:
    """(the answer's text, the cited passages' summaries) after asking `question` in a fresh chat."""
    type_question(pg, question)
    pg.locator("#question textarea").press("Enter")
    wait_answer(pg, 1)
    chat = pg.locator("#chat").inner_text().split(question)[-1]
    return chat, " ".join(pg.locator("#chat .citations summary").all_inner_texts())


def tab_visible(pg, name: str) -> bool:
    tab = pg.get_by_role("tab", name=name)
    return tab.count() > 0 and tab.first.is_visible()


def test_the_login_page_has_no_serious_accessibility_violation(browser, server):
    """axe-core (as tests/test_ui_a11y.py runs it) on the page every official sees first when accounts exist."""
    from test_ui_a11y import AXE, describe, run_axe
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed ({AXE}): npm ci --prefix tests/a11y (scripts/test.sh does it)")
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ko-KR")
    pg = ctx.new_page()
    pg.goto(server.url)
    pg.locator("input[type=password]").wait_for(timeout=60_000)
    bad = run_axe(pg, "login", {}, summary_name="axe-summary-login.md")
    ctx.close()
    assert not bad, f"axe on the login page:\n{describe(bad)}"


def test_a_wrong_password_is_refused(browser, server):
    ctx = browser.new_context(locale="ko-KR")
    pg = ctx.new_page()
    pg.goto(server.url)
    pg.locator("input[type=password]").wait_for(timeout=60_000)
    pg.locator("input:not([type=password])").first.fill("kim")
    pg.locator("input[type=password]").fill("not-the-password")
    pg.locator("input[type=password]").press("Enter")
    pg.wait_for_timeout(1500)
    assert pg.locator("#ai-notice").count() == 0 and pg.locator("input[type=password]").is_visible()
    ctx.close()


def test_two_departments_ask_the_same_question_and_see_different_citations(browser, server):
    answers = {}
    for name, own, other, n in (("kim", AUDIT_DOC, TRAFFIC_DOC, "17"), ("lee", TRAFFIC_DOC, AUDIT_DOC, "4")):
        ctx, pg = sign_in(browser, server, name, "ui-accounts-1-login.png" if name == "kim" else None)
        try:
            pg.wait_for_timeout(2000)                  # the page's load event has decided the admin tabs by now
            assert not tab_visible(pg, "문서 관리") and not tab_visible(pg, "사용자 관리") \
                and not tab_visible(pg, "감사 기록")
            answer, cited = ask(pg, QUESTION)
            shot(pg, f"ui-accounts-2-answer-{name}.png")
            html = pg.content()
        finally:
            ctx.close()
        assert own in cited, (name, answer[-400:])
        assert other not in cited and other.split(".")[0] not in html, name
        assert re.search(rf"(?<!\d){n}\s*건", answer), (name, answer[-400:])
        answers[name] = cited
    assert answers["kim"] != answers["lee"]


def documents_listed(pg, where: str = "#documents") -> str:
    """The document list's text once loaded (the chat's list, or the admin tab's with where="#admin-documents")."""
    pg.locator(where).locator("button, .label-wrap, span").first.click()
    pg.wait_for_function("w => { const t = document.querySelector(w + '-table'); return t && /문서 \\d+건|등록된 문서가 없습니다/"
                         ".test(t.innerText); }", arg=where, timeout=30_000)
    return pg.locator(f"{where}-table").inner_text()


def test_the_document_list_shows_each_user_exactly_what_they_may_see(browser, server):
    """Issue 32: what the assistant knows, within what each may see: kim (감사담당관) and lee (교통정책과) each see their
    department's 대외비 document and never the other's, anywhere in the page; the admin park, in no group, sees neither
    in the chat's list and both, with their labels, in the document tab's list of files."""
    for name, own, other in (("kim", AUDIT_DOC, TRAFFIC_DOC), ("lee", TRAFFIC_DOC, AUDIT_DOC)):
        ctx, pg = sign_in(browser, server, name)
        try:
            listed = documents_listed(pg)
            shot(pg, f"ui-accounts-documents-{name}.png")
            assert own in listed and "문서 1건" in listed and other not in listed, listed
            assert other not in pg.content() and other.split(".")[0] not in pg.content()
        finally:
            ctx.close()
    ctx, pg = sign_in(browser, server, "park")
    try:
        assert "등록된 문서가 없습니다" in documents_listed(pg)
        pg.get_by_role("tab", name="문서 관리").click()
        files = documents_listed(pg, "#admin-documents")
        assert AUDIT_DOC in files and TRAFFIC_DOC in files and "대외비 (감사담당관)" in files, files
    finally:
        ctx.close()


def test_admin_adds_an_account_labels_an_upload_and_reads_the_audit(browser, server, tmp_path):
    ctx, pg = sign_in(browser, server, "park")
    try:
        for tab in ("문서 관리", "사용자 관리", "감사 기록"):
            pg.get_by_role("tab", name=tab).wait_for(state="visible", timeout=30_000)
        # a new account in the user tab: the password never appears on the page afterwards
        pg.get_by_role("tab", name="사용자 관리").click()
        pg.wait_for_function("() => document.querySelector('#users-table').innerText.includes('park')",
                             timeout=30_000)
        pg.locator("#user-name input, #user-name textarea").first.fill("choi")
        pg.locator("#user-password input").fill(PASSWORDS["choi"])
        pg.locator("#user-groups input, #user-groups textarea").first.fill("감사담당관")
        pg.click("#user-add")
        pg.wait_for_function("() => document.querySelector('#users-table').innerText.includes('choi')",
                             timeout=30_000)
        assert "감사담당관" in pg.locator("#users-table").inner_text()
        assert pg.locator("#user-password input").input_value() == ""
        assert PASSWORDS["choi"] not in pg.content()
        shot(pg, "ui-accounts-3-users.png")
        # an upload labelled 대외비 for 감사담당관
        doc = tmp_path / "감사 조치 계획.txt"
        doc.write_text("감사 조치 계획\n\n출입 기록 누락에 대한 조치 책임자는 보안팀장이며 조치 기한은 2027년 2월 26일이다.\n",
                       encoding="utf-8")
        assert "등급 대외비 (그룹 감사담당관)" in upload_secret(pg, doc, "감사담당관", "감사_조치_계획.txt")
        shot(pg, "ui-accounts-4-upload.png")
    finally:
        ctx.close()
    question = "출입 기록 누락 조치 기한은 언제인가요?"
    ctx, pg = sign_in(browser, server, "choi")                 # the account made in the browser
    try:
        answer, cited = ask(pg, question)
    finally:
        ctx.close()
    assert "감사_조치_계획.txt" in cited, answer[-400:]
    ctx, pg = sign_in(browser, server, "lee")
    try:
        answer, cited = ask(pg, question)
        html = pg.content()
    finally:
        ctx.close()
    assert "감사_조치" not in html and "2월 26일" not in answer and "보안팀장" not in answer, answer[-400:]
    # the audit view: each user's answers with the documents cited, for the admin only
    ctx, pg = sign_in(browser, server, "park")
    try:
        pg.get_by_role("tab", name="감사 기록").click()
        # the tab shows everyone's records first; then the filter
        pg.wait_for_function("() => document.querySelector('#audit-table').innerText.includes('lee')", timeout=30_000)
        pg.locator("#audit-user input, #audit-user textarea").first.fill("choi")
        pg.click("#audit-show")
        pg.wait_for_function("""() => { const t = document.querySelector('#audit-table').innerText;
                                return t.includes('감사_조치_계획.txt') && !t.includes('lee'); }""", timeout=30_000)
        table = pg.locator("#audit-table").inner_text()
        assert "choi" in table and "lee" not in table
        shot(pg, "ui-accounts-5-audit.png")
    finally:
        ctx.close()
