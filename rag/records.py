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
    quote: str = ""                  # the verified words of `text` that support the answer (" … " between several)
    quotes: list = field(default_factory=list)   # their (start, end) offsets in `text`


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
    strategy: str = ""               # "free" | "quote" | "choice" ("" when refused before the model)
    verified: bool = False           # every claim is backed by a code-verified quote
    extractive: bool = False         # no verified answer: the best evidence sentence is shown, labelled a quotation
    unverified_reason: str = ""      # why the model's answer was not verified ("no_support", "negative_claim")
    draft: str = ""                  # the model's own words before verification (what was streamed)
    user: str | None = None          # who asked (an account name; None without accounts or --user)
    withheld: int = 0                # candidates access rules kept out (for the audit log only: never shown)
    # the question's conditions and whether the cited context meets each (rag/conditions.py): {text, kind, met, where}
    conditions: list = field(default_factory=list)
    # what the code corrected in the model's draft ({"kind": "citation_moved", "from": 3, "to": 1}): for the audit
    # record and the JSON, never shown to the asker (a repair note is not something they can act on)
    repairs: list = field(default_factory=list)


@dataclass
class Finding:
    type: str                        # RRN, FRN, PASSPORT, ..., CONFIDENTIAL, INJECTION
    start: int
    end: int
    severity: str                    # low | medium | high


def answer_json(a: Answer, id_=None) -> dict:
    """An Answer as the JSON the CLI (--json) and the browser's JSON API return."""
    return {"id": id_, "question": a.question, "rewritten_question": a.rewritten_question, "answer": a.text,
            "refused": a.refused, "truncated": a.truncated, "strategy": a.strategy, "verified": a.verified,
            "extractive": a.extractive,
            "citations": [{"n": c.n, "source": c.source, "page": c.page, "section": c.section, "text": c.text,
                           "quote": c.quote, "quote_spans": [list(q) for q in c.quotes]}
                          for c in a.citations],
            "warnings": a.warnings, "conditions": a.conditions, "repairs": a.repairs,
            "timings": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in a.timings.items()}}
