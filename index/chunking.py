"""Whole sentences (and whole table rows) packed into chunks up to a token budget, with sentence overlap."""
from __future__ import annotations

import re
from dataclasses import dataclass

from index import korean
from index.korean import READS_AS_SENTENCE, split_sentences
from index.records import Chunk, Document

# "Ⅰ. 개요", "1. 추진 배경", "가. 사업 내용", "제3조(목적)", "□ 추진 현황", "## 제목"
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+|[IVXⅠ-Ⅻ]+\.\s*|\d{1,2}\.\s+|[가-하]\.\s+|제\d+(?:조|장|절)|[□■◆◇▶]\s*)")


EVIDENCE_UNIT_CHARS = 120      # evidence units longer than this are split (rag/evidence.py)
ROW_UNIT_CHARS = 480           # a table row record is split only beyond this: a row is cited whole


@dataclass
class Unit:
    text: str
    terms: list[str]
    n_tokens: int
    heading: str
    start: int = 0                 # span in the chunk text (set by unit_spans)
    end: int = 0
    row: bool = False              # a table row written with its column headers: one evidence unit, never split


def is_table_row(line: str) -> bool:
    return line.count(" | ") >= 1


CELL_SEP = " · "                   # between the "header: cell" pairs of a table row record
HEADER_CELL_CHARS = 24


def header_cells(line: str) -> list[str] | None:
    """The cells of a table's first row when they read as column names (short, not numbers), else None."""
    cells = [c.strip() for c in line.split(" | ")]
    if len(cells) < 2 or not all(0 < len(c) <= HEADER_CELL_CHARS and not re.fullmatch(r"[\d\s.,%~()/-]+", c)
                                 for c in cells):
        return None
    return cells


def row_record(header: list[str], line: str) -> str | None:
    """A table row as one record with its column headers ("사업명: 스마트 안부 확인 · 주관부서: 복지정책실"), when it has
    as many cells as the header; None otherwise (kept as "cell | cell"). Empty cells are left out."""
    cells = [c.strip() for c in line.split(" | ")]
    if len(cells) != len(header):
        return None
    return CELL_SEP.join(f"{h}: {c}" for h, c in zip(header, cells) if c) or None


# "일 시 : 2024. 3. 26.(화)", "장 소 : 서울시청 본관 8층", "라. 회부일자 : 2024년 2월 7일": a short label and its value
_FIELD = re.compile(r"^\s*(?:[○◆◇▶•□■-]\s*|[가-하0-9]{1,2}[.)]\s*)?[^\s:：]{1,8}(?:\s[^\s:：]{1,8}){0,3}\s*[:：]\s*\S")


def is_field_line(line: str) -> bool:
    """A form-like header line (label : value). Kept as its own unit: joined to its neighbours into one "sentence",
    a cited passage would show the whole header as if it were one statement and the line that answers gets lost."""
    return bool(_FIELD.match(line)) and len(line) <= 160 and not is_table_row(line)


def is_heading(line: str) -> bool:
    s = line.strip()
    return 0 < len(s) <= 40 and bool(_HEADING.match(s)) and not READS_AS_SENTENCE.search(s.rstrip(".")) and not is_table_row(s)


def units(text: str, heading: str = "") -> list[Unit]:
    """Split a section into atomic units: sentences (kiwipiepy) and table rows; track headings. A table whose first
    row reads as column names has every following row written as one record with those names carried in, so a row
    read on its own (evidence, a citation) says which cell is which."""
    out: list[Unit] = []
    para: list[str] = []
    header: list[str] | None = None
    in_table = False

    def flush() -> None:
        if para:
            for s in split_sentences(" ".join(para)):
                out.append(Unit(s.text, s.terms, s.n_tokens, heading))
            para.clear()

    for line in text.splitlines():
        s = line.strip()
        row = is_table_row(s)
        if not row:
            in_table, header = False, None
        if not s:
            flush()
            continue
        if row:
            flush()
            record = row_record(header, s) if in_table and header else None
            if not in_table:
                in_table, header = True, header_cells(s)
            s = record or s
            sent = split_sentences(s)
            out.append(Unit(s, [t for x in sent for t in x.terms], sum(x.n_tokens for x in sent) or 1, heading,
                            row=record is not None))
        elif is_field_line(s):
            flush()
            sent = split_sentences(s)
            out.append(Unit(s, [t for x in sent for t in x.terms], sum(x.n_tokens for x in sent) or 1, heading))
        elif is_heading(s):
            flush()
            heading = s.lstrip("#□■◆◇▶ ").strip()
            sent = split_sentences(s)
            out.append(Unit(s, [t for x in sent for t in x.terms], sum(x.n_tokens for x in sent) or 1, heading))
        else:
            para.append(s)
    flush()
    return out


def pack(us: list[Unit], budget: int, overlap: int) -> list[list[Unit]]:
    """Greedy packing of whole units up to `budget` tokens; the next chunk repeats the last `overlap` units."""
    groups: list[list[Unit]] = []
    cur: list[Unit] = []
    size = 0
    fresh = 0                      # units in cur that are not overlap
    for u in us:
        if cur and fresh and size + u.n_tokens > budget:
            groups.append(cur)
            cur = cur[-overlap:] if overlap else []
            # never let the overlap alone exceed the budget with the next unit
            while cur and sum(x.n_tokens for x in cur) + u.n_tokens > budget:
                cur = cur[1:]
            size = sum(x.n_tokens for x in cur)
            fresh = 0
        cur.append(u)
        size += u.n_tokens
        fresh += 1
    if cur and fresh:
        groups.append(cur)
    return groups


