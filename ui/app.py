"""The browser chat: a thin Gradio layer over rag.answer.Assistant.

    question ─► guard.scan (as the user types, and again on send)
       ├─ nothing to warn about ──────────────────────────────► send
       └─ warning panel: 수정하기 (nothing sent) │ 가리고 보내기 (guard.mask) │ 그대로 보내기 (acknowledged)
    send ─► Assistant.stream(text, history) ─► chat (tokens, then label + answer + cited passages) ─► AuditLog

Privacy: the model, the chat history and the logs see only masked text when the user chooses to mask; the audit log
masks every free text itself (rag/audit.py) and stores finding types, never values. Nothing is fetched from the
internet: analytics off, no share link, system fonts only.

Every user-facing string is in ui/texts.toml.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import threading
import tomllib
import unicodedata
import uuid
from collections.abc import Iterable
from pathlib import Path

import gradio as gr

from index.access import DEFAULT_LEVEL, LEVELS
from rag import access, conversations, guard, serving
from rag.answer import Turn, display_source
from rag.audit import AuditLog
from rag.config import Config
from rag.limits import ClientLimits, Refusal
from rag.records import Answer, Citation, Finding, answer_json
from ui import a11y, admin, waiting
from ui.html import esc, table_html

log = logging.getLogger(__name__)

TEXTS_PATH = Path(__file__).with_name("texts.toml")
# the only Korean in this file: what is needed before (or without) ui/texts.toml
MESSAGES = {
    "texts_unreadable": "UI 문구 파일을 읽을 수 없습니다 / cannot read UI texts {path}: {error}",
    "default_file_name": "문서",
}
SAFE_NAME_MAX = 120
# the live guard reads at most this many characters per token of the question budget: a question the model can take
# is shorter (Korean runs ~1-2 characters a token, English ~4-5), and a longer paste is refused for its length anyway
SCAN_CHARS_PER_TOKEN = 6
PUBLIC_API = ("ask",)                              # the only events callable by name (/gradio_api/call/<name>)

# system fonts only (Gradio's default theme would serve its own web fonts, which carry no Hangul anyway)
FONT = ["Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", "NanumGothic",
        "ui-sans-serif", "system-ui", "sans-serif"]
FONT_MONO = ["D2Coding", "ui-monospace", "Consolas", "monospace"]

CSS = """
#ai-notice { border-left: 4px solid #2563eb; background: #eff6ff; color: #1e3a8a; padding: 10px 14px;
             border-radius: 6px; }
#ai-notice p { margin: 2px 0; }
#warning { border: 2px solid #b45309; background: #fffbeb; border-radius: 8px; padding: 8px; }
#warning .warning-title { color: #92400e; font-weight: 700; }
#chat .ai-label { display: inline-block; font-size: 0.8em; font-weight: 600; color: #1e40af; background: #dbeafe;
                  border-radius: 4px; padding: 0 6px; margin-bottom: 4px; }
#chat .refusal { display: inline-block; font-weight: 700; color: #7c2d12; background: #ffedd5;
                 border: 1px solid #fdba74; border-radius: 4px; padding: 0 6px; margin: 2px 0 4px 0; }
#chat .rewritten { font-size: 0.9em; color: #4b5563; font-style: italic; }
#chat .answer-warnings { font-size: 0.9em; color: #92400e; }
#chat .citations { margin-top: 6px; font-size: 0.92em; }
#chat .citations details { border: 1px solid #d1d5db; border-radius: 6px; padding: 2px 8px; margin: 3px 0; }
#chat .citations summary { cursor: pointer; font-weight: 600; }
#chat .citations .passage { white-space: normal; color: #374151; padding: 4px 0; }
#chat .citations mark { background: #fef08a; color: #111827; }
#chat .citations .quote { margin: 2px 0 4px 0; color: #1f2937; }
#chat .evidence-preview { border-left: 3px solid #6b7280; padding: 2px 8px; margin: 4px 0; color: #374151;
                          font-size: 0.92em; }
#upload-result, #users-table, #audit-table { color: var(--body-text-color); }
#skip .skip-link { position: absolute; left: -10000px; top: 0; }
#skip .skip-link:focus { position: static; display: inline-block; padding: 6px 12px; background: #1e3a8a; color: #fff;
                          border-radius: 4px; }
#chat a.cite-ref { font-weight: 600; text-decoration: underline; }
#chat a.cite-ref .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
                            white-space: nowrap; }
#export-files .label-clear-button { display: none; }
#chat .refusal-help { margin-top: 6px; font-size: 0.92em; color: #374151; }
#chat .refusal-help details { border: 1px solid #d1d5db; border-radius: 6px; padding: 2px 8px; margin: 3px 0; }
#documents-table table, #admin-documents-table table { border-collapse: collapse; margin-top: 6px; }
#documents-table th, #documents-table td, #admin-documents-table th, #admin-documents-table td {
    border: 1px solid #d1d5db; padding: 4px 10px; text-align: left; }
#question-limit .too-long { border-left: 4px solid #b45309; background: #fffbeb; color: #78350f; padding: 6px 10px;
                            border-radius: 6px; }
#upload-result table, #users-table table, #audit-table table { border-collapse: collapse; margin-top: 6px; }
#upload-result th, #upload-result td, #users-table th, #users-table td, #audit-table th, #audit-table td {
    border: 1px solid #d1d5db; padding: 4px 10px; text-align: left; }
""" + a11y.CSS       # contrast, focus ring (ui/a11y.py)

# screen readers read the page as Korean; ui/a11y.py names Gradio's own controls in Korean (texts.toml a11y_*)
DESK_JS = Path(__file__).with_name("desk.js").read_text(encoding="utf-8")     # copy as text, [n] opens its source
PAGE_JS = "() => { document.documentElement.lang = 'ko'; " + a11y.page_js() + DESK_JS + " }"
FOCUS_QUESTION_JS = "() => { const t = document.querySelector('#question textarea'); if (t) { t.focus(); } }"
# when a send opened the warning panel, focus moves to its safest choice (수정하기), so keyboard and screen-reader
# users meet the panel first and 그대로 보내기 last, not nearest to the question box
FOCUS_WARNING_JS = """() => { const w = document.querySelector('#warning'); const b = document.querySelector('#edit');
  if (w && b && w.offsetParent !== null) { b.focus(); } }"""


# ------------------------------------------------------------------------------------------------ texts

def load_texts(path: Path = TEXTS_PATH) -> dict[str, str]:
    """All user-facing UI strings (ui/texts.toml); a missing file is a clear error naming it."""
    try:
        with Path(path).open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ValueError(MESSAGES["texts_unreadable"].format(path=path, error=e)) from None


# ------------------------------------------------------------------------------------------------ pure helpers

def _one_line(text: str) -> str:
    """Escaped, blank lines removed, newlines as <br>: keeps an HTML block intact inside the chat's Markdown."""
    lines = [esc(line.strip()) for line in (text or "").splitlines() if line.strip()]
    return "<br>".join(lines)


def source_label(source: str, page: int | None, section: str, texts: dict, sep: str = " · ") -> str:
    """A source as users read it: file name, page, section (the ones it has)."""
    return sep.join(x for x in (display_source(source), texts["page"].format(page=page) if page else "", section) if x)


def citation_summary(c: Citation, texts: dict) -> str:
    return f"[{c.n}] " + source_label(c.source, c.page, c.section, texts)


def passage_html(text: str, spans: list, texts: dict) -> str:
    """A cited passage as shown: its sentences in document order, a gap line ("…") labelled as an omission, and the
    verified quote spans highlighted; every piece of document text HTML-escaped."""
    from rag.evidence import GAP
    out, pos = [], 0
    for s, e in sorted(spans):
        out += [esc(text[pos:s]), f"<mark>{esc(text[s:e])}</mark>"]
        pos = e
    out.append(esc(text[pos:]))
    lines = [line.strip() for line in "".join(out).splitlines() if line.strip()]
    gap = f"<span aria-label=\"{esc(texts['gap_label'])}\">{GAP}</span>"
    # a table row stored as one record ("사업명: … · 주관부서: …") is shown as a small table, highlighted when cited
    rows = {i: row_table(line, any(s < b and a < e for s, e in spans))
            for i, (line, (a, b)) in enumerate(_lines_with_offsets(text))}
    return "<br>".join(gap if line == GAP else rows.get(i) or line for i, line in enumerate(lines))


