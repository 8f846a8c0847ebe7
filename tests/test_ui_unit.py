"""Pure helpers of the browser chat (ui/app.py): texts, safe file names, uploads, citation HTML, warning spans."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("gradio")

from rag import guard  # noqa: E402
from rag.config import PROJECT_ROOT, load_config  # noqa: E402
from rag.prompting import load_prompts  # noqa: E402
from rag.records import Answer, Citation  # noqa: E402
from ui import admin  # noqa: E402
from ui import app as ui  # noqa: E402

T = ui.load_texts()


def test_texts_load_and_every_key_used_in_app_exists():
    src = "".join(Path(m.__file__).read_text(encoding="utf-8") for m in (ui, admin))
    used = set(re.findall(r"""T\[["'](\w+)["']\]""", src)) | set(re.findall(r"""texts\[["'](\w+)["']\]""", src))
    used |= {"upload_bad_type", "upload_too_big", "upload_unreadable"}
    assert used, "no text keys found in ui/app.py"
    missing = sorted(k for k in used if k not in T)
    assert not missing, f"ui/texts.toml lacks {missing}"
    assert all((isinstance(v, str) and v.strip())
               or (isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v)) for v in T.values())


def test_texts_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="UI 문구"):
        ui.load_texts(tmp_path / "nope.toml")


def test_no_korean_ui_strings_scattered_in_app_code():
    """User-facing Korean lives in ui/texts.toml; app.py may only carry Korean in comments/docstrings."""
    src = Path(ui.__file__).read_text(encoding="utf-8")
    code_lines = [ln for ln in src.splitlines() if not ln.strip().startswith("#")]
    body = "\n".join(code_lines)
    body = re.sub(r'"""[\s\S]*?"""', "", body)
    body = re.sub(r"#.*", "", body)
    body = re.sub(r"\nMESSAGES = \{[\s\S]*?\n\}", "", body)        # the one allowed message table
    hangul = re.findall(r"[\uac00-\ud7a3]+", body)
    assert not hangul, f"Korean text in ui/app.py code: {sorted(set(hangul))[:10]}"


