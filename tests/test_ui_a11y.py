"""Accessibility of the browser chat (KWCAG 2.2 / WCAG 2.1 AA), checked by a real engine: axe-core in Debian's chromium
driven by Playwright, over the real app (the real embedder and the default GGUF, the samples/ index).

For each state (the chat tab after load, with the warning panel open, after one answered question; the 문서 관리 tab
before and after an upload; the 사용자 관리 and 감사 기록 tabs; the chat again in the browser's dark mode) axe-core runs
with the WCAG 2.0/2.1 A and AA rules and no violation of impact serious or critical may remain; the text contrast axe
leaves undecided (its "incomplete": the tabs' underline pseudo element) and the placeholders are measured here. Beside
axe: every visible button, tab, text box and other control has a Korean accessible name (Chromium's own accessibility
tree, as a screen reader gets it), every element reached by Tab shows a focus indicator of at least 3:1 against what
surrounds it, the streamed answer is not announced token by token (the chat log is not a live region; one polite
status says when the answer is complete), the warning panel's alert is inserted once, not again on every key stroke,
and Gradio's progress and status texts are Korean.

axe-core is pinned in tests/a11y/package-lock.json (scripts/test.sh runs `npm ci --prefix tests/a11y`). Each full axe
result goes to tests/artifacts/axe-<state>.json, a per-state count by impact to tests/artifacts/axe-summary.md, and a
screenshot of each state to tests/artifacts/a11y-<state>.png.

Slow by nature (two LLM answers and one small upload on 2 cores): about 3 minutes.
"""
from __future__ import annotations

import json
import re
import time

import pytest

from test_ui_browser import (ARTIFACTS, CHROMIUM, ROOT, served_samples, type_question,
                             wait_answer)

AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
IMPACTS = ("critical", "serious", "moderate", "minor")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# roles whose accessible name a screen reader announces as the control's (or region's) name
NAMED_ROLES = {"button", "tab", "textbox", "searchbox", "combobox", "checkbox", "radio", "switch", "slider",
               "spinbutton", "link", "menuitem", "option", "listbox", "log", "region", "dialog", "progressbar",
               "img", "tablist", "tabpanel", "navigation", "form", "group"}
# roles that must have a (Korean) name; the others are checked only when they carry one
MUST_NAME = {"button", "tab", "textbox", "searchbox", "combobox", "checkbox", "radio", "switch", "slider",
             "spinbutton", "link", "menuitem", "log", "progressbar"}
FAKE_RRN = "900101-1234567"                     # fake: a plausible date, not a real person's number

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(not AXE.is_file(), reason=f"axe-core is not installed ({AXE.relative_to(ROOT)} missing): "
                                                 "npm ci --prefix tests/a11y (scripts/test.sh does it)"),
    pytest.mark.timeout(900),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


# ------------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served_samples(tmp_path_factory, "ui-a11y", max_tokens=96)


@pytest.fixture(scope="module")
def summary():
    """State -> {impact: count} of axe violations; written to axe-summary.md after every scan."""
    return {}


def open_page(browser, server, color_scheme: str = "light"):
    ctx = browser.new_context(viewport={"width": 1200, "height": 1000}, locale="ko-KR", color_scheme=color_scheme)
    pg = ctx.new_page()
    pg.goto(server.url)
    pg.wait_for_selector("#ai-notice", timeout=60_000)
    pg.wait_for_selector("#question textarea", timeout=30_000)
    return pg


@pytest.fixture
def page(browser, server):
    pg = open_page(browser, server)
    yield pg
    pg.context.close()


# ------------------------------------------------------------------------------------------------ helpers

