"""Files -> Document records: one reader per format, all ending in normalized sections.

`load_file` reads one file or raises `LoadFailure` with a short Korean reason that names the cause (never the file's
contents); `load_many` reads a batch and turns every failure, expected or not, into a `LoadError` so that one bad file
never stops the others. Sections are pages for PDF (page numbers 1-based) and heading-led paragraph groups for the
other formats; tables come out one row per line, cells joined with " | ". HWP/HWPX reading lives in index/hwp.py.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from index.chunking import is_heading
from index.korean import READS_AS_SENTENCE
from index.normalize import normalize_text
from index.records import Document, LoadError, Section, shown_path

# User-facing reasons (Korean); kept together so they can move to prompts/.
MESSAGES = {
    "empty": "빈 파일",
    "unsupported": "지원하지 않는 형식 ({suffix})",
    "not_found": "파일을 찾을 수 없음",
    "unreadable": "파일을 읽을 수 없음",
    "too_large": "파일이 너무 큼 ({size} > 한도 {limit})",
    "binary": "바이너리 파일로 보임",
    "encoding": "인코딩을 알 수 없음",
    "no_text": "텍스트가 없음",
    "no_text_pdf": "텍스트가 없음(스캔 PDF?)",
    "corrupt": "손상된 {fmt}",
    "pdf_encrypted": "암호화된 PDF",
    "hwp_encrypted": "암호화된 HWP",
    "hwp_distribution": "배포용 HWP (본문 암호화)",
    "hwp_drm": "DRM으로 보호된 HWP",
    "hwp3": "지원하지 않는 형식 (HWP 3.0 이하)",
    "unexpected": "읽는 중 오류 ({error})",
}

FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md", ".pdf": "pdf", ".hwp": "hwp", ".hwpx": "hwpx",
           ".docx": "docx", ".html": "html", ".htm": "html"}
SUPPORTED_SUFFIXES = frozenset(FORMATS)
MAX_SECTION_CHARS = 4000          # paragraph groups are cut at about this size; the heading carries over
TITLE_MAX_CHARS = 80
_SNIFF_BYTES = 8192

Block = tuple[str, str]           # (kind, text); kind: "heading" | "para" | "row" (a table row)


class LoadFailure(Exception):
    """A file that cannot be indexed; `reason` is the short Korean text shown to the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _fail(key: str, **kw: object) -> LoadFailure:
    return LoadFailure(MESSAGES[key].format(**kw))


# ---------------------------------------------------------------------------------------------------------------------
# entry points