@pytest.mark.parametrize("name, expected", [
    ("보고서.hwp", "보고서.hwp"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\kim\\문서\\2024 예산 (최종).PDF", "2024_예산_최종.pdf"),
    ("..hidden.txt", "hidden.txt"),
    (".bashrc", "bashrc"),
    ("a/b/..", "문서"),
    ("정책<script>.md", "정책_script.md"),
    ("파일\u200b이름\x00.txt", "파일이름.txt"),
    ("회의록 – 3차.docx", "회의록_3차.docx"),
    ("no_suffix", "no_suffix"),
])
def test_safe_filename(name, expected):
    assert ui.safe_filename(name) == expected


def test_safe_filename_keeps_decomposed_hangul_composed_and_limits_length():
    import unicodedata
    assert ui.safe_filename(unicodedata.normalize("NFD", "예산서.txt")) == "예산서.txt"
    long = ui.safe_filename("가" * 500 + ".hwpx")
    assert long.endswith(".hwpx") and len(long) <= ui.SAFE_NAME_MAX


def test_save_uploads_stays_inside_the_uploads_dir(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    good = src / "정책 안내.txt"
    good.write_text("안내 문서", encoding="utf-8")
    evil = src / "..%2f..%2fescape.md"
    evil.write_text("x", encoding="utf-8")
    exe = src / "setup.exe"
    exe.write_bytes(b"MZ")
    big = src / "big.pdf"
    big.write_bytes(b"0" * 2048)
    uploads = tmp_path / "data" / "uploads"
    saved, rejected = ui.save_uploads([good, evil, exe, big, good], uploads, max_bytes=1024,
                                      suffixes=[".txt", ".md", ".pdf"], texts=T)
    names = [n for n, _ in saved]
    assert names == ["정책_안내.txt", "2f_2fescape.md", "정책_안내-2.txt"]
    assert all(p.parent == uploads.resolve() and p.is_file() for _, p in saved)
    assert (uploads / "정책_안내.txt").read_text(encoding="utf-8") == "안내 문서"
    reasons = dict(rejected)
    assert "지원하지 않는" in reasons["setup.exe"] and "너무 큼" in reasons["big.pdf"]
    assert sorted(p.name for p in uploads.iterdir()) == sorted(names)          # no temp files left
    assert not any((tmp_path / "data").glob("*.md"))


def test_citations_html_escapes_document_text():
    cites = [Citation(1, "docs/a<b>.txt", 3, "<script>alert(1)</script>\n\n둘째 줄 & \"따옴표\"", "제2조 <절>"),
             Citation(2, "samples/02.txt", None, "본문", "")]
    out = ui.citations_html(cites, T)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<summary>[1] a&lt;b&gt;.txt · 3쪽 · 제2조 &lt;절&gt;</summary>" in out
    assert "<summary>[2] 02.txt</summary>" in out
    assert "\n" not in out, "a blank line would end the HTML block inside the chat's Markdown"
    assert "&amp;" in out and "&quot;" in out and "<br>" in out
    assert out.count("<details class=\"cite cite-") == 2 and ui.citations_html([], T) == ""


def test_a_quote_is_labelled_confirmed_only_for_a_verified_answer_and_a_row_shows_as_a_table():
    row = "연번: 2 · 사업명: 가상 <삭제> 지원 · 추진부서: 양성평등담당관"
    text = "사업 목록\n" + row + "\n다음 문장입니다."
    s = text.index(row)
    cite = Citation(1, "목록.md", None, text, "", quote=row, quotes=[(s, s + len(row))])
    verified = ui.citations_html([cite], T, verified=True)
    related = ui.citations_html([cite], T, verified=False)
    assert T["quote_title"] in verified and T["quote_title"] not in related and T["related_quote_title"] in related
    assert '<table class="row-record">' in verified and '<th scope="col">추진부서</th>' in verified
    assert "<td><mark>양성평등담당관</mark></td>" in verified and "가상 &lt;삭제&gt; 지원" in verified
    assert "<table" not in ui.passage_html("보통 문장: 값이 하나뿐입니다.", [], T)


def test_answer_markdown_labels_refusal_and_escapes():
    prompts = load_prompts(PROJECT_ROOT / "prompts")
    label = prompts.messages["ai_label"]
    refused = Answer("q", prompts.messages["refusal"], [], refused=True, warnings=["경고 <b>"])
    md = ui.answer_markdown(T, label, refused.text, rewritten="다시 <쓴> 질문", answer=refused)
    assert label in md and T["refusal_label"] in md and 'class="refusal"' in md
    assert "다시 &lt;쓴&gt; 질문" in md and "경고 &lt;b&gt;" in md
    ok = Answer("q", "답 [1] <img src=x>", [Citation(1, "a.txt", 1, "근거")], refused=False)
    md = ui.answer_markdown(T, label, ok.text, answer=ok)
    assert T["refusal_label"] not in md and "&lt;img" in md and '<details class="cite cite-1">' in md
    assert 'class="cite-ref cite-ref-1"' in md and "<img" not in md
    assert "▌" in ui.answer_markdown(T, label, "부분", streaming=True)


def test_warning_helpers_on_real_guard_findings():
    text = "민원인 주민등록번호 900101-1234567 문의"
    findings = guard.scan(text)
    assert guard.needs_warning(findings)
    spans = ui.highlight_spans(text, findings)
    assert "".join(s for s, _ in spans) == text
    assert ("900101-1234567", guard.TYPE_LABELS["RRN"]) in spans
    assert guard.warned_types(findings) == ["RRN"]
    plain = "도우미가 읽을 수 있는 문서 형식은 무엇인가요?"
    assert not guard.needs_warning(guard.scan(plain))
    assert ui.highlight_spans(plain, guard.scan(plain)) == [(plain, None)]
    assert guard.needs_warning(guard.scan("[대외비] 보고서를 요약해줘"))


def test_launch_options_are_local_and_private(tmp_path):
    cfg = load_config(env={}, data_dir=tmp_path)
    opts = ui.launch_options(cfg)
    assert opts["server_name"] == "127.0.0.1" and opts["share"] is False and opts["auth"] is None
    assert opts["run_history"] is False and opts["footer_links"] == [] and opts["mcp_server"] is False
    assert str(tmp_path.resolve()) in opts["blocked_paths"]
    th = opts["theme"]
    assert th._stylesheets == [], "the theme must not load any web font (system fonts only)"
    assert "googleapis" not in th._get_theme_css() and "@font-face" not in (th._font_css or "")
    cfg = load_config(env={}, data_dir=tmp_path, auth_user="admin", auth_password="pw")
    assert ui.launch_options(cfg, host="0.0.0.0", port=9999)["auth"] == ("admin", "pw")


def test_build_app_with_real_prompts(tmp_path):
    """The Blocks build (every text key resolves, events wire up) without loading models."""
    class PromptsOnly:                      # build_app needs only .prompts at build time
        prompts = load_prompts(PROJECT_ROOT / "prompts")
    cfg = load_config(env={}, data_dir=tmp_path)
    app = ui.build_app(cfg, PromptsOnly())
    ids = {getattr(b, "elem_id", None) for b in app.blocks.values()}
    assert {"question", "send", "warning", "mask-send", "send-anyway", "edit", "ai-notice", "chat",
            "new-chat", "fb-status", "export-button", "documents", "skip", "upload-files", "upload-index"} <= ids
    assert not {"fb-up", "fb-down", "fb-comment"} & ids, "a second feedback path beside the answer's own"
    assert app.analytics_enabled is False


def test_user_tab_rules(tmp_path):
    """The browser's user management: the first account must be an admin (else nobody could manage the others in
    the browser), an admin cannot delete the account they are signed in with nor the last admin; errors name the
    reason and never the password."""
    from rag import users
    from rag.access import LOCAL
    cfg = load_config(env={}, data_dir=tmp_path)
    assert admin.user_action(cfg, T, LOCAL, "add", "kim", "pw-123456789", "감사담당관", False) == T["user_first_admin"]
    assert not users.any_users(tmp_path)
    assert admin.user_action(cfg, T, LOCAL, "add", "park", "pw-123456789", "", True) == \
        T["user_added_first"].format(name="park")
    park = users.get(tmp_path, "park").viewer()
    assert admin.user_action(cfg, T, park, "add", "kim", "pw-123456789", "감사담당관", False) == \
        T["user_added"].format(name="kim")
    assert admin.user_action(cfg, T, park, "remove", "park", "", "", False) == T["user_not_self"]
    assert admin.user_action(cfg, T, LOCAL, "remove", "park", "", "", False) == T["user_last_admin"]
    short = admin.user_action(cfg, T, park, "passwd", "kim", "short", "", False)
    assert short.startswith(T["user_error"].split("{")[0]) and "short" not in short
    assert admin.user_action(cfg, T, park, "remove", "kim", "", "", False) == T["user_removed"].format(name="kim")
    assert [u.name for u in users.list_users(tmp_path)] == ["park"]
    html = admin.users_html(cfg, T)
    assert "park" in html and "pw-123456789" not in html


def test_audit_view_lists_answers_newest_first_and_skips_bad_lines(tmp_path):
    from rag.audit import AuditLog
    log = AuditLog(tmp_path / "audit.jsonl")
    for user, source in (("kim", "/docs/감사.txt"), ("lee", "/docs/교통.txt")):
        ans = Answer(question="질문", text="답", citations=[Citation(1, source, None, "")], refused=False, user=user)
        log.record_answer("질문", [], ans, masked=False)
    with log.path.open("a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    html = admin.audit_html(log, T)
    assert html.index("lee") < html.index("kim") and "교통.txt" in html and "/docs/" not in html
    assert T["audit_bad_lines"].format(n=1) in html
    only = admin.audit_html(log, T, "kim")
    assert "감사.txt" in only and "교통.txt" not in only
    assert T["audit_bad_since"].format(since="어제") in admin.audit_html(log, T, "", "어제")


def test_a11y_layer_has_no_korean_and_every_label_in_texts():
    """ui/a11y.py (CSS and page JS for screen readers and contrast) carries no Korean: its words are texts.toml's
    a11y_* keys, rendered into the page JS as ASCII (\\u escapes)."""
    from ui import a11y
    src = Path(a11y.__file__).read_text(encoding="utf-8")
    assert not re.findall(r"[\uac00-\ud7a3]+", src), "Korean text in ui/a11y.py"
    keys = set(a11y.NAMES.values()) | {k for k, _ in a11y.WORDS.values()} | set(a11y.LABELS)
    assert not sorted(k for k in keys if k not in T), "ui/texts.toml lacks a11y keys"
    js = a11y.page_js(T)
    assert js.isascii() and a11y.labels(T)["labels"]["a11y_chat_log"] == T["a11y_chat_log"]
    assert a11y.page_js() == js                          # read from ui/texts.toml by default
    assert "a11y.CSS" not in ui.CSS and a11y.CSS in ui.CSS and a11y.page_js() in ui.PAGE_JS


def test_a11y_button_colours_reach_aa_against_white_text():
    from ui import a11y

    def lum(hex_: str) -> float:
        cs = [int(hex_[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in cs)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for var in ("button-primary-background-fill", "button-primary-background-fill-hover",
                "button-cancel-background-fill", "button-cancel-background-fill-hover"):
        colour = re.search(rf"--{var}: (#[0-9a-f]{{6}});", a11y.CSS).group(1)
        assert 1.05 / (lum(colour) + 0.05) >= 4.5, (var, colour)