def write_summary(summary: dict, name: str = "axe-summary.md") -> None:
    lines = ["# axe-core " + _axe_version() + f" ({', '.join(AXE_TAGS)})", "",
             "| state | " + " | ".join(IMPACTS) + " | rules |", "|---" * (len(IMPACTS) + 2) + "|"]
    for state, s in summary.items():
        rules = ", ".join(f"{r} ({i}, {n})" for r, i, n in s["rules"]) or "-"
        lines.append(f"| {state} | " + " | ".join(str(s["counts"][i]) for i in IMPACTS) + f" | {rules} |")
    (ARTIFACTS / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _axe_version() -> str:
    m = re.search(r"axe v([\d.]+)", AXE.read_text(encoding="utf-8")[:200])
    return m.group(1) if m else "?"


def run_axe(pg, state: str, summary: dict, summary_name: str = "axe-summary.md") -> list[dict]:
    """axe-core over the whole document with the WCAG 2.0/2.1 A+AA rules; the full result goes to axe-<state>.json.
    Returns the serious and critical violations."""
    time.sleep(0.6)                                   # let Gradio's fade-ins and the page JS settle
    if not pg.evaluate("() => typeof window.axe !== 'undefined'"):
        pg.add_script_tag(path=str(AXE))
    result = pg.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    (ARTIFACTS / f"axe-{state}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    pg.screenshot(path=str(ARTIFACTS / f"a11y-{state}.png"), full_page=True)
    violations = result["violations"]
    counts = {i: sum(len(v["nodes"]) for v in violations if v["impact"] == i) for i in IMPACTS}
    summary[state] = {"counts": counts, "rules": [(v["id"], v["impact"], len(v["nodes"])) for v in violations]}
    write_summary(summary, summary_name)
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    out = []
    for v in violations:
        out.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])}): {v['help']}")
        for n in v["nodes"][:6]:
            out.append(f"    {n['target']} {n['html'][:160]!r}\n      {n.get('failureSummary', '')[:300]!r}")
    return "\n".join(out)


def assert_no_serious(pg, state: str, summary: dict) -> None:
    """No serious/critical axe violation, and the text contrast axe could not decide (its "incomplete" results: a
    pseudo element, an overlap) and the placeholders (which axe does not check) measured here instead."""
    bad = run_axe(pg, state, summary)
    assert not bad, f"axe: serious/critical violations in state {state}:\n{describe(bad)}"
    result = json.loads((ARTIFACTS / f"axe-{state}.json").read_text(encoding="utf-8"))
    targets = [n["target"][0] for v in result["incomplete"] if v["id"] == "color-contrast" for n in v["nodes"]
               if n["target"] and isinstance(n["target"][0], str)]
    low = [c for c in pg.evaluate(TEXT_CONTRAST_JS, targets) if contrast(parse_rgb(c["fg"])[:3], parse_rgb(c["bg"])[:3])
           < (3.0 if c["large"] else 4.5)]
    assert not low, f"{state}: text contrast below AA (axe incomplete / placeholders):\n" + "\n".join(
        f"  {c['what']} {c['fg']} on {c['bg']}: {contrast(parse_rgb(c['fg'])[:3], parse_rgb(c['bg'])[:3]):.2f}:1 "
        f"{c['html']!r}" for c in low)


# the colours of the given elements' text, and of every visible placeholder, against the nearest opaque background
TEXT_CONTRAST_JS = """(targets) => {
  const bgOf = (el) => {
    for (let p = el; p; p = p.parentElement) {
      const c = getComputedStyle(p).backgroundColor; const m = c.match(/rgba?\\(([^)]*)\\)/);
      if (m) { const parts = m[1].split(/[ ,\\/]+/).filter(Boolean); if (parts.length < 4 || parseFloat(parts[3]) > 0.5) { return c; } }
    }
    return 'rgb(255, 255, 255)';
  };
  const large = (cs) => { const px = parseFloat(cs.fontSize); return px >= 24 || (px >= 18.66 && parseInt(cs.fontWeight) >= 700); };
  const out = [];
  for (const t of targets) {
    const el = document.querySelector(t);
    if (!el) { continue; }
    const cs = getComputedStyle(el);
    out.push({what: 'text', fg: cs.color, bg: bgOf(el), large: large(cs), html: el.outerHTML.slice(0, 120)});
  }
  for (const el of document.querySelectorAll('textarea[placeholder], input[placeholder]')) {
    if (!el.getAttribute('placeholder') || !el.checkVisibility()) { continue; }
    const ph = getComputedStyle(el, '::placeholder');
    out.push({what: 'placeholder', fg: ph.color, bg: bgOf(el), large: large(ph), html: el.outerHTML.slice(0, 120)});
  }
  return out;
}"""


