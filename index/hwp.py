"""HWP 5.0 (.hwp) and HWPX (.hwpx) documents -> title and text blocks, through python-hwpx.

Choice of parser. Four PyPI readers were run on the nine files in ../shared/fixtures/hwp (Python 3.11, this 2-core
machine; median of 5 runs per file after a first call):
- python-hwpx 6.9.0 (Apache-2.0; releases through 2026; needs only lxml; 9.5 MB installed; import + first call 0.5 s,
  then 15-31 ms a fixture, 0.8 s for a generated 240,000-character .hwp). It opens .hwp by converting the HWP 5.0
  records into the OWPML XML that .hwpx holds, so one walker below serves both formats. Korean text, table cells (row
  by row, multi-paragraph cells, captions with their numbers), footnotes and endnotes all come through; it refuses
  password, DRM and 배포용 (distribution) documents by their FileHeader flags with stable error codes, so the
  placeholder notice of viewtext.hwp is never read as content; it follows ViewText for documents that track changes.
  It also writes .hwpx and .hwp, which the tests use. Chosen.
- hwp-hwpx-parser 1.0.0 (Apache-2.0, a single release, pure Python over olefile; 0.3-17 ms): correct body text and
  footnotes, tables only as Markdown inside the text, drops any character outside a hand-written Unicode whitelist,
  refuses the encrypted file, but returns the 배포용 placeholder notice as if it were the body.
- unhwp 0.23.1 (MIT, a Rust library through ctypes, 23 MB installed with binaries for five platforms; 0.1-0.2 ms):
  fastest, correct text, Markdown tables, refuses the encrypted file, but reports viewtext.hwp as no distribution
  document and returns its placeholder notice.
- pyhwp 0.1b15 (AGPL-3.0, last release 2020, imports `six` without declaring it; 33-91 ms): its text output replaces
  tables by "<표>" (cell text lost), fails with a TypeError on the encrypted file, and decrypts 배포용 documents, which
  we must not index. Its licence alone rules it out here.
The walker keeps what matters for retrieval: paragraphs in order, each table row on one line with cells joined by
" | ", captions, foot/endnotes after the paragraph that cites them ("1) ..."), text boxes; page headers and footers
are left out (they repeat on every page). Hancom's private-use "한" logo glyph (U+F53A, as in "한글 문서 파일 형식")
is mapped back to "한".
"""
from __future__ import annotations

import warnings
from pathlib import Path

# Block kinds handed to the loader: "heading" (a paragraph in an outline style; the loader keeps it a heading only
# when it reads like one), "para", "row" (one table row).
Block = tuple[str, str]

_HANCOM_PUA = str.maketrans({"\uf53a": "한"})
_SKIP_CONTROLS = frozenset({"header", "footer", "pageNum", "pageHiding", "newNum", "pageNumCtrl", "colPr", "indexmark",
                            "bookmark", "fieldBegin", "fieldEnd"})
_NOTES = frozenset({"footNote", "endNote"})
_TEXT_SPACES = {"tab": " ", "nbSpace": " ", "fwSpace": " ", "lineBreak": "\n", "hyphen": ""}