def _lines_with_offsets(text: str) -> list[tuple[str, tuple[int, int]]]:
    """The non-empty lines of a text with their offsets (the same lines passage_html shows, in order)."""
    out, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append((line.strip(), (pos, pos + len(line))))
        pos += len(line) + 1
    return out


def row_table(line: str, cited: bool) -> str | None:
    """A table row record as a two-line table (headers, cells); None for a line that is not one."""
    from index.chunking import CELL_SEP
    pairs = [p.split(": ", 1) for p in line.split(CELL_SEP)]
    if len(pairs) < 2 or any(len(p) != 2 or not p[0].strip() for p in pairs):
        return None
    head = "".join(f"<th scope=\"col\">{esc(h)}</th>" for h, _ in pairs)
    cells = "".join(f"<td>{f'<mark>{esc(c)}</mark>' if cited else esc(c)}</td>" for _, c in pairs)
    return f"<table class=\"row-record\"><tr>{head}</tr><tr>{cells}</tr></table>"


def citations_html(citations: list[Citation], texts: dict, verified: bool = True) -> str:
    """Numbered, expandable source passages with their quote shown and highlighted; a single line. The quote is
    labelled "확인됨" only for a verified answer; otherwise it is labelled as related evidence, not an answer."""
    if not citations:
        return ""
    items = []
    title = texts["quote_title"] if verified else texts["related_quote_title"]
    for c in citations:
        quote = (f"<div class=\"quote\">{esc(title)}: “{esc(c.quote)}”</div>" if c.quote else "")
        items.append(f"<details class=\"cite cite-{c.n}\"><summary>{esc(citation_summary(c, texts))}</summary>{quote}"
                     f"<div class=\"passage\">{passage_html(c.text, c.quotes, texts)}</div></details>")
    return f"<div class=\"citations\"><strong>{esc(texts['citations_title'])}</strong>{''.join(items)}</div>"


_REF = re.compile(r"\[(\d+)\]")


def linked_refs(body: str, numbers: set[int], texts: dict) -> str:
    """The [n] markers of an (escaped) answer as links that open source n (ui/desk.js); others stay text."""
    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        # its name for screen readers is "[n] 출처 보기" (the chat's sanitizer drops aria-label): the visible "[n]"
        # first (WCAG 2.5.3), then a visually hidden word
        return (f"<a class=\"cite-ref cite-ref-{n}\" href=\"#\" title=\"{esc(texts['cite_ref_title'].format(n=n))}\">"
                f"[{n}]<span class=\"sr-only\"> {esc(texts['cite_ref_hidden'])}</span></a>")
    return _REF.sub(link, body)


def copy_text(answer: Answer, texts: dict) -> str:
    """What the copy button gives: the answer as plain text, then its sources as numbered lines
    ("[1] 문서명, 3쪽 · 절 — “인용 문장”"), ready to paste into a report or an e-mail."""
    lines = [answer.text.strip()]
    if answer.citations:
        lines += ["", texts["copy_sources"] if answer.verified else texts["copy_related"]]
    for c in answer.citations:
        head = f"[{c.n}] " + source_label(c.source, c.page, c.section, texts, ", ")
        lines.append(head + (f" — “{' '.join(c.quote.split())}”" if c.quote else ""))
    return "\n".join(lines)


NEAREST_SHOWN = 3


def refusal_help_html(evidence, texts: dict, owners: dict[str, str] | None = None) -> str:
    """What to do after a refusal: the nearest passages found (shown as evidence, not as an answer), a question in
    the documents' own words (their section headings), the departments that keep those documents where access.toml
    names them (`owners`: file name -> department), and where to ask for a document the index lacks."""
    passages = list(getattr(evidence, "passages", None) or [])[:NEAREST_SHOWN]
    owners = owners or {}
    parts = []
    if passages:
        items = "".join(f"<details class=\"nearest\"><summary>{esc(source_label(p.source, p.page, p.section, texts))}"
                        f"</summary><div class=\"passage\">{passage_html(p.text, [], texts)}</div></details>"
                        for p in passages)
        parts.append(f"<div class=\"nearest-docs\"><strong>{esc(texts['refusal_nearest'])}</strong>{items}</div>")
        keepers = list(dict.fromkeys(owners[n] for n in (display_source(p.source) for p in passages) if n in owners))
        if keepers:
            parts.append(f"<p class=\"owners\">{esc(texts['refusal_owners'].format(owners=', '.join(keepers)))}</p>")
        from index.korean import topic, topic_particle
        topics = list(dict.fromkeys(t for t in (topic(p.section) for p in passages) if 1 < len(t) <= 40))[:2]
        if topics:
            asks = " · ".join(texts["refusal_suggest_question"].format(topic=t, particle=topic_particle(t))
                              for t in topics)
            parts.append(f"<p class=\"suggestion\">{esc(texts['refusal_suggest'].format(questions=asks))}</p>")
    parts.append(f"<p class=\"refusal-next\">{esc(texts['refusal_next'])}</p>")
    return f"<div class=\"refusal-help\">{''.join(parts)}</div>"


def preview_html(evidence, texts: dict) -> str:
    """The best evidence sentence and its source, shown before the model's first token, marked as evidence."""
    top = evidence.top_sentence() if evidence is not None else None
    if top is None:
        return ""
    p, sp = top
    where = source_label(p.source, p.page, "", texts)
    return (f"<div class=\"evidence-preview\" role=\"note\"><strong>{esc(texts['evidence_preview'])}</strong>: "
            f"“{esc(p.text[sp.start:sp.end])}” — {esc(where)}</div>")


def answer_markdown(texts: dict, ai_label: str, text: str, *, rewritten: str | None = None,
                    answer: Answer | None = None, streaming: bool = False, preview: str = "",
                    evidence=None, reading: str = "", owners: dict[str, str] | None = None) -> str:
    """The chat message of one answer: AI label, rewritten question, the evidence preview while the answer is being
    written, text (escaped), warnings, passages; a refusal also gets what to do next (refusal_help_html, from
    `evidence`: what retrieval found for this viewer)."""
    parts = [f"<span class=\"ai-label\">{esc(ai_label)}</span>"]
    if rewritten:
        parts.append(f"<div class=\"rewritten\">{esc(texts['rewritten'].format(question=rewritten))}</div>")
    if preview and streaming:
        parts.append(preview)
    if answer is not None and answer.refused:
        parts.append(f"<div class=\"refusal\" role=\"status\">{esc(texts['refusal_label'])}</div>")
    body = esc(text).strip()
    if answer is not None and answer.citations:
        body = linked_refs(body, {c.n for c in answer.citations}, texts)
    waiting = esc(reading or (texts["writing"] if preview else texts["thinking"]))
    parts.append((f"<span class=\"answer-body\">{body}</span>" if body else waiting) + (" ▌" if streaming else ""))
    if answer is not None:
        if answer.warnings:
            items = "".join(f"<li>⚠ {esc(w)}</li>" for w in answer.warnings)
            parts.append(f"<ul class=\"answer-warnings\">{items}</ul>")
        if answer.citations:
            parts.append(citations_html(answer.citations, texts, answer.verified))
        if answer.refused:
            parts.append(refusal_help_html(None if answer.citations else evidence, texts, owners))
        # the copy button's text (ui/desk.js): hidden from the page and from screen readers
        # (its line breaks as &#10;: a blank line would end the HTML block inside the chat's Markdown)
        copy = esc(copy_text(answer, texts)).replace("\n", "&#10;")
        parts.append(f"<div class=\"copy-text\" hidden>{copy}</div>")
    return "\n\n".join(parts)


