"""Personal data in documents, at ingest: every section of a loaded document is screened before it is chunked, so
with the default policy ("mask") the raw values never reach the chunk table, the BM25 terms, the embeddings, the
citations or the quotes — the masked text is what is chunked and embedded.

The detector itself is the prompt guard (rag/guard); index/ does not import rag/, so the caller passes a `Screen`
(rag.runtime.pii_screen builds it from the guard).

    mask    replace each value by its typed placeholder ([주민등록번호]) — the default
    flag    store the text as it is and mark the chunks that hold personal data (chunk.pii: the types)
    refuse  do not index a file that holds personal data; the reason names the types and counts, never a value
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable

from index.records import Document

POLICIES = ("mask", "flag", "refuse")


@dataclass(frozen=True)
class Screen:
    policy: str                                   # one of POLICIES
    find: Callable[[str], list[str]]              # the personal-data types found in a text, one entry per value
    mask: Callable[[str], str]                    # the text with every such value replaced by its placeholder
    labels: dict[str, str] | None = None          # type -> Korean label for messages (주민등록번호 …)

    def describe(self, counts: dict[str, int]) -> str:
        """ "주민등록번호 2, 전화번호 1": types and counts, for reports and refusals (never the values)."""
        names = self.labels or {}
        return ", ".join(f"{names.get(t, t)} {n}" for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def screen_document(doc: Document, screen: Screen) -> tuple[Document, dict[str, int]]:
    """(the document as it may be indexed, counts by type of the personal data found in it). With "mask" the
    sections, headings and title come back masked; with "flag" and "refuse" unchanged (the caller decides)."""
    counts: Counter = Counter()

    def clean(text: str) -> str:
        found = screen.find(text) if text else []
        counts.update(found)
        return screen.mask(text) if found and screen.policy == "mask" else text

    sections = [replace(s, text=clean(s.text), heading=clean(s.heading)) for s in doc.sections]
    out = replace(doc, title=clean(doc.title), sections=sections)
    return (out if screen.policy == "mask" else doc), dict(counts)