def named_controls(pg) -> list[dict]:
    """The visible nodes of Chromium's accessibility tree with a role in NAMED_ROLES: role, name and the element."""
    cdp = pg.context.new_cdp_session(pg)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        out = []
        for n in nodes:
            role = (n.get("role") or {}).get("value")
            if n.get("ignored") or role not in NAMED_ROLES or "backendDOMNodeId" not in n:
                continue
            name = str((n.get("name") or {}).get("value") or "").strip()
            try:
                obj = cdp.send("DOM.resolveNode", {"backendNodeId": n["backendDOMNodeId"]})["object"]
                info = cdp.send("Runtime.callFunctionOn", {
                    "objectId": obj["objectId"], "returnByValue": True,
                    "functionDeclaration": """function() {
                        const el = this.nodeType === 1 ? this : this.parentElement;
                        const r = el.getBoundingClientRect();
                        const visible = el.checkVisibility({visibilityProperty: true}) && r.width > 0 && r.height > 0;
                        return {visible, html: el.outerHTML.slice(0, 160)}; }"""})["result"]["value"]
            except sync_api.Error:                     # a node removed meanwhile
                continue
            if info["visible"]:
                out.append({"role": role, "name": name, "html": info["html"]})
        return out
    finally:
        cdp.detach()


def assert_korean_names(pg, state: str) -> None:
    controls = named_controls(pg)
    assert any(c["role"] == "button" for c in controls), "no button found in the accessibility tree"
    bad = [c for c in controls if (c["name"] and not HANGUL.search(c["name"]))
           or (not c["name"] and c["role"] in MUST_NAME)]
    assert not bad, f"{state}: controls without a Korean accessible name:\n" + "\n".join(
        f"  {c['role']} {c['name']!r}: {c['html']!r}" for c in bad)


def _luminance(rgb: tuple[float, float, float]) -> float:
    def ch(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def parse_rgb(css: str) -> tuple[float, float, float, float] | None:
    m = re.search(r"rgba?\(([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:[,\s/]+([\d.]+))?\)", css or "")
    if not m:
        return None
    r, g, b, a = m.groups()
    return float(r), float(g), float(b), float(a) if a is not None else 1.0


FOCUS_STYLE_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return null; }
  const cs = getComputedStyle(el);
  // the colour the indicator is drawn on: the nearest opaque background outside the element
  let bg = 'rgb(255, 255, 255)';
  for (let p = el.parentElement; p; p = p.parentElement) {
    const c = getComputedStyle(p).backgroundColor;
    const m = c.match(/rgba?\\(([^)]*)\\)/);
    if (m) { const parts = m[1].split(/[ ,\\/]+/).filter(Boolean); if (parts.length < 4 || parseFloat(parts[3]) > 0.5) { bg = c; break; } }
  }
  const r = el.getBoundingClientRect();
  return {outlineStyle: cs.outlineStyle, outlineWidth: parseFloat(cs.outlineWidth) || 0, outlineColor: cs.outlineColor,
          boxShadow: cs.boxShadow, bg, focusVisible: el.matches(':focus-visible'), visible: r.width > 0 && r.height > 0,
          html: el.outerHTML.slice(0, 140), id: (el.closest('[id]') || {}).id || ''};
}"""


def focus_problem(style: dict) -> str | None:
    """Why the focused element's indicator fails (None: a visible outline or box-shadow of >= 3:1)."""
    bg = parse_rgb(style["bg"])[:3]
    if style["outlineStyle"] != "none" and style["outlineWidth"] >= 2:
        c = parse_rgb(style["outlineColor"])
        if c and c[3] > 0.9 and contrast(c[:3], bg) >= 3.0:
            return None
        return f"outline {style['outlineColor']} on {style['bg']}: {contrast(c[:3], bg) if c else 0:.2f}:1"
    if style["boxShadow"] and style["boxShadow"] != "none":
        c = parse_rgb(style["boxShadow"])
        width = [float(x) for x in re.findall(r"([\d.]+)px", style["boxShadow"])]
        if c and c[3] > 0.9 and contrast(c[:3], bg) >= 3.0 and width and max(width) >= 2:
            return None
        return f"box-shadow {style['boxShadow']} on {style['bg']}"
    return f"no outline or box-shadow ({style['outlineStyle']} {style['outlineWidth']}px)"