# list markers a PDF's text layer leaves inside one long "sentence": a new item starts before them
_ITEM = re.compile(r"\s+(?=[•◦○▪●◆◇□■▶※➊-➓①-⑳]|-\s|\(\d{1,2}\)\s|[A-Z가-하]\)\s)")
# a "sentence" kiwipiepy cut off before its particle ("‘서울스마트시티엑스포’ / 에서 ‘스마트라이프워크’로 …")
_PARTICLE_START = re.compile(r"^(?:에서|에게|으로|로|에|을|를|의|와|과)\s")


def _windows(text: str, max_chars: int) -> list[str]:
    """Whitespace-bounded windows of at most ~max_chars characters."""
    out: list[str] = []
    cur = ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > max_chars:
            out.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    if cur:
        out.append(cur)
    return out


def _locate(text: str, piece: str, pos: int) -> tuple[int, int]:
    """The span of `piece` in `text` at or after `pos`, word by word (the text may hold newlines where the piece
    has spaces). Only called with the next piece in order, so the first match is the right one."""
    end = start = -1
    for i, w in enumerate(piece.split()):
        at = text.find(w, pos if i == 0 else end)
        if at < 0:
            raise ValueError(f"unit not found in chunk text: {piece[:40]!r}")
        start = at if i == 0 else start
        end = at + len(w)
    return start, end


def fine_units(us: list[Unit], max_chars: int = EVIDENCE_UNIT_CHARS) -> list[Unit]:
    """Units made fit for evidence: a sentence cut before its particle is re-joined, and a long unit (a PDF bullet
    list or table that kiwipiepy sees as one sentence) is split at its list markers and then into windows, so the
    evidence budget buys the item that answers the question instead of the whole list. Spans (start, end) are kept."""
    merged: list[Unit] = []
    for u in us:
        if merged and _PARTICLE_START.match(u.text) and " | " not in merged[-1].text:
            prev = merged[-1]
            merged[-1] = Unit(f"{prev.text} {u.text}", prev.terms + u.terms, prev.n_tokens + u.n_tokens, prev.heading,
                              prev.start, u.end)
        else:
            merged.append(u)
    out: list[Unit] = []
    for u in merged:
        if not u.terms:
            continue                                   # "○", "다.", "등)": layout debris, no content
        if len(u.text) <= max_chars or (u.row and len(u.text) <= ROW_UNIT_CHARS):
            out.append(u)
            continue
        pos = 0
        for item in _ITEM.split(u.text):
            for piece in _windows(item, max_chars):
                s, e = _locate(u.text, piece, pos)
                pos = e
                terms = korean.terms(piece)
                if terms:
                    out.append(Unit(piece, terms, len(piece), u.heading, u.start + s, u.start + e))
    return out


def unit_spans(text: str, us: list[Unit]) -> list[list]:
    """The evidence units of a chunk as stored: [start, end, morphemes]; the unit's text is text[start:end] with
    its whitespace collapsed (span_text). `us` are all the units the text was made of, in order."""
    pos = 0
    for u in us:
        u.start, u.end = _locate(text, u.text, pos)
        pos = u.end
    return [[u.start, u.end, u.terms] for u in fine_units(us)]


def span_text(text: str, start: int, end: int) -> str:
    return " ".join(text[start:end].split())


def chunk_units(chunk: Chunk) -> list[tuple[str, list[str]]]:
    """(text, morphemes) of a chunk's evidence units: those stored at ingest, or, for a chunk made by hand, computed
    now from its text (kiwipiepy)."""
    spans = chunk.units or unit_spans(chunk.text, units(chunk.text, chunk.section))
    return [(span_text(chunk.text, s, e), list(t)) for s, e, t in spans]


@dataclass
class ChunkWithTerms:
    chunk: Chunk
    terms: list[str]


def chunk_document(doc: Document, doc_key: str, budget: int = 200, overlap: int = 1) -> list[ChunkWithTerms]:
    """Chunks of one document; ids are `<doc_key>:<ordinal>`; each chunk carries page and heading."""
    out: list[ChunkWithTerms] = []
    for sec in doc.sections:
        for group in pack(units(sec.text, sec.heading), budget, overlap):
            n = len(out)
            text = "\n".join(u.text for u in group)
            terms = [t for u in group for t in u.terms]
            heading = next((u.heading for u in reversed(group) if u.heading), sec.heading)
            # evidence units: the section's own units (its paragraphs and lines kept apart), located in the chunk
            # text. Re-splitting the joined text would merge a document's separate short lines into one "sentence".
            out.append(ChunkWithTerms(Chunk(id=f"{doc_key}:{n}", source=doc.source, text=text, page=sec.page,
                                            section=heading, ordinal=n, units=unit_spans(text, group)),
                                      terms))
    return out