def highlight_spans(text: str, findings: list[Finding]) -> list[tuple[str, str | None]]:
    """(segment, Korean label or None) pairs covering `text`, for gr.HighlightedText (shown in the browser only)."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.start < pos or not guard.warrants_warning(f):
            continue
        if f.start > pos:
            out.append((text[pos:f.start], None))
        out.append((text[f.start:f.end], guard.TYPE_LABELS.get(f.type, f.type)))
        pos = f.end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


_HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3"
_ODD = re.compile(rf"[^0-9A-Za-z{_HANGUL}._-]+")


def safe_filename(name: str, default: str = MESSAGES["default_file_name"]) -> str:
    """A file name safe to store: directories stripped (both / and \\), Hangul and ASCII letters, digits, '.', '_'
    and '-' kept, anything else replaced by '_', no leading dot, a lower-case suffix, at most SAFE_NAME_MAX chars."""
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")      # control / format characters
    base = base.strip().lstrip(".")                                               # no hidden files
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"\.{2,}", "_", _ODD.sub("_", stem))
    stem = re.sub(r"_+", "_", stem).strip("._- ")
    suffix = _ODD.sub("", suffix).lower()[:10]
    stem = (stem or default)[: SAFE_NAME_MAX - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


def folder_bytes(folder: Path) -> dict[str, int]:
    """The size of each file directly in `folder` (the saved uploads)."""
    try:
        return {p.name: p.stat().st_size for p in Path(folder).iterdir() if p.is_file()}
    except OSError:
        return {}


def save_uploads(files: Iterable[str | Path], uploads_dir: Path, max_bytes: int, suffixes: Iterable[str],
                 texts: dict, *, max_files: int | None = None, max_total: int | None = None,
                 quota: int | None = None) -> tuple[list[tuple[str, Path]], list[tuple[str, str]]]:
    """Copy uploaded files into `uploads_dir` under safe names (a new upload of the same name replaces the earlier
    one, so a revised document is re-indexed as changed). Returns (saved [(name, path)], rejected [(name, reason)]).
    Quotas (None: none): `max_files` files and `max_total` bytes in this upload, `quota` bytes in `uploads_dir`
    altogether (a replaced file's old size does not count); each refused file is named with the limit it passed."""
    uploads_dir = Path(uploads_dir)
    uploads_dir.mkdir(parents=True, exist_ok=True)
    root = uploads_dir.resolve()
    kept = folder_bytes(uploads_dir)
    total = 0
    allowed = {s.lower() for s in suffixes}
    saved: list[tuple[str, Path]] = []
    rejected: list[tuple[str, str]] = []
    used: set[str] = set()
    for i, f in enumerate(files):
        src = Path(f)
        name = safe_filename(src.name)
        suffix = "." + name.rpartition(".")[2] if "." in name else ""
        if max_files is not None and i >= max_files:
            rejected.append((name, texts["upload_too_many"].format(max_files=max_files)))
            continue
        if suffix not in allowed:
            rejected.append((name, texts["upload_bad_type"].format(suffix=suffix or "-")))
            continue
        try:
            size = src.stat().st_size
        except OSError:
            rejected.append((name, texts["upload_unreadable"]))
            continue
        if size > max_bytes:
            rejected.append((name, texts["upload_too_big"].format(size=size / 2**20, max_mb=max_bytes / 2**20)))
            continue
        if max_total is not None and total + size > max_total:
            rejected.append((name, texts["upload_total_too_big"].format(total=(total + size) / 2**20,
                                                                        max_mb=f"{max_total / 2**20:g}")))
            continue
        stem, n = name[: len(name) - len(suffix)], 2
        while name in used:                          # two files of one batch with the same safe name
            name = f"{stem}-{n}{suffix}"
            n += 1
        used.add(name)
        dest = (uploads_dir / name).resolve()
        if dest.parent != root:                      # cannot happen with safe names; never write elsewhere
            rejected.append((name, texts["upload_unreadable"]))
            continue
        used_bytes = sum(b for k, b in kept.items() if k != name)
        if quota is not None and used_bytes + size > quota:
            rejected.append((name, texts["upload_quota_full"].format(used=used_bytes / 2**20, size=size / 2**20,
                                                                     max_mb=f"{quota / 2**20:g}")))
            continue
        tmp = dest.with_name(f".{dest.name}.part")
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        except OSError:
            tmp.unlink(missing_ok=True)
            rejected.append((name, texts["upload_unreadable"]))
            continue
        total += size
        kept[name] = size
        saved.append((name, dest))
    return saved, rejected


def remove_temp_uploads(files: Iterable[str | Path]) -> int:
    """Delete files Gradio received (its upload folder, GRADIO_TEMP_DIR) once they are copied or refused, with the
    folder Gradio made for each when it is left empty; nothing outside that folder is touched. Returns how many."""
    from gradio.utils import get_upload_folder
    root = Path(get_upload_folder()).resolve()
    n = 0
    for f in files:
        try:
            path = Path(getattr(f, "name", f)).resolve()
            if root not in path.parents or not path.is_file():
                continue
            path.unlink()
            n += 1
            if path.parent != root and not any(path.parent.iterdir()):
                path.parent.rmdir()
        except OSError:
            continue
    return n


def upload_result_html(texts: dict, rows: list[tuple[str, str, str]], summary: str,
                       cols: tuple[str, str, str] = ("upload_col_file", "upload_col_result", "upload_col_reason")) -> str:
    return table_html(summary, [texts[k] for k in cols], rows)


# ------------------------------------------------------------------------------------------------ the app

@dataclasses.dataclass
class _Holder:
    """The live assistant; replaced (not mutated) when the index is reloaded, so running answers finish on the old one."""
    assistant: object


def browser_secret(data_dir: Path) -> str:
    """The key that encrypts each browser's id in its local storage: random, made once per data directory (mode
    0600), so a server restart still reads the ids its browsers hold (Gradio's default key changes every start)."""
    path = Path(data_dir) / "browser-state.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:                      # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(uuid.uuid4().hex + uuid.uuid4().hex)
    return path.read_text().strip()


def new_session() -> dict:
    # turns: the answered turns as conversations.Turn (masked question, copy text), for export
    return {"history": [], "messages": [], "answer_ids": {}, "conversation": None, "turns": []}


def reload_index(cfg: Config, assistant, embedder, embedder_path):
    """A new Assistant over the freshly written index (same generator, prompts and embedder)."""
    from rag.runtime import make_retriever, open_index
    retriever = make_retriever(cfg, open_index(cfg, embedder, embedder_path), embedder)
    return dataclasses.replace(assistant, retriever=retriever)


def current_assistant(cfg: Config, holder: _Holder, lock: threading.Lock):
    """The live assistant, moved onto a newer index generation first when another process (`rag index`, a second
    server) or the admin tab has written one. A generation that cannot be opened keeps the one in use (logged)."""
    from index.store import IndexError_
    from rag.runtime import fresh_retriever
    with lock:
        asst = holder.assistant
        try:
            retriever = fresh_retriever(cfg, asst.retriever)
        except IndexError_ as e:
            log.warning("new index generation not opened, the current one stays in use: %s", type(e).__name__)
            return asst
        if retriever is not asst.retriever:
            holder.assistant = asst = dataclasses.replace(asst, retriever=retriever)
        return asst


_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def api_request_id(value: str | None) -> str:
    """The caller's request id when it is an opaque token (letters, digits, '-', '_', at most 100, nothing the
    guard flags: it goes into the audit log unmasked), else a fresh uuid4 hex."""
    if isinstance(value, str) and _REQUEST_ID.fullmatch(value) and not guard.scan(value):
        return value
    return uuid.uuid4().hex


def build_app(cfg: Config, assistant):
    """The Gradio Blocks of the chat and the admin tab, over `assistant` (rag.answer.Assistant)."""
    from index.loaders import SUPPORTED_SUFFIXES

    T = load_texts()
    prompts = assistant.prompts
    ai_label = prompts.messages["ai_label"]
    audit = AuditLog(cfg.log_dir / "audit.jsonl")
    holder = _Holder(assistant)
    reloading = threading.Lock()
    line = waiting.AnswerLine()                     # one answer at a time: who waits, how long answers take here
    line.seed(waiting.measured_seconds(audit))
    speed = waiting.PrefillSpeed()                  # how fast this machine reads a prompt, for the note before word 1
    speed.seed(waiting.measured_rates(audit))
    uploads_dir = Path(cfg.data_dir) / "uploads"
    suffixes = sorted(SUPPORTED_SUFFIXES)
    max_upload = int(cfg.upload_max_mb * 2**20)
    # served on loopback: without accounts its one user is the admin; reachable from the network: never without one
    local_only = serving.is_loopback(cfg.host)
    limits = ClientLimits(cfg.max_active_per_client, cfg.rate_limit_per_minute)

    def session_id(request: gr.Request | None) -> str | None:
        return getattr(request, "session_hash", None)

    def viewer_for(request: gr.Request | None):
        """Who asks: with accounts, the signed-in user (their groups apply; rag/access.py); without accounts the one
        user of an office machine (공개 and 내부, the document tab), and on a host reachable from the network the same
        reading without the document tab (rag/serving.py). Anyone else is anonymous (공개 only)."""
        from rag import access, users
        if not users.any_users(cfg.data_dir):
            return access.LOCAL if local_only else access.SHARED
        name = getattr(request, "username", None)
        try:
            return users.get(cfg.data_dir, name).viewer() if name else access.ANONYMOUS
        except users.UserError:                        # removed while signed in
            return access.ANONYMOUS

    # --------------------------------------------------------------------------- warning panel
    def warning_view(text: str, findings: list[Finding]):
        """The panel, its text and spans, and whether 가리고 보내기 is offered: only when there is personal data to
        mask (a marking or an injection alone leaves 수정하기 / 그대로 보내기)."""
        warned = guard.warned_types(findings)
        labels = ", ".join(guard.TYPE_LABELS.get(t, t) for t in warned)
        can_mask = guard.maskable(findings)
        help_text = (T["warning_help"] if can_mask else T["warning_help_injection"] if set(warned) <= {"INJECTION"}
                     else T["warning_help_nothing_to_mask"])
        if can_mask and any(t in guard.WARNING_TYPES for t in warned):
            help_text += " " + T["warning_help_marking_stays"]
        body = (f"<div role=\"alert\"><p class=\"warning-title\">{esc(T['warning_title'])}</p>"
                f"<p>{esc(T['warning_found'].format(types=labels))}</p><p>{esc(help_text)}</p></div>")
        return gr.Column(visible=True), body, highlight_spans(text, findings), gr.Button(visible=can_mask)

    def hidden_warning():
        return gr.Column(visible=False), "", [], gr.Button()

    def scan_chars() -> int:
        """How much of a question the guard reads: the most a question the model can take may have (its budget in
        tokens, SCAN_CHARS_PER_TOKEN characters each). A longer one is refused for its length before any scan."""
        return (holder.assistant.question_budget() or cfg.n_ctx) * SCAN_CHARS_PER_TOKEN

    def question_length(text: str) -> tuple[int, int] | None:
        """Assistant.too_long, bounded: beyond scan_chars() characters the tokens are estimated from that much of
        the text (a 1 MB paste is never tokenized or scanned whole) and the question is too long."""
        asst, cap = holder.assistant, scan_chars()
        if len(text) <= cap:
            return asst.too_long(text)
        budget = asst.question_budget() or cfg.n_ctx
        return max(asst.question_tokens(text[:cap]) * len(text) // cap, budget + 1), budget

    def live_scan(text: str):
        """As the user types or pastes (.change with trigger_mode="always_last": one scan at a time, then the latest
        text): the warning panel over the first scan_chars() characters, and why the question cannot be sent when too
        long."""
        head = (text or "")[:scan_chars()]
        findings = guard.scan(head)
        return (*(warning_view(head, findings) if guard.needs_warning(findings) else hidden_warning()),
                length_note(text or ""))

    def length_note(text: str) -> str:
        """The reason a question cannot be sent (longer than the model can take with its evidence), else ""."""
        long = question_length(text or "")
        if not long:
            return ""
        tokens, limit = long
        chars = int(len(text) * limit / max(tokens, 1)) // 100 * 100
        return (f"<div role=\"status\" class=\"too-long\">"
                f"{esc(T['question_too_long'].format(length=len(text), chars=chars))}</div>")

    def check(text: str, request: gr.Request):
        """On Enter / 보내기: nothing is sent when the question cannot fit, or (gr.Error, the text stays in the box)
        when this client is at its limits; send directly when there is nothing to warn about, else show the panel."""
        text = (text or "").strip()
        if not text:
            return (*hidden_warning(), None, gr.skip(), "", gr.skip())
        note = length_note(text)
        if note:
            return (*hidden_warning(), None, gr.skip(), note, gr.skip())
        findings = guard.scan(text)
        if guard.needs_warning(findings):
            return (*warning_view(text, findings), None, gr.skip(), "", gr.skip())
        over_limit(client_key(request, "ui"), "ui", request)
        outgoing = {"text": text, "shown": text, "findings": findings, "masked": False, "ack": False}
        return (*hidden_warning(), outgoing, "", "", wait_note(request))

    def wait_note(request: gr.Request | None) -> str:
        """This page joins the answer line; when someone is ahead, its place and the expected wait (from the answer
        times measured on this server), said once by a screen reader. Gradio's status shows the place as it moves."""
        key = session_id(request) or ""
        line.join(key)
        ahead, eta, n = line.ahead_of(key)
        if not ahead:
            return ""
        text = (T["wait_note"].format(ahead=ahead, eta=waiting.duration_text(eta, T), n=n) if eta is not None
                else T["wait_note_unmeasured"].format(ahead=ahead))
        return f"<div role=\"status\" class=\"wait-note\">{esc(text)}</div>"

    # --------------------------------------------------------------------------- per-client limits (rag/limits.py)
    def client_key(request: gr.Request | None, channel: str) -> str:
        """Whom the limits count: the account; else the address (the chat on loopback: its page, since every page
        there has the same address). A shared auth_user login is not an account: its users differ by address."""
        name = viewer_for(request).name
        if name:
            return f"user:{name}"
        host = getattr(getattr(request, "client", None), "host", None) or "unknown"
        if channel == "ui" and serving.is_loopback(host):
            return f"page:{session_id(request)}"
        return f"ip:{host}"

    def limit_message(refusal: Refusal) -> str:
        if refusal.retry_after_s:
            return T["limit_rate"].format(limit=refusal.limit, seconds=refusal.retry_after_s)
        return T["limit_busy"].format(limit=refusal.limit)

    def over_limit(client: str, channel: str, request: gr.Request | None, request_id: str | None = None,
                   admit: bool = False) -> None:
        """Refuse (recorded in the audit log, then gr.Error) a question beyond the client's limits; `admit` counts
        it when allowed (the caller then releases it), else this only looks."""
        refusal = limits.admit(client) if admit else limits.check(client)
        if refusal is None:
            return
        audit.record_answer(None, [], None, masked=False, channel=channel, session=session_id(request),
                            error=refusal.reason, request_id=request_id, client=client)
        raise gr.Error(limit_message(refusal))

    def choose(choice: str):
        def fn(text: str, request: gr.Request):
            text = (text or "").strip()
            findings = guard.scan(text[:scan_chars()])       # a longer text is refused below for its length
            types = [f.type for f in findings]
            if types:
                audit.record_warning(types, choice, session=session_id(request))
            if choice == "edit" or not text:
                return (*hidden_warning(), None, gr.skip(), gr.skip(), gr.skip())
            note = length_note(text)
            if note:
                return (*hidden_warning(), None, gr.skip(), note, gr.skip())
            if choice == "mask":
                if not guard.maskable(findings):         # nothing to mask: the user must edit or acknowledge
                    return (*warning_view(text, findings), None, gr.skip(), "", gr.skip())
                sent = guard.mask(text, findings)
                outgoing = {"text": sent, "shown": sent, "findings": findings, "masked": sent != text, "ack": False}
            else:
                outgoing = {"text": text, "shown": text, "findings": findings, "masked": False, "ack": bool(types)}
            over_limit(client_key(request, "ui"), "ui", request)
            return (*hidden_warning(), outgoing, "", "", wait_note(request))
        return fn

    # --------------------------------------------------------------------------- answering
    # --------------------------------------------------------------------------- conversations that last
    def owner_of(request: gr.Request | None, browser_id: str | None) -> str | None:
        """Whose conversations: the signed-in account, else (no accounts) this browser; None for anyone else."""
        viewer = viewer_for(request)
        if viewer.name:
            return f"user:{viewer.name}"
        if viewer in (access.LOCAL, access.SHARED) and browser_id:
            return f"browser:{browser_id}"
        return None

    def history_choices(owner: str | None, query: str = ""):
        rows = conversations.list_conversations(cfg.data_dir, owner, query) if owner else []
        return gr.Radio(choices=[(f"{s.title} · {s.updated[:16].replace('T', ' ')} · {s.turns}", s.id) for s in rows],
                        value=None)

    def restore(owner: str | None, conv: str | None):
        """The chat messages and session of a stored conversation (follow-ups continue from its turns)."""
        sess = new_session()
        if not owner or not conv:
            return [], sess
        for t in conversations.turns(cfg.data_dir, owner, conv):
            sess["messages"] += [{"role": "user", "content": esc(t.question)},
                                 {"role": "assistant", "content": t.answer_shown}]
            if t.answer_id:                              # feedback on a reopened answer finds its record
                sess["answer_ids"][str(len(sess["messages"]) - 1)] = t.answer_id
            sess["turns"].append(t)
            sess["history"].append(Turn(question=t.question, answer=t.answer_text))
        sess["conversation"] = conv if sess["messages"] else None
        return sess["messages"], sess

    def init_page(browser_id: str | None, request: gr.Request):
        """On load: this browser's id (made once, kept in its local storage), its conversations, and the latest one
        reopened, so a reload or a server restart loses nothing."""
        browser_id = browser_id or uuid.uuid4().hex
        owner = owner_of(request, browser_id)
        latest = conversations.list_conversations(cfg.data_dir, owner, limit=1) if owner else []
        chat_msgs, sess = restore(owner, latest[0].id if latest else None)
        return browser_id, history_choices(owner), chat_msgs, sess

    def search_history(query: str, browser_id: str | None, request: gr.Request):
        """The matching conversations, and a line saying so when a search matches none (not an empty list alone)."""
        choices = history_choices(owner_of(request, browser_id), query)
        q = " ".join((query or "").split())
        status = T["history_no_match"].format(query=q) if q and not choices.choices else ""
        return choices, f"<div role=\"status\">{esc(status)}</div>" if status else ""

    def open_history(conv: str | None, browser_id: str | None, request: gr.Request):
        owner = owner_of(request, browser_id)
        if not conv:
            return gr.skip(), gr.skip(), T["history_pick"]
        chat_msgs, sess = restore(owner, conv)
        title = next((s.title for s in conversations.list_conversations(cfg.data_dir, owner) if s.id == conv), "")
        return chat_msgs, sess, T["history_opened"].format(title=title) if chat_msgs else T["history_none"]

    def delete_history(conv: str | None, browser_id: str | None, sess: dict, request: gr.Request):
        owner = owner_of(request, browser_id)
        if not conv or not owner:
            return gr.skip(), T["history_pick"], gr.skip(), gr.skip()
        title = next((s.title for s in conversations.list_conversations(cfg.data_dir, owner) if s.id == conv), "")
        conversations.delete(cfg.data_dir, owner, conv)
        if sess.get("conversation") == conv:               # the open conversation is gone: a new chat
            return history_choices(owner), T["history_deleted"].format(title=title), [], new_session()
        return history_choices(owner), T["history_deleted"].format(title=title), gr.skip(), gr.skip()

    running: dict[str, threading.Event] = {}          # session -> cancel of its answer in progress

    def stop_answer(request: gr.Request):
        """The page was closed or reloaded: its answer in progress stops (the model is freed for the queue)."""
        ev = running.pop(session_id(request) or "", None)
        line.finish(session_id(request) or "", completed=False)
        if ev is not None:
            ev.set()

    def respond(outgoing: dict | None, sess: dict, browser_id: str | None, request: gr.Request):
        """The answer, counted against the client's limits when it starts (a direct call that skipped `check` too):
        refused before any work beyond them, released when done, cancelled or failed."""
        if not outgoing:
            yield from respond_admitted(outgoing, sess, browser_id, request)
            return
        client = client_key(request, "ui")
        over_limit(client, "ui", request, admit=True)
        key = session_id(request) or ""
        line.start(key)
        try:
            yield from respond_admitted(outgoing, sess, browser_id, request)
        finally:
            limits.release(client)
            line.finish(key, completed="_answer" in sess or bool(sess.get("_answered")))
            sess.pop("_answered", None)

    def respond_admitted(outgoing: dict | None, sess: dict, browser_id: str | None, request: gr.Request):
        first = True
        for out in answer_stream(outgoing, sess, request):
            yield *out, gr.skip(), ("" if first else gr.skip())     # its turn came: the wait note goes
            first = False
        answer = sess.pop("_answer", None)
        sess["_answered"] = answer is not None
        copy = copy_text(answer, T) if answer is not None else ""
        if answer is not None:
            sess.setdefault("turns", []).append(conversations.Turn(conversations.masked(outgoing["shown"]),
                                                                   answer.text, "", None, copy))
        owner = owner_of(request, browser_id)
        if answer is not None and owner:
            # stored as shown (the question masked again by rag/conversations.py, as in the audit log)
            idx = len(sess["messages"]) - 1
            sess["conversation"] = conversations.add_turn(cfg.data_dir, owner, sess.get("conversation"),
                                                          outgoing["shown"], answer.text,
                                                          sess["messages"][idx]["content"],
                                                          sess["answer_ids"].get(str(idx)), copy)
            yield sess["messages"], sess, None, history_choices(owner), gr.skip()

    def answer_stream(outgoing: dict | None, sess: dict, request: gr.Request):
        if not outgoing:
            yield gr.skip(), gr.skip(), None
            return
        asst = current_assistant(cfg, holder, reloading)
        sent = outgoing["text"]
        messages = sess["messages"]
        messages.append({"role": "user", "content": esc(outgoing["shown"])})
        messages.append({"role": "assistant", "content": answer_markdown(T, ai_label, "", streaming=True)})
        idx = len(messages) - 1
        # the page's own cancel: set when the page is closed or reloaded (app.unload) or 새 대화 is pressed, so an
        # abandoned answer stops at its next token and the model is free for the next person in line
        cancel, sid = threading.Event(), session_id(request) or ""
        running[sid] = cancel
        rewritten, pieces, answer, preview, evidence, reading = None, [], None, "", None, ""
        try:
            yield messages, sess, None
            for ev in asst.stream(sent, list(sess["history"]), cancel, viewer=viewer_for(request)):
                if ev.kind == "rewritten":
                    rewritten = ev.data
                elif ev.kind == "evidence":
                    evidence = ev.data
                    preview = preview_html(ev.data, T)
                    reading = reading_note(asst, ev.data)
                elif ev.kind == "token":
                    pieces.append(ev.data)
                elif ev.kind == "done":
                    answer = ev.data
                    continue
                else:
                    continue
                messages[idx]["content"] = answer_markdown(T, ai_label, "".join(pieces), rewritten=rewritten,
                                                           streaming=True, preview=preview, reading=reading)
                yield messages, sess, None
        except GeneratorExit:                        # cancelled (새 대화, or the page closed): stop the model too
            cancel.set()
            audit.record_answer(sent, outgoing["findings"], None, masked=outgoing["masked"],
                                acknowledged=outgoing["ack"], session=session_id(request), error="Cancelled")
            raise
        except Exception as e:                        # the type only: messages may quote the question
            log.error("answer failed: %s", type(e).__name__)
        finally:
            if running.get(sid) is cancel:
                running.pop(sid)
        if answer is None:
            messages[idx]["content"] = answer_markdown(T, ai_label, T["error_answer"])
            yield messages, sess, None
            return
        owners = None
        if answer.refused and evidence is not None:       # who keeps the nearest documents (access.toml owner)
            from rag import catalog
            owners = catalog.owners(asst.retriever.index, [p.source for p in evidence.passages])
        messages[idx]["content"] = answer_markdown(T, ai_label, answer.text, rewritten=answer.rewritten_question,
                                                   answer=answer, evidence=evidence, owners=owners)
        rid = audit.record_answer(sent, outgoing["findings"], answer, masked=outgoing["masked"],
                                  acknowledged=outgoing["ack"], session=session_id(request))
        speed.add(answer.timings)
        sess["answer_ids"][str(idx)] = rid
        sess["history"].append(Turn(question=guard.mask(sent), answer=answer.text))
        sess["_answer"] = answer
        yield messages, sess, None

    def reading_note(asst, evidence) -> str:
        """While the model reads the evidence (before its first word): how many sources, and when the answer should
        start, from this machine's measured reading speed (PrefillSpeed); the count alone before any measurement."""
        passages = getattr(evidence, "passages", None) or []
        if not passages:
            return ""
        est = speed.seconds(asst.question_tokens("\n".join(p.text for p in passages)))
        if est is None:
            return T["reading_unmeasured"].format(n=len(passages))
        return T["reading"].format(n=len(passages), eta=waiting.duration_text(est[0], T), rate=round(est[1]))

    # --------------------------------------------------------------------------- feedback
    reasons = list(T["feedback_reasons"])

    def feedback(sess: dict, data: gr.LikeData, request: gr.Request):
        """The one feedback path: the thumbs and the reasons under each answer, new, reloaded or reopened alike (a
        reopened answer's record id comes with its turn); stored against that answer's audit record."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        rid = sess["answer_ids"].get(str(index))
        if rid is None:                               # an answer shown before answers kept their ids
            return f"<div role=\"status\">{esc(T['feedback_no_record'])}</div>"
        if data.liked is True or data.liked is False:
            rating, reason = ("up" if data.liked else "down"), ""
        elif data.liked in reasons:
            rating, reason = "down", str(data.liked)
        else:                                         # undone (Gradio sends the empty value) or not one of ours
            return gr.skip()
        audit.record_feedback(rid, rating, reason, session=session_id(request))
        return f"<div role=\"status\">{esc(T['feedback_saved'])}</div>"

    def new_chat():
        return [], new_session(), None, "", "", *hidden_warning(), ""

    # --------------------------------------------------------------------------- export and the document list
    def export_chat(sess: dict):
        from ui import export
        turns = sess.get("turns") or []
        if not turns:
            return gr.File(value=None, visible=False), f"<div role=\"status\">{esc(T['export_nothing'])}</div>"
        title = T["export_title"].format(title=" ".join(turns[0].question.split())[:40])
        files = export.export(title, turns, T)
        return gr.File(value=[str(f) for f in files], visible=True), \
            f"<div role=\"status\">{esc(T['export_ready'])}</div>"

    def documents_html(query: str, request: gr.Request | None, everyone: bool = False) -> str:
        """The indexed documents this viewer may see (the admin tab: every document, with its label)."""
        from rag import catalog
        viewer = viewer_for(request)
        if everyone and not viewer.admin:
            return table_html(T["admin_only"], [], [])
        index = current_assistant(cfg, holder, reloading).retriever.index
        # the admin tab lists every file with its label (the files it manages); the chat, what this viewer may see
        docs, n = catalog.documents(index, None if everyone else viewer, query)
        rows = [(d.title, d.name, d.format.upper() or "-",
                 " · ".join(x for x in (T["docs_pages"].format(n=d.pages) if d.pages else "",
                                        T["docs_sections"].format(n=d.sections) if d.sections else "") if x) or "-",
                 d.indexed or "-", d.level + (f" ({', '.join(d.groups)})" if d.groups else ""), d.owner or "-")
                for d in docs]
        summary = (T["docs_summary"].format(n=n) if n else T["docs_none_match"] if (query or "").strip()
                   else T["docs_none"])
        if n > len(docs):
            summary += " " + T["docs_more"].format(shown=len(docs))
        cols = ("docs_col_title", "docs_col_file", "docs_col_format", "docs_col_size", "docs_col_indexed",
                "docs_col_level", "docs_col_owner")
        return table_html(summary, [T[k] for k in cols], rows)

    def my_documents(query: str, request: gr.Request):
        return documents_html(query, request)

    def all_documents(query: str, request: gr.Request):
        return documents_html(query, request, everyone=True)

    # --------------------------------------------------------------------------- admin: upload and re-index
    def preview_pii(files, request: gr.Request):
        """Before indexing: the personal data found in each chosen file (at most upload_max_files), by type and count
        (never a value)."""
        if not viewer_for(request).admin:
            remove_temp_uploads(files or [])          # whatever a non-admin got into Gradio's folder goes
            return upload_result_html(T, [], T["admin_only"])
        from index.loaders import LoadFailure, load_file
        from index.pii import screen_document
        from rag.runtime import pii_screen
        if not files:
            return ""
        screen = pii_screen("flag")                  # counts only; the chosen policy applies at indexing
        rows = []
        for f in files[:cfg.upload_max_files]:
            path = Path(getattr(f, "name", f))
            name = safe_filename(path.name)
            try:
                _, found = screen_document(load_file(path, max_bytes=max_upload), screen)
            except (LoadFailure, OSError) as e:
                rows.append((name, T["upload_error"], str(e) if isinstance(e, LoadFailure) else T["upload_unreadable"]))
                continue
            rows.append((name, T["pii_found"] if found else T["pii_none"], screen.describe(found) if found else ""))
        return upload_result_html(T, rows, T["pii_preview"], cols=("upload_col_file", "pii_col_result",
                                                                   "pii_col_types"))

    def upload_and_index(files, policy, level, groups, request: gr.Request, progress=gr.Progress()):
        from index.pii import POLICIES
        from index.store import IndexBusyError, IndexError_
        from rag.models import embedder_path
        from rag.runtime import index_files, pii_screen
        if not viewer_for(request).admin:
            remove_temp_uploads(files or [])
            return upload_result_html(T, [], T["admin_only"])
        if not files:
            return upload_result_html(T, [], T["upload_none"])
        from index.access import AccessFileError, make_label
        try:
            label = make_label(level, groups or "")
        except AccessFileError as e:
            return upload_result_html(T, [], T["upload_failed"].format(reason=str(e)))
        if label.level == LEVELS[-1] and not label.groups:       # the secret level and no group: nobody could see it
            return upload_result_html(T, [], T["secret_needs_groups"])
        paths = [getattr(f, "name", f) for f in files]
        progress(0, desc=T["stage_copy"])
        saved, rejected = save_uploads(paths, uploads_dir, max_upload, suffixes, T, max_files=cfg.upload_max_files,
                                       max_total=int(cfg.upload_max_total_mb * 2**20),
                                       quota=int(cfg.uploads_quota_mb * 2**20))
        remove_temp_uploads(paths)                   # copied (or refused): Gradio's copies are not kept
        rows = [(name, T["upload_error"], reason) for name, reason in rejected]
        if not saved:
            return upload_result_html(T, rows, T["upload_summary"].format(
                added=0, changed=0, unchanged=0, errors=len(rows), chunks="-"))
        stage_names = {"files": T["stage_files"], "embed": T["stage_embed"]}

        def on_progress(stage: str, done: int, total: int, eta: float) -> None:
            progress((done, total) if total else 0, desc=stage_names.get(stage, stage))

        asst = holder.assistant
        embedder = asst.retriever.embedder
        try:
            emb_path = embedder_path(cfg)
            report = index_files(cfg, [p for _, p in saved], embedder, emb_path, progress=on_progress,
                                 max_bytes=min(max_upload, int(cfg.max_file_mb * 2**20)),
                                 screen=pii_screen(policy if policy in POLICIES else cfg.document_pii), label=label)
        except IndexError_ as e:
            busy = isinstance(e, IndexBusyError)
            reason = T["upload_busy"] if busy else T["upload_failed"].format(reason=str(e).split("\n")[0])
            return upload_result_html(T, rows, reason)
        progress(1.0, desc=T["stage_reload"])
        if report.added or report.changed or report.removed or report.relabelled:
            holder.assistant = reload_index(cfg, asst, embedder, emb_path)
        name_of = {str(p): name for name, p in saved}
        screen = pii_screen(report.pii_policy or cfg.document_pii)

        def pii_note(src: str) -> str:
            found = report.pii.get(src)
            access = T["label_note"].format(level=label.level, groups=", ".join(label.groups) or "-")
            return access + (" · " + T[f"pii_done_{report.pii_policy}"].format(types=screen.describe(found))
                             if found else "")

        rows = ([(name_of.get(s, Path(s).name), T["upload_added"], pii_note(s)) for s in report.added]
                + [(name_of.get(s, Path(s).name), T["upload_changed"], pii_note(s)) for s in report.changed]
                + [(name_of.get(s, Path(s).name), T["upload_unchanged"], pii_note(s)) for s in report.unchanged]
                + [(name_of.get(e.source, Path(e.source).name), T["upload_error"], e.reason) for e in report.errors]
                + rows)
        summary = T["upload_summary"].format(added=len(report.added), changed=len(report.changed),
                                             unchanged=len(report.unchanged),
                                             errors=len(report.errors) + len(rejected), chunks=report.chunks_total)
        return upload_result_html(T, rows, summary)

    # --------------------------------------------------------------------------- layout
    notice = (f"<div role=\"note\"><p><strong>{esc(T['notice_title'])}</strong></p>"
              f"<p>{esc(prompts.messages['ai_notice'])}</p><p>{esc(T['notice_extra'])}</p></div>")
    # uploaded files in Gradio's cache are deleted after an hour (they are copied into data_dir/uploads)
    with gr.Blocks(title=T["title"], analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        sess = gr.State(new_session())
        outgoing = gr.State(None)
        # the first stop of the Tab key: straight to the question box, however many answers are on screen (desk.js)
        gr.HTML(f"<a class=\"skip-link\" href=\"#question\">{esc(T['skip_to_question'])}</a>", elem_id="skip",
                padding=False)
        gr.Markdown(f"# {esc(T['title'])}\n{esc(T['subtitle'])}", elem_id="title")
        with gr.Tabs():
            with gr.Tab(T["tab_chat"], elem_id="tab-chat"):
                gr.HTML(notice, elem_id="ai-notice", padding=True)
                chat = gr.Chatbot(label=T["chat_label"], elem_id="chat", height=480, buttons=["copy"],
                                  placeholder=esc(T["chat_placeholder"]), sanitize_html=True, render_markdown=True,
                                  latex_delimiters=[], feedback_options=("Like", "Dislike", *reasons),
                                  group_consecutive_messages=False)
                with gr.Column(visible=False, elem_id="warning") as warning:
                    warning_text = gr.HTML(elem_id="warning-text")
                    warning_spans = gr.HighlightedText(label=T["warning_spans_label"], elem_id="warning-spans",
                                                       show_legend=False, combine_adjacent=False,
                                                       interactive=False)
                    with gr.Row():
                        edit_btn = gr.Button(T["edit"], elem_id="edit", variant="secondary")
                        mask_btn = gr.Button(T["mask_send"], elem_id="mask-send", variant="primary")
                        anyway_btn = gr.Button(T["send_anyway"], elem_id="send-anyway", variant="stop")
                with gr.Row(equal_height=True):
                    question = gr.Textbox(label=T["question_label"], placeholder=T["question_placeholder"],
                                          elem_id="question", lines=1, max_lines=8, scale=8, autofocus=True)
                    send_btn = gr.Button(T["send"], elem_id="send", variant="primary", scale=1, min_width=100)
                    new_btn = gr.Button(T["new_chat"], elem_id="new-chat", scale=1, min_width=100)
                limit_note = gr.HTML(elem_id="question-limit")
                # its own element: a late live scan of the typed text (.change) rewrites limit_note, never this
                wait_box = gr.HTML(elem_id="wait-note")
                fb_status = gr.HTML(elem_id="fb-status")      # "의견이 저장되었습니다" (said by screen readers)
                with gr.Row(elem_id="export"):
                    export_btn = gr.Button(T["export_button"], elem_id="export-button", variant="secondary",
                                           scale=0, min_width=220)
                    export_status = gr.HTML(elem_id="export-status")
                export_files = gr.File(label=T["export_files_label"], elem_id="export-files", visible=False,
                                       interactive=False, file_count="multiple")
                with gr.Accordion(T["docs_title"], open=False, elem_id="documents"):
                    docs_search = gr.Textbox(label=T["docs_search_label"], elem_id="documents-search")
                    docs_table = gr.HTML(elem_id="documents-table")
                with gr.Accordion(T["history_title"], open=False, elem_id="history"):
                    hist_search = gr.Textbox(label=T["history_search_label"], elem_id="history-search")
                    hist_list = gr.Radio(choices=[], label=T["history_list_label"], elem_id="history-list")
                    with gr.Row():
                        hist_open = gr.Button(T["history_open"], elem_id="history-open", variant="secondary")
                        hist_delete = gr.Button(T["history_delete"], elem_id="history-delete", variant="stop")
                    hist_status = gr.HTML(elem_id="history-status")
                browser_id = gr.BrowserState(None, storage_key="policy-assistant-browser",
                                             secret=browser_secret(cfg.data_dir))
            with gr.Tab(T["tab_admin"], elem_id="tab-admin", visible=False) as admin_tab:
                gr.Markdown(esc(T["admin_intro"]))
                files = gr.File(label=T["upload_label"], file_count="multiple", file_types=suffixes,
                                elem_id="upload-files")
                gr.Markdown(esc(T["upload_help"].format(types=", ".join(s.lstrip(".").upper() for s in suffixes),
                                                        max_mb=f"{cfg.upload_max_mb:g}")))
                pii_preview = gr.HTML(elem_id="upload-pii-preview")
                pii_policy = gr.Radio([(T["pii_choice_mask"], "mask"), (T["pii_choice_flag"], "flag"),
                                       (T["pii_choice_refuse"], "refuse")], value=cfg.document_pii,
                                      label=T["pii_choice_label"], elem_id="upload-pii")
                with gr.Row():
                    level = gr.Radio(list(zip((T["level_public"], T["level_internal"], T["level_secret"]),
                                              LEVELS)), value=DEFAULT_LEVEL, label=T["level_label"],
                                     elem_id="upload-level")
                    groups = gr.Textbox(label=T["groups_label"], placeholder=T["groups_placeholder"],
                                        elem_id="upload-groups")
                index_btn = gr.Button(T["upload_button"], elem_id="upload-index", variant="primary")
                upload_result = gr.HTML(elem_id="upload-result")
                with gr.Accordion(T["docs_admin_title"], open=False, elem_id="admin-documents"):
                    admin_docs_search = gr.Textbox(label=T["docs_search_label"], elem_id="admin-documents-search")
                    admin_docs_table = gr.HTML(elem_id="admin-documents-table")
            admin_tabs = [admin_tab, *admin.build_tabs(cfg, T, audit, viewer_for)]

        panel = [warning, warning_text, warning_spans, mask_btn]
        private = {"api_visibility": "private"}

        def api_ask(question: str, request_id: str | None = None, request: gr.Request = None) -> dict:
            """JSON API for programs and load runs: POST `/gradio_api/call/ask` {"data": [question, request_id]}
            (request_id may be null; `/gradio_api/call/v2/ask` {"question": …} or gradio_client's
            `predict(question, api_name="/ask")` leave it out). request_id is the caller's opaque id (api_request_id:
            anything else gets a fresh one); it is recorded when the request starts (`ask_start`, with the server's
            sequence number) and with the answer, and echoed as "request_id" in the reply, so a load run can check
            what the server received, answered and in which order (eval/load.py). Nobody sees a warning here, so
            personal data is always masked before it is sent; the audit log records the finding types as for the
            chat. A failure is recorded (exception class only) before it reaches the caller. Beyond the client's
            limits (the account, else the address: max_active_per_client, rate_limit_per_minute) a question is refused
            before any work, recorded (error Busy / RateLimited) and answered with a gr.Error saying why."""
            request_id = api_request_id(request_id)
            audit.record_start(request_id, channel="api")
            client = client_key(request, "api")
            over_limit(client, "api", request, request_id, admit=True)
            try:
                return answer_api(question, request_id, request)
            finally:
                limits.release(client)

        def answer_api(question: str, request_id: str, request: gr.Request | None) -> dict:
            question, cap = question or "", scan_chars()
            if len(question) > cap:                   # refused for its length before the guard reads it all
                long = question_length(question)
                audit.record_answer(question[:cap], [], None, masked=False, channel="api", error="QuestionTooLong",
                                    request_id=request_id)
                raise gr.Error(holder.assistant.prompts.msg("question_too_long", tokens=long[0], limit=long[1]))
            findings = guard.scan(question or "")
            sent = guard.mask(question, findings) if guard.needs_warning(findings) else question
            long = holder.assistant.too_long(sent or "")
            if long:                                  # cannot fit the context window: refused before any work
                audit.record_answer(question, findings, None, masked=sent != question, channel="api",
                                    error="QuestionTooLong", request_id=request_id)
                raise gr.Error(holder.assistant.prompts.msg("question_too_long", tokens=long[0], limit=long[1]))
            try:
                answer = current_assistant(cfg, holder, reloading).ask(sent, viewer=viewer_for(request))
            except Exception as e:                    # the type only: messages may quote the question
                audit.record_answer(question, findings, None, masked=sent != question, channel="api",
                                    error=type(e).__name__, request_id=request_id)
                raise
            rid = audit.record_answer(question, findings, answer, masked=sent != question, channel="api",
                                      request_id=request_id)
            return {**answer_json(answer, rid), "request_id": request_id}

        gr.api(api_ask, api_name="ask", concurrency_limit=None)
        # .change, not .input: Gradio's textbox sends no input event for a paste (Ctrl+V), and a long paste must be
        # explained when it is pasted, not only at send
        question.change(live_scan, question, [*panel, limit_note], trigger_mode="always_last", show_progress="hidden",
                        **private)
        answer_out = [chat, sess, outgoing, hist_list, wait_box]
        to_panel = [*panel, outgoing, question, limit_note, wait_box]
        answering = []                               # the streaming events, cancelled by 새 대화
        for trigger, fn in ((question.submit, check), (send_btn.click, check), (mask_btn.click, choose("mask")),
                            (anyway_btn.click, choose("send_anyway"))):
            checked = trigger(fn, question, to_panel, show_progress="hidden", **private)
            # one line for every way of sending (Enter, 보내기, 가리고/그대로 보내기): one answer at a time, and a
            # waiting page sees its place in that line and Gradio's estimate from measured answer times
            answering.append(checked.then(respond, [outgoing, sess, browser_id], answer_out, concurrency_id="answer",
                                          concurrency_limit=1, show_progress="minimal", **private))
            checked.then(None, js=FOCUS_WARNING_JS, **private)
        edit_btn.click(choose("edit"), question, to_panel, show_progress="hidden", **private).then(
            None, js=FOCUS_QUESTION_JS, **private)
        chat.like(feedback, sess, fb_status, **private)
        reset_out = [chat, sess, outgoing, question, fb_status, *panel, limit_note]
        export_btn.click(export_chat, sess, [export_files, export_status], **private)
        docs_search.change(my_documents, docs_search, docs_table, trigger_mode="always_last", **private)
        admin_docs_search.change(all_documents, admin_docs_search, admin_docs_table, trigger_mode="always_last",
                                 **private)
        new_btn.click(new_chat, None, reset_out, cancels=answering, **private).then(
            None, js=FOCUS_QUESTION_JS, **private)
        chat.clear(new_chat, None, reset_out, cancels=answering, **private)      # the chat's own trash icon
        files.change(preview_pii, files, pii_preview, **private)
        index_btn.click(upload_and_index, [files, pii_policy, level, groups], upload_result, **private).then(
            all_documents, admin_docs_search, admin_docs_table, **private).then(   # the lists show the new files
            my_documents, docs_search, docs_table, **private)

        def show_admin(request: gr.Request):
            """The document, user and audit tabs only for admins, hidden until this says so (the handlers refuse anyone
            else as well)."""
            visible = viewer_for(request).admin
            return [gr.Tab(visible=visible) for _ in admin_tabs]

        app.load(show_admin, None, admin_tabs, **private)
        app.load(init_page, browser_id, [browser_id, hist_list, chat, sess], **private)
        app.load(my_documents, docs_search, docs_table, **private)
        app.load(all_documents, admin_docs_search, admin_docs_table, **private)
        hist_search.change(search_history, [hist_search, browser_id], [hist_list, hist_status],
                           trigger_mode="always_last", **private)
        hist_open.click(open_history, [hist_list, browser_id], [chat, sess, hist_status], **private)
        hist_delete.click(delete_history, [hist_list, browser_id, sess], [hist_list, hist_status, chat, sess],
                          **private)
        app.unload(stop_answer)
    return app


def theme():
    """System fonts; primary buttons at 5.2:1 (white on orange-700) in the theme itself, so pages outside the app's CSS
    (the login page) have them too."""
    colors = {"button_primary_background_fill": "#c2410c", "button_primary_background_fill_hover": "#9a3412",
              "button_primary_border_color": "#c2410c", "button_primary_text_color": "#ffffff"}
    return gr.themes.Default(font=FONT, font_mono=FONT_MONO).set(**colors, **{k + "_dark": v for k, v in colors.items()})


_NAMED_CALL = re.compile(r"^/gradio_api/(?:call/v2|call|run|api)/(?P<name>[^/]+)")


class ApiGate:
    """ASGI middleware in front of Gradio's routes. Gradio's api_visibility="private" only hides an event from the API
    page and the client libraries: POST /gradio_api/call/<function name> (and /run/, /api/) still runs it, and
    /gradio_api/queue/join runs any event by its number, as the page itself does. So events are callable by name only
    when public (PUBLIC_API), and every privileged handler checks its caller as well (viewer_for: no upload or re-index
    by a non-admin, however called). With no admin possible (`uploads=False`), Gradio's upload route is closed too."""

    def __init__(self, app, public: tuple[str, ...] = PUBLIC_API, uploads: bool = True):
        self.app, self.public, self.uploads = app, frozenset(public), uploads

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope.get("path", "")
            named = _NAMED_CALL.match(path)
            if (named and named["name"] not in self.public) or (
                    not self.uploads and path.rstrip("/") == "/gradio_api/upload"):
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body", "body": b"Forbidden"})
                return
        await self.app(scope, receive, send)


def launch_options(cfg: Config, host: str | None = None, port: int | None = None) -> dict:
    """Everything passed to Blocks.launch: local only, no share link, no telemetry, nothing from the internet."""
    from rag import users
    auth_message = None
    if users.any_users(cfg.data_dir):             # staff accounts: each request acts as its signed-in user
        def auth(name: str, password: str) -> bool:
            return users.verify(cfg.data_dir, name, password) is not None
        auth_message = esc(load_texts()["login_message"])
    else:                                         # no accounts: one optional shared login, as before
        auth = (cfg.auth_user, cfg.auth_password) if cfg.auth_user and cfg.auth_password else None
    from starlette.middleware import Middleware
    uploads = serving.is_loopback(host or cfg.host) or users.any_users(cfg.data_dir)
    return dict(server_name=host or cfg.host, server_port=port or cfg.port, share=False, auth=auth,
                auth_message=auth_message, app_kwargs={"middleware": [Middleware(ApiGate, uploads=uploads),
                                                       Middleware(a11y.PageTitle, title=load_texts()["title"])]},
                max_file_size=int(cfg.upload_max_mb * 2**20), footer_links=[], run_history=False, pwa=False,
                mcp_server=False, ssr_mode=False, show_error=False, inbrowser=False, enable_monitoring=False,
                blocked_paths=[str(Path(cfg.data_dir).resolve())], theme=theme(), css=CSS, js=PAGE_JS)


def serve(cfg: Config, host: str | None = None, port: int | None = None, insecure_no_auth: bool = False) -> int:
    """Start the browser chat (blocks until interrupted). Binds cfg.host (127.0.0.1) by default. Refuses
    (serving.ServeRefused) a half-set login, and a host reachable from the network without any login unless
    `insecure_no_auth`; checked before any model is loaded."""
    import sys
    cfg = dataclasses.replace(cfg, host=host or cfg.host, port=port or cfg.port)      # build_app reads the exposure
    warning = serving.check_serve(cfg, cfg.host, insecure_no_auth)
    if warning:
        log.warning("%s", warning)
        sys.stderr.write(warning + "\n")
        sys.stderr.flush()
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from rag.runtime import open_assistant
    assistant = open_assistant(cfg)
    assistant.warm_up()                      # the first user does not pay for loading or the system prompt prefill
    app = build_app(cfg, assistant)
    app.queue(default_concurrency_limit=1)
    app.launch(**launch_options(cfg, host, port))
    return 0