def check_focus_ring(pg, start: str, steps: int, must_reach: tuple[str, ...] = (), key: str = "Tab") -> list[str]:
    """Focus `start`, then press `key` (Tab or Shift+Tab) `steps` times; every focused element must show an indicator
    of >= 3:1. Returns the ids reached (closest element with an id)."""
    pg.locator(start).first.focus()
    reached, problems = [], []
    for i in range(steps + 1):
        if i:
            pg.keyboard.press(key)
        pg.wait_for_timeout(350)                      # Gradio's buttons fade their outline in (transition 0.2 s)
        style = pg.evaluate(FOCUS_STYLE_JS)
        if not style or not style["visible"]:
            continue
        reached.append(style["id"])
        why = focus_problem(style)
        if why:
            problems.append(f"{style['id']}: {why} (focus-visible={style['focusVisible']}) {style['html']!r}")
    assert not problems, "focus indicator missing or too faint:\n" + "\n".join(problems)
    missing = [e for e in must_reach if e not in reached]
    assert not missing, f"not reached by Tab: {missing} (reached {reached})"
    return reached


def open_admin_tab(pg, name: str, elem: str) -> None:
    tab = pg.get_by_role("tab", name=name)
    tab.wait_for(state="visible", timeout=30_000)
    tab.click()
    pg.wait_for_selector(f"#{elem}", state="visible", timeout=30_000)


# ------------------------------------------------------------------------------------------------ scenarios

def test_chat_tab_after_load(page, summary):
    assert page.evaluate("document.documentElement.lang") == "ko"
    assert_no_serious(page, "chat-load", summary)
    assert_korean_names(page, "chat-load")
    check_focus_ring(page, "#question textarea", 5, must_reach=("question", "send", "new-chat"))


WATCH_ALERT_JS = """() => { window.__alerts = 0;
  new MutationObserver(ms => { for (const m of ms) { for (const n of m.addedNodes) {
      if (n.nodeType === 1 && (n.matches('[role=alert]') || n.querySelector('[role=alert]'))) { window.__alerts++; } } } })
    .observe(document.querySelector('#warning-text') || document.body, {subtree: true, childList: true}); }"""


def test_chat_tab_with_the_warning_panel_open(page, summary):
    page.evaluate(WATCH_ALERT_JS)
    type_question(page, f"민원인 {FAKE_RRN} 건 문의")
    page.wait_for_selector("#warning", state="visible", timeout=20_000)
    time.sleep(1.0)
    first = page.evaluate("window.__alerts")
    assert first >= 1
    page.locator("#question textarea").press_sequentially(" 드립니다", delay=60)   # same findings, same panel
    time.sleep(2.0)
    assert page.evaluate("window.__alerts") == first, "the warning alert was inserted again on an identical panel"
    assert_no_serious(page, "chat-warning", summary)
    assert_korean_names(page, "chat-warning")
    page.locator("#question textarea").press("Enter")                  # focus moves to 수정하기
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('#edit')",
                           timeout=20_000)
    # the panel stands above the question box: from 수정하기 forward through 가리고 보내기, 그대로 보내기, the question
    check_focus_ring(page, "#edit", 4, must_reach=("edit", "mask-send", "send-anyway", "question"))


