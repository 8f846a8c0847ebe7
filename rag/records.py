"""Small records that flow through both pipelines (see ../shared/DESIGN.md)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    """A page (PDF) or a section/paragraph group (HWP, DOCX, HTML, text) of a document."""
    text: str
    page: int | None = None          # 1-based page number where the format has pages
    heading: str = ""                # nearest heading, "" when unknown


@dataclass
class Document:
    source: str                      # file path as given to the indexer
    title: str
    sections: list[Section]
    format: str = ""                 # "txt", "pdf", "hwp", ...


@dataclass
class LoadError:
    """A file that could not be indexed: the user sees the file name and the reason (Korean)."""
    source: str
    reason: str


@dataclass
class Chunk:
    id: str                          # stable id: "<file-hash[:12]>:<n>"
    source: str
    text: str
    page: int | None = None
    section: str = ""                # heading
    ordinal: int = 0                 # position inside its document


@dataclass
class Hit:
    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)   # {"bm25": 1, "dense": 4}
    raw: dict[str, float] = field(default_factory=dict)   # unnormalized {"bm25": 12.3, "dense": 0.84}


@dataclass
class Citation:
    n: int
    source: str
    page: int | None
    text: str
    section: str = ""


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    refused: bool
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    rewritten_question: str | None = None
    truncated: bool = False          # the generator stopped at max_tokens: the answer may be cut mid-sentence


@dataclass
class Finding:
    type: str                        # RRN, FRN, PASSPORT, ..., CONFIDENTIAL, INJECTION
    start: int
    end: int
    severity: str                    # low | medium | high
