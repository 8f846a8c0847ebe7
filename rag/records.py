"""Records of the online path, question → answer (see ../shared/DESIGN.md). A Hit carries an index.records.Chunk."""
from __future__ import annotations

from dataclasses import dataclass, field

from index.records import Chunk


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


def answer_json(a: Answer, id_=None) -> dict:
    """An Answer as the JSON the CLI (--json) and the browser's JSON API return."""
    return {"id": id_, "question": a.question, "rewritten_question": a.rewritten_question, "answer": a.text,
            "refused": a.refused, "truncated": a.truncated,
            "citations": [{"n": c.n, "source": c.source, "page": c.page, "section": c.section, "text": c.text}
                          for c in a.citations],
            "warnings": a.warnings,
            "timings": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in a.timings.items()}}