WATCH_LIVE_JS = """() => { window.__live = {busy: [], statuses: []};
  new MutationObserver(() => {
    const l = document.querySelector('#chat [role=log]');
    if (l) { window.__live.busy.push([l.getAttribute('aria-live'), l.getAttribute('aria-busy')].join('/')); }
    document.querySelectorAll('[data-a11y-status]').forEach(s => {
      const t = s.textContent.trim(); const st = window.__live.statuses;
      if (t && st[st.length - 1] !== t) { st.push(t); } });
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                             attributeFilter: ['aria-live', 'aria-busy']}); }"""


def test_chat_tab_after_an_answered_question(page, summary):
    page.evaluate(WATCH_LIVE_JS)
    type_question(page, "도우미는 어떤 파일 형식을 읽을 수 있나요?")
    page.locator("#question textarea").press("Enter")
    wait_answer(page, 1)
    time.sleep(1.0)
    summaries = page.locator("#chat .citations summary")
    if summaries.count():                             # a cited passage open: its text and highlighted quote as well
        summaries.first.click()
        page.locator("#chat .citations .passage").first.wait_for(state="visible", timeout=5_000)
    assert_no_serious(page, "chat-answer", summary)
    assert_korean_names(page, "chat-answer")
    # the streamed answer is not announced token by token; one status says it is complete
    live = page.evaluate("window.__live")
    log = page.locator("#chat [role=log]")
    assert log.get_attribute("aria-live") == "off", "the chat log is a live region: every token would be announced"
    assert log.get_attribute("aria-busy") in (None, "false")
    assert any(b.endswith("/true") for b in live["busy"]), f"the chat log was never marked busy: {live['busy'][:5]}"
    assert len(live["statuses"]) == 1, f"answer status announced {len(live['statuses'])} times: {live['statuses']}"
    assert HANGUL.search(live["statuses"][0])
    check_focus_ring(page, "#question textarea", 8, must_reach=("question", "send", "new-chat", "export-button"))
    # backwards from the question box: the chat's own buttons (copy, like, dislike), its citations and the tabs
    check_focus_ring(page, "#question textarea", 14, must_reach=("chat",), key="Shift+Tab")


# every text of Gradio's progress display, its progress bar's value text and its screen-reader status, as they change
WATCH_STATUS_JS = """() => { window.__status = [];
  new MutationObserver(() => {
    document.querySelectorAll('[data-testid=status-tracker], .sr-only[role=status], [role=progressbar]').forEach(e => {
      const t = ((e.getAttribute('aria-valuetext') || '') + ' ' + e.textContent).trim();
      if (t && !window.__status.includes(t)) { window.__status.push(t); } });
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true}); }"""


def test_admin_tabs(page, server, summary, tmp_path):
    open_admin_tab(page, "문서 관리", "upload-files")
    assert_no_serious(page, "admin-docs", summary)
    assert_korean_names(page, "admin-docs")
    groups = "#upload-groups textarea, #upload-groups input"
    check_focus_ring(page, groups, 2, must_reach=("upload-groups", "upload-index"))
    check_focus_ring(page, groups, 6, must_reach=("upload-level", "upload-pii"), key="Shift+Tab")
    # an upload: the PII preview and the result table
    doc = tmp_path / "회의실 안내.txt"
    doc.write_text("회의실 예약 안내\n\n회의실은 전날까지 예약합니다.\n문의: 010-2345-6789\n", encoding="utf-8")
    page.locator("#upload-files input[type=file]").set_input_files([str(doc)])
    page.wait_for_function("() => document.querySelector('#upload-pii-preview').innerText.includes('전화번호')",
                           timeout=60_000)
    page.evaluate(WATCH_STATUS_JS)
    page.click("#upload-index")
    page.wait_for_function("() => document.querySelector('#upload-result').innerText.includes('추가됨')",
                           timeout=120_000)
    time.sleep(1.5)                                    # Gradio's screen-reader status says "complete" after it
    seen = page.evaluate("window.__status")
    english = [t for t in seen if re.search(r"\b(steps|processing|queue|Complete|Loading|Error)\b", t)]
    assert not english, f"Gradio's progress or status in English: {english[:5]}"
    assert_no_serious(page, "admin-upload", summary)
    assert_korean_names(page, "admin-upload")
    open_admin_tab(page, "사용자 관리", "users-table")
    assert_no_serious(page, "admin-users", summary)
    assert_korean_names(page, "admin-users")
    open_admin_tab(page, "감사 기록", "audit-table")
    page.wait_for_function("() => document.querySelector('#audit-table').innerText.trim().length > 0",
                           timeout=20_000)
    assert_no_serious(page, "admin-audit", summary)
    assert_korean_names(page, "admin-audit")