def load_file(path: Path, max_bytes: int) -> Document:
    """Read one file into a Document (source = `path` as given) or raise LoadFailure."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise _fail("unsupported", suffix=path.suffix.lower() or "확장자 없음")
    try:
        st = path.stat()
    except FileNotFoundError:
        raise _fail("not_found") from None
    except OSError:
        raise _fail("unreadable") from None
    if not path.is_file():
        raise _fail("unreadable")
    if st.st_size == 0:
        raise _fail("empty")
    if st.st_size > max_bytes:                   # checked before anything is read
        raise _fail("too_large", size=_size_text(st.st_size), limit=_size_text(max_bytes))
    try:
        title, sections = _READERS[fmt](path)
    except LoadFailure:
        raise
    except PermissionError:
        raise _fail("unreadable") from None
    except Exception:                            # any parser error on a malformed file; its message may quote content
        raise _fail("corrupt", fmt=fmt.upper()) from None
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise _fail("no_text_pdf" if fmt == "pdf" else "no_text")
    title = _one_line(title) or _fallback_title(sections) or Path(shown_path(path)).stem
    return Document(source=shown_path(path), title=title, sections=sections, format=fmt)


def load_many(paths: Iterable[Path | str], max_bytes: int) -> tuple[list[Document], list[LoadError]]:
    """Read every file; failures become LoadError records (file name + reason), never exceptions."""
    docs: list[Document] = []
    errors: list[LoadError] = []
    for p in paths:
        try:
            docs.append(load_file(Path(p), max_bytes))
        except LoadFailure as e:
            errors.append(LoadError(source=shown_path(p), reason=e.reason))
        except Exception as e:                   # a bug in a reader must not stop the batch; name only its type
            errors.append(LoadError(source=shown_path(p), reason=MESSAGES["unexpected"].format(error=type(e).__name__)))
    return docs, errors


# ---------------------------------------------------------------------------------------------------------------------
# shared helpers

def _size_text(n: int) -> str:
    """Bytes as the user reads them: MB (2^20 bytes) with one decimal, KB below 0.1 MB."""
    return f"{n / 2**20:.1f} MB" if n >= 2**20 / 10 else f"{n / 2**10:.1f} KB"


def _one_line(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()[:200]


def _fallback_title(sections: list[Section]) -> str:
    """The first line when it reads like a title, else the first heading."""
    first = next((line.strip() for line in sections[0].text.splitlines() if line.strip()), "")
    if is_heading_like(first):
        return first
    return next((s.heading for s in sections if s.heading), "")




def is_heading_like(line: str) -> bool:
    """A short line that does not read as a sentence: a title or heading."""
    s = line.strip()
    return 0 < len(s) <= TITLE_MAX_CHARS and " | " not in s and not READS_AS_SENTENCE.search(s)


def _last_heading(text: str, current: str) -> str:
    """The heading in force after `text` (headings as index/chunking.py recognizes them in plain text)."""
    for line in text.splitlines():
        if is_heading(line):
            current = line.lstrip("#□■◆◇▶ ").strip()
    return current


def sections_from_blocks(blocks: Iterable[Block]) -> list[Section]:
    """Group blocks into sections: a new one at each heading, and after about MAX_SECTION_CHARS.

    A block styled as a heading that reads like a sentence (a numbered outline paragraph, a misused Heading style) is
    kept as a paragraph.

    Each block is normalized on its own, so lines are joined only inside a paragraph (a line break typed mid-sentence
    in HWP/DOCX, a hard-wrapped Markdown paragraph), never across paragraphs, headings or table rows. In the section
    text, paragraphs are separated by a blank line and the rows of one table stand on consecutive lines.
    """
    sections: list[Section] = []
    pieces: list[str] = []
    heading = ""
    size = 0
    last_kind = ""

    def close() -> None:
        nonlocal size
        if pieces:
            sections.append(Section(text="\n\n".join(pieces), heading=heading))
        pieces.clear()
        size = 0

    for kind, raw in blocks:
        text = normalize_text(raw)
        if not text:
            continue
        if kind == "heading" and is_heading_like(text):
            close()
            heading = _one_line(text)
            pieces.append(heading)
        else:
            if size > MAX_SECTION_CHARS and kind != "row":
                close()
            if kind == "row" and last_kind == "row" and pieces:
                pieces[-1] += "\n" + _one_line(text)
            else:
                pieces.append(_one_line(text) if kind == "row" else text)
            size += len(text)
        last_kind = kind
    close()
    return sections


def _sections_from_text(text: str) -> list[Section]:
    """Plain text (already normalized): paragraph groups of about MAX_SECTION_CHARS, cut at blank lines."""
    sections: list[Section] = []
    buf: list[str] = []
    heading = ""
    section_heading = ""
    size = 0
    for para in text.split("\n\n"):
        if size > MAX_SECTION_CHARS:
            sections.append(Section(text="\n\n".join(buf), heading=section_heading))
            buf, size, section_heading = [], 0, heading
        buf.append(para)
        size += len(para)
        heading = _last_heading(para, heading)
    if buf:
        sections.append(Section(text="\n\n".join(buf), heading=section_heading))
    return sections


# ---------------------------------------------------------------------------------------------------------------------
# text and markdown

def decode_text(data: bytes) -> str:
    """Bytes of a text file -> str: BOMs, then strict UTF-8, then CP949 (EUC-KR), then charset-normalizer."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise _fail("binary")
    try:
        return _check_textual(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp949")
        non_ascii = [c for c in text if ord(c) > 127]
        if sum("가" <= c <= "힣" for c in non_ascii) >= 0.5 * len(non_ascii):
            return _check_textual(text)
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes
    best = from_bytes(data[:1_000_000]).best()
    if best is None or best.encoding is None:
        raise _fail("encoding")
    return _check_textual(data.decode(best.encoding, errors="replace"), replaced=True)


def _check_textual(text: str, replaced: bool = False) -> str:
    """Refuse text that is mostly control characters (or replacement characters, when decoding replaced bytes)."""
    sample = text[:_SNIFF_BYTES]
    bad = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f")
    if replaced:
        bad += sample.count("\ufffd")
    if bad > max(2, 0.01 * len(sample)):
        raise _fail("binary")
    return text


def _read_txt(path: Path) -> tuple[str, list[Section]]:
    text = normalize_text(decode_text(path.read_bytes()))
    return "", _sections_from_text(text)


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _read_md(path: Path) -> tuple[str, list[Section]]:
    blocks: list[Block] = []
    para: list[str] = []
    title = ""
    in_code = False

    def flush() -> None:
        if para:
            blocks.append(("para", "\n".join(para)))    # one paragraph: its hard-wrapped lines may be joined
            para.clear()

    for line in decode_text(path.read_bytes()).splitlines():
        s = line.strip()
        if s.startswith(("```", "~~~")):
            flush()
            in_code = not in_code
        elif in_code:
            blocks.append(("para", line))
        elif m := _MD_HEADING.match(line):
            flush()
            blocks.append(("heading", m.group(2)))
            title = title or (m.group(2) if len(m.group(1)) == 1 else "")
        elif len(s) > 1 and s.startswith("|") and s.endswith("|"):
            flush()
            if not _MD_TABLE_RULE.match(s):
                blocks.append(("row", " | ".join(c.strip() for c in s[1:-1].split("|"))))
        elif not s:
            flush()
        else:
            para.append(line)
    flush()
    return title, sections_from_blocks(blocks)


# ---------------------------------------------------------------------------------------------------------------------
# PDF

def _read_pdf(path: Path) -> tuple[str, list[Section]]:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)   # repair notes about damaged cross-reference tables
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):               # an owner password alone still opens with ""
                    raise _fail("pdf_encrypted")
            except LoadFailure:
                raise
            except Exception:
                raise _fail("pdf_encrypted") from None
        pages = list(reader.pages)
    except LoadFailure:
        raise
    except Exception:
        raise _fail("corrupt", fmt="PDF") from None
    sections: list[Section] = []
    heading = ""
    failed = 0
    for number, page in enumerate(pages, start=1):
        try:
            text = normalize_text(page.extract_text() or "")
        except Exception:                                # one damaged page does not lose the others
            failed += 1
            continue
        sections.append(Section(text=text, page=number, heading=heading))
        heading = _last_heading(text, heading)
    if pages and failed == len(pages):
        raise _fail("corrupt", fmt="PDF")
    title = ""
    try:
        meta = reader.metadata
        title = (meta.title or "") if meta else ""
    except Exception:
        pass
    if re.match(r"^(microsoft (word|powerpoint)|untitled|제목 없음)", title.strip(), re.I):
        title = ""
    return title, sections


