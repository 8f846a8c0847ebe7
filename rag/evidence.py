"""Evidence under a context budget: the sentences that carry the answer, not whole chunks.

Prefill dominates time-to-first-token on a CPU, so every character of evidence costs time. From the fused hits we
split chunks into sentences (kiwipiepy, table rows kept whole), score each sentence by the IDF-weighted share of the
question's morphemes it contains plus its chunk's retrieval rank, take the best sentences with their neighbours until
the character budget is spent, drop duplicates (chunk overlap), and group contiguous sentences of one document and
page into numbered passages ordered by document relevance, then position. Inside a passage the sentences stand in
document order and every gap between two sentences that are not neighbours in the document is a line "…" (GAP), so
a reader never takes stitched sentences for continuous text; each sentence's offsets in the passage are kept (spans)
for quote verification and highlighting.
Sentences that look like injected instructions are left out and reported, never shown to the model.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from index import korean
from index.chunking import chunk_units
from rag.records import Hit


GAP = "…"


@dataclass
class Span:
    """One evidence sentence inside a passage: passage.text[start:end], its morphemes and its selection score."""
    start: int
    end: int
    terms: set[str]
    score: float = 0.0
    section: str | None = None      # the heading of the chunk it came from (None: the passage's own)


@dataclass
class Passage:
    n: int
    source: str
    page: int | None
    section: str
    text: str
    chunk_ids: list[str] = field(default_factory=list)
    terms: set[str] = field(default_factory=set)       # morphemes of its sentences (from the index)
    spans: list[Span] = field(default_factory=list)    # its sentences, in order (gap lines are not spans)

    def sentences(self) -> list[tuple[Span, str]]:
        """(span, text) of its sentences; a passage made by hand (no spans) is split into its lines here."""
        if not self.spans and self.text.strip():
            pos = 0
            for line in self.text.split("\n"):
                if line.strip() and line.strip() != GAP:
                    self.spans.append(Span(pos, pos + len(line), set(korean.terms(line))))
                pos += len(line) + 1
        return [(sp, self.text[sp.start:sp.end]) for sp in self.spans]

    def section_at(self, offset: int) -> str:
        """The heading of the section holding the sentence at `offset`: a passage joins neighbouring sentences of
        one page, and they may come from chunks of different sections (§1's label on a §4 sentence is wrong)."""
        for sp in self.spans:
            if sp.start <= offset < sp.end and sp.section is not None:
                return sp.section
        return self.section


@dataclass
class Evidence:
    passages: list[Passage]
    dropped_injection: list[tuple[str, str]] = field(default_factory=list)   # (source, chunk_id)
    coverage: float = 0.0          # best sentence's IDF-weighted share of question morphemes
    top: tuple[int, int] | None = None   # (passage n, index into its spans) of the best-scoring sentence

    def top_sentence(self) -> tuple[Passage, Span] | None:
        if self.top is None:
            return None
        p = self.passages[self.top[0] - 1]
        return p, p.spans[self.top[1]]


def document_frequencies(all_terms: list[list[str]]) -> tuple[Counter, int]:
    df: Counter = Counter()
    for t in all_terms:
        df.update(set(t))
    return df, len(all_terms)


@dataclass
class _Sent:
    key: tuple[str, str]
    hit_rank: int
    chunk_id: str
    source: str
    page: int | None
    section: str
    ordinal: int
    pos: int
    text: str
    terms: set[str]
    score: float = 0.0


def select_evidence(question: str, hits: list[Hit], budget_chars: int, df: Counter, n_docs: int,
                    is_injection=None, neighbours: int = 1, rank_weight: float = 0.3,
                    q_terms: set[str] | None = None, holds_answer_type=None, type_weight: float = 0.5,
                    aliases=(), topic_discount: float = 0.5, doc_weight: float = 1.0) -> Evidence:
    """`q_terms`: the question's morphemes when the caller has them already (kiwipiepy runs once per question).
    `aliases`: (the morphemes of a form the question uses, those of its other form) pairs from rag.expand: a
    sentence holding only the other form ("특별위원회" for "특위") counts as holding the question's form, once.
    `holds_answer_type(text)`: does a sentence hold a value of the type the question asks for (a date for 언제, a
    number for 몇)? Such a sentence scores `type_weight` more: "일 시 : 2024. 3. 26.(화)" shares no morpheme with
    "회의는 언제 열렸어?" and was left out of the evidence that should answer it."""
    q_terms = set(korean.terms(question)) if q_terms is None else set(q_terms)

    def idf(t: str) -> float:
        return math.log(1 + (n_docs - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5))

    q_weight = sum(idf(t) for t in q_terms) or 1.0
    alias_of = {t: alt for used, alt in aliases for t in used}

    def holds(t: str, terms: set[str]) -> bool:
        """The sentence holds the question's term, or all of its abbreviation's other form instead."""
        return t in terms or (t in alias_of and terms.issuperset(alias_of[t]))

    def overlap(terms: set[str], weight=idf) -> float:
        return sum(weight(t) for t in q_terms if holds(t, terms)) / q_weight

    sents: list[_Sent] = []
    by_chunk: dict[str, list[_Sent]] = {}
    dropped: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    follows: set[tuple[tuple, tuple]] = set()      # (key, key) of sentences that are neighbours in their document
    chunk_terms: dict[str, list[set[str]]] = {}    # source -> the terms of each of its retrieved chunks
    for r, h in enumerate(hits):
        c = h.chunk
        row: list[_Sent] = []
        units = chunk_units(c)                                      # stored at ingest: no kiwipiepy here
        follows.update(((c.source, a), (c.source, b)) for (a, _), (b, _) in zip(units, units[1:]))
        chunk_terms.setdefault(c.source, []).append(set().union(*(set(t) for _, t in units)))
        for pos, (text, terms) in enumerate(units):
            if is_injection is not None and is_injection(text):
                dropped.append((c.source, c.id))
                continue
            key = (c.source, text)
            s = _Sent(key, r, c.id, c.source, c.page, c.section, c.ordinal, pos, text, set(terms))
            row.append(s)
            if key not in seen:
                seen.add(key)
                sents.append(s)
        by_chunk[c.id] = row

    # Per source document: a question term found in most of the document's retrieved chunks (its title words,
    # "서울스마트도시위원회" in that committee's minutes) says which document, not which sentence. It counts once for
    # the document (doc_cover) and less inside it, so the one line that answers ("일 시 : 2024. 3. 26.") is not
    # crowded out by every line repeating the title.
    doc_cover: dict[str, float] = {}
    share: dict[str, dict[str, float]] = {}
    for src, tsets in chunk_terms.items():
        doc_cover[src] = overlap(set().union(*tsets))
        n = len(tsets)
        share[src] = {t: (sum(holds(t, ts) for ts in tsets) / n if n > 1 else 0.0) for t in q_terms}
    for s in (x for row in by_chunk.values() for x in row):
        local = overlap(s.terms, lambda t, sh=share[s.source]: idf(t) * (1 - topic_discount * sh[t]))
        s.score = local + doc_weight * doc_cover[s.source] + rank_weight / (1 + s.hit_rank)
        if holds_answer_type is not None and holds_answer_type(s.text):
            s.score += type_weight
    coverage = max((overlap(s.terms) for s in sents), default=0.0)

    chosen: dict[tuple[str, str], _Sent] = {}
    used = 0
    for s in sorted(sents, key=lambda x: (-x.score, x.hit_rank, x.pos)):
        if used >= budget_chars:
            break
        row = by_chunk[s.chunk_id]
        idx = next(i for i, x in enumerate(row) if x.key == s.key)
        group = [s] + [row[j] for j in range(max(0, idx - neighbours), min(len(row), idx + neighbours + 1)) if j != idx]
        for g in group:
            if g.key in chosen:
                continue
            cost = len(g.text) + 1
            if used + cost > budget_chars and g is not s:
                continue                       # neighbours only when they fit
            if used + cost > budget_chars and chosen:
                break
            chosen[g.key] = g
            used += cost

    # group into passages: one per (source, page), documents ordered by their best sentence (so [1] holds the
    # sentence most likely to answer), sentences by position
    doc_rank: dict[str, float] = {}            # lower is earlier: minus the best sentence score
    for s in chosen.values():
        doc_rank[s.source] = min(doc_rank.get(s.source, 10**9), -s.score)
    ordered = sorted(chosen.values(), key=lambda s: (doc_rank[s.source], s.source, s.page or 0, s.ordinal, s.pos))
    passages: list[Passage] = []
    best = max(chosen.values(), key=lambda x: (x.score, -x.hit_rank), default=None)
    top = None
    prev: _Sent | None = None
    for s in ordered:
        last = passages[-1] if passages else None
        if last and last.source == s.source and last.page == s.page:
            if (prev.key, s.key) not in follows:
                last.text += "\n" + GAP
            last.text += "\n"
            last.terms |= s.terms
            if s.chunk_id not in last.chunk_ids:
                last.chunk_ids.append(s.chunk_id)
        else:
            last = Passage(len(passages) + 1, s.source, s.page, s.section, "", [s.chunk_id], set(s.terms))
            passages.append(last)
        last.spans.append(Span(len(last.text), len(last.text) + len(s.text), set(s.terms), s.score, s.section))
        last.text += s.text
        if s is best:
            top = (last.n, len(last.spans) - 1)
        prev = s
    return Evidence(passages, dropped, coverage, top)