def test_dark_mode_chat_warning_and_answer(browser, server, summary):
    """With the browser (or Windows) set to dark, Gradio's dark theme is used: the app's light panels and the chat's
    small print must still reach AA, and the focus ring must show on the light warning panel."""
    page = open_page(browser, server, color_scheme="dark")
    try:
        assert page.evaluate("document.querySelector('.dark') !== null"), "Gradio did not switch to its dark theme"
        assert_no_serious(page, "dark-chat-load", summary)
        type_question(page, f"민원인 {FAKE_RRN} 건인데, 도우미가 읽을 수 있는 파일 형식은 무엇인가요?")
        page.wait_for_selector("#warning", state="visible", timeout=20_000)
        page.locator("#question textarea").press("Enter")
        page.wait_for_function("() => document.activeElement && document.activeElement.closest('#edit')",
                               timeout=20_000)
        assert_no_serious(page, "dark-chat-warning", summary)
        check_focus_ring(page, "#edit", 3, must_reach=("edit", "mask-send", "send-anyway"))
        page.click("#mask-send")
        wait_answer(page, 1)
        summaries = page.locator("#chat .citations summary")
        if summaries.count():
            summaries.first.click()
            page.locator("#chat .citations .passage").first.wait_for(state="visible", timeout=5_000)
        assert_no_serious(page, "dark-chat-answer", summary)
        check_focus_ring(page, "#question textarea", 3, must_reach=("question", "send", "new-chat"))
    finally:
        page.context.close()


def test_the_desk_views_have_no_violation(page, summary):
    """Issue 32's new views, with axe (no violation of any impact) and the page's own contrast checks: an answer with
    a source opened from its [n], the exported files, the document list open; a refusal with its nearest documents
    and suggestion; the skip link focused."""
    type_question(page, "도우미는 어떤 파일 형식을 읽을 수 있나요?")
    page.locator("#question textarea").press("Enter")
    wait_answer(page, 1)
    links = page.locator("#chat .answer-body a.cite-ref")
    if links.count():
        links.first.click()
    page.click("#export-button")
    page.wait_for_selector("#export-files a", timeout=30_000)
    page.locator("#documents").get_by_text("등록된 자료 목록").first.click()
    page.wait_for_function("() => { const t = document.querySelector('#documents-table');"
                           " return t && /문서 \\d+건/.test(t.innerText); }", timeout=30_000)
    assert_no_serious(page, "chat-desk", summary)
    assert summary["chat-desk"]["rules"] == [], summary["chat-desk"]["rules"]
    type_question(page, "부산광역시 도시철도 요금 인상 계획은 어떻게 되나요?")
    page.locator("#question textarea").press("Enter")
    wait_answer(page, 2)
    page.locator("#chat .refusal-help details.nearest summary").first.click()
    assert_no_serious(page, "chat-refusal-help", summary)
    assert summary["chat-refusal-help"]["rules"] == [], summary["chat-refusal-help"]["rules"]
    page.mouse.click(2, 2)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.classList.contains('skip-link')")
    assert_no_serious(page, "skip-link-focused", summary)
    assert summary["skip-link-focused"]["rules"] == [], summary["skip-link-focused"]["rules"]