# ---------------------------------------------------------------------------------------------------------------------
# HWP / HWPX

def _read_hwp(path: Path) -> tuple[str, list[Section]]:
    from index.hwp import HwpRefused, read_hwp

    try:
        title, blocks = read_hwp(path)
    except HwpRefused as e:
        key = {"encrypted": "hwp_encrypted", "distribution": "hwp_distribution", "drm": "hwp_drm",
               "hwp3": "hwp3"}.get(e.code)
        if key:
            raise _fail(key) from None
        raise _fail("corrupt", fmt=path.suffix.lstrip(".").upper() or "HWP") from None
    return title, sections_from_blocks(blocks)


# ---------------------------------------------------------------------------------------------------------------------
# DOCX

def _read_docx(path: Path) -> tuple[str, list[Section]]:
    import docx
    from docx.table import Table

    document = docx.Document(str(path))
    blocks: list[Block] = []
    title = document.core_properties.title or ""
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(("row", row) for row in _docx_rows(item))
            continue
        style = (item.style.name if item.style is not None else "") or ""
        text = item.text
        if style == "Title" or style.startswith(("Heading", "제목")):
            blocks.append(("heading", text))
            if style == "Title" and not title:
                title = text
        else:
            blocks.append(("para", text))
    return title, sections_from_blocks(blocks)


def _docx_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], []
        for cell in row.cells:
            if any(cell._tc is tc for tc in seen):        # a merged cell is repeated once per grid column
                continue
            seen.append(cell._tc)
            parts = [p.text for p in cell.paragraphs] + [r for t in cell.tables for r in _docx_rows(t)]
            cells.append(" ".join(x.strip() for x in parts if x.strip()).replace(" | ", " / "))
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


# ---------------------------------------------------------------------------------------------------------------------
# HTML

_HTML_BLOCKS = ["address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figcaption",
                "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
                "ol", "p", "pre", "section", "summary", "details", "ul", "caption"]
_HEAD_MARK = "\x1e"


def _read_html(path: Path) -> tuple[str, list[Section]]:
    from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction

    data = path.read_bytes()
    if b"\x00" in data[:_SNIFF_BYTES] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _fail("binary")
    soup = BeautifulSoup(data, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "svg", "head", "iframe", "object"]):
        tag.decompose()
    for s in soup.find_all(string=lambda s: isinstance(s, (Comment, Declaration, Doctype, ProcessingInstruction))):
        s.extract()
    for s in soup.find_all(string=True):
        if s.find_parent("pre") is None:
            s.replace_with(re.sub(r"\s+", " ", str(s)))
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for table in reversed(soup.find_all("table")):        # innermost first
        lines = []
        if table.caption:
            lines.append(table.caption.get_text(" ", strip=True))
        for tr in table.find_all("tr"):
            if tr.find_parent("table") is not table:
                continue
            cells = [re.sub(r"\s+", " ", c.get_text(" ", strip=True)).replace(" | ", " / ")
                     for c in tr.find_all(["td", "th"], recursive=False)]
            if any(cells):
                lines.append(" | ".join(cells))
        table.replace_with(NavigableString("\n\n" + "\n".join(lines) + "\n\n"))
    for h in soup.find_all(re.compile(r"^h[1-6]$")):
        h.insert(0, NavigableString(_HEAD_MARK))
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before(NavigableString("\n"))
        tag.insert_after(NavigableString("\n"))
    blocks: list[Block] = []
    for line in soup.get_text().split("\n"):
        if _HEAD_MARK in line:
            blocks.append(("heading", line.replace(_HEAD_MARK, "")))
        elif " | " in line:
            blocks.append(("row", line))
        else:
            blocks.append(("para", line))
    if not title:
        title = next((t for k, t in blocks if k == "heading" and t.strip()), "")
    return title, sections_from_blocks(blocks)


_READERS: dict[str, Callable[[Path], tuple[str, list[Section]]]] = {
    "txt": _read_txt, "md": _read_md, "pdf": _read_pdf, "hwp": _read_hwp, "hwpx": _read_hwp,
    "docx": _read_docx, "html": _read_html,
}
