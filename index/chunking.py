"""Whole sentences (and whole table rows) packed into chunks up to a token budget, with sentence overlap."""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.korean import READS_AS_SENTENCE, split_sentences
from index.records import Chunk, Document

# "Ⅰ. 개요", "1. 추진 배경", "가. 사업 내용", "제3조(목적)", "□ 추진 현황", "## 제목"
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+|[IVXⅠ-Ⅻ]+\.\s*|\d{1,2}\.\s+|[가-하]\.\s+|제\d+(?:조|장|절)|[□■◆◇▶]\s*)")


@dataclass
class Unit:
    text: str
    terms: list[str]
    n_tokens: int
    heading: str


def is_table_row(line: str) -> bool:
    return line.count(" | ") >= 1


def is_heading(line: str) -> bool:
    s = line.strip()
    return 0 < len(s) <= 40 and bool(_HEADING.match(s)) and not READS_AS_SENTENCE.search(s.rstrip(".")) and not is_table_row(s)


def units(text: str, heading: str = "") -> list[Unit]:
    """Split a section into atomic units: sentences (kiwipiepy) and table rows; track headings."""
    out: list[Unit] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            for s in split_sentences(" ".join(para)):
                out.append(Unit(s.text, s.terms, s.n_tokens, heading))
            para.clear()

    for line in text.splitlines():
        s = line.strip()
        if not s:
            flush()
            continue
        if is_table_row(s):
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
            out.append(ChunkWithTerms(Chunk(id=f"{doc_key}:{n}", source=doc.source, text=text, page=sec.page,
                                            section=heading, ordinal=n), terms))
    return out