class HwpRefused(Exception):
    """The document cannot be read; `code` is one of: encrypted, distribution, drm, hwp3, corrupt."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


_HWP5_CODES = {"hwp5-password": "encrypted", "hwp5-distribution": "distribution", "hwp5-drm": "drm",
               "hwp5-version-unsupported": "hwp3"}


def read_hwp(path: Path) -> tuple[str, list[Block]]:
    """Title (document metadata, "" when absent) and text blocks of a .hwp or .hwpx file."""
    from hwpx import HwpxDocument
    from hwpx.errors import Hwp5Error

    with open(path, "rb") as f:
        head = f.read(32)
    if head.startswith(b"HWP Document File V"):          # HWP 3.x and older: a different binary format
        raise HwpRefused("hwp3")
    try:
        with warnings.catch_warnings():                   # conversion notes about shapes we do not read
            warnings.simplefilter("ignore")
            doc = HwpxDocument.open(path)
    except Hwp5Error as e:
        raise HwpRefused(_HWP5_CODES.get(getattr(e, "code", ""), "corrupt")) from None
    except Exception:
        raise HwpRefused("corrupt") from None
    try:
        headings = _heading_style_ids(doc)
        blocks: list[Block] = []
        for section in doc.sections:
            for p in section.element:
                if _local(p.tag) == "p":
                    _paragraph(p, blocks, headings)
        title = (doc.package.document_metadata().title or "").translate(_HANCOM_PUA).strip()
    except Exception:
        raise HwpRefused("corrupt") from None
    finally:
        doc.close()
    return title, blocks


def _heading_style_ids(doc) -> set[str]:
    """Ids of the outline styles ("개요 1".."개요 10" / "Outline N"); paragraphs in them are headings."""
    ids = set()
    for sid, style in doc.styles.items():
        name, eng = style.name or "", style.eng_name or ""
        if eng.lower().startswith("outline") or name.startswith("개요") or name.startswith("제목"):
            ids.add(str(sid))
    return ids


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _paragraph(p, out: list[Block], headings: set[str]) -> None:
    """Append the blocks of one <hp:p>: its text, split around the tables and text boxes it anchors, then its notes."""
    buf: list[str] = []
    notes: list[Block] = []

    def flush() -> None:
        text = "".join(buf).translate(_HANCOM_PUA).strip()
        buf.clear()
        if text:
            out.append(("heading" if p.get("styleIDRef") in headings else "para", text))

    for run in p:
        if _local(run.tag) != "run":
            continue
        for child in run:
            name = _local(child.tag)
            if name == "t":
                _text(child, buf)
            elif name == "tbl":
                flush()
                _table(child, out, headings)
            elif name == "ctrl":
                for ctrl in child:
                    cname = _local(ctrl.tag)
                    if cname in _NOTES:
                        for sub in _sub_paragraphs(ctrl):
                            _paragraph(sub, notes, headings)
                    elif cname == "autoNum":
                        buf.append(_auto_number(ctrl))
            elif name == "dutmal":                       # 덧말: main text with a small annotation above it
                buf.append("".join(x.text or "" for x in child if _local(x.tag) == "mainText"))
            elif name not in _SKIP_CONTROLS:
                # shapes and pictures: only their text boxes and captions carry text
                boxes = list(_text_boxes(child))
                if boxes:
                    flush()
                    for box in boxes:
                        for sub in _sub_paragraphs(box):
                            _paragraph(sub, out, headings)
    flush()
    out.extend(("para", text) for _, text in notes)


def _text(t, buf: list[str]) -> None:
    if t.text:
        buf.append(t.text)
    for child in t:
        name = _local(child.tag)
        if name in _TEXT_SPACES:
            buf.append(_TEXT_SPACES[name])
        elif child.text and name not in ("markpenBegin", "markpenEnd"):
            buf.append(child.text)
        if child.tail:
            buf.append(child.tail)


def _auto_number(ctrl) -> str:
    """A caption's "표 3" or a note's "1)": the number with the prefix and suffix of its format."""
    num = ctrl.get("num") or ""
    fmt = next((x for x in ctrl if _local(x.tag) == "autoNumFormat"), None)
    if fmt is None or ctrl.get("numType") not in ("FOOTNOTE", "ENDNOTE"):
        return num
    return (fmt.get("prefixChar") or "") + num + (fmt.get("suffixChar") or "") + " "


def _sub_paragraphs(element) -> list:
    """The paragraphs of the <hp:subList> of `element` (a note, cell, caption or text box)."""
    for sub in element:
        if _local(sub.tag) == "subList":
            return [p for p in sub if _local(p.tag) == "p"]
    return []


def _text_boxes(element):
    """The outermost text boxes and captions inside a shape or picture (nested ones are reached through these)."""
    for child in element:
        if _local(child.tag) in ("drawText", "caption"):
            yield child
        else:
            yield from _text_boxes(child)


def _table(tbl, out: list[Block], headings: set[str]) -> None:
    """One "row" block per table row (cells joined with " | "), then the caption's paragraphs."""
    for tr in tbl:
        if _local(tr.tag) != "tr":
            continue
        cells = []
        for tc in tr:
            if _local(tc.tag) != "tc":
                continue
            inner: list[Block] = []
            for p in _sub_paragraphs(tc):
                _paragraph(p, inner, headings)
            cells.append(" ".join(text.replace("\n", " ") for _, text in inner).replace(" | ", " / "))
        if any(cells):
            out.append(("row", " | ".join(cells)))
    for caption in (x for x in tbl if _local(x.tag) == "caption"):
        for p in _sub_paragraphs(caption):
            _paragraph(p, out, headings)
