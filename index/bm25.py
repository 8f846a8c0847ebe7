"""BM25 (bm25s over kiwipiepy morphemes), and BM25 computed within the part of the index a viewer may see.

bm25s precomputes every (chunk, term) score with the idf and the average chunk length of the WHOLE index. For a viewer
who may not see every chunk, those statistics would carry information about the chunks withheld from them: a term that
occurs in a forbidden document has a lower idf, so the permitted chunks' scores, and with them their order, would
change with the forbidden document's content. `scores_within` recomputes BM25 — the same formula as bm25s' "lucene"
method — with the idf and average length of the permitted chunks only, from term frequencies kept beside bm25s'
arrays (aligned with its column-major postings: `indices[indptr[t]:indptr[t+1]]` are the chunks holding term t).
Checked against bm25s' own scores when every chunk is permitted (tests/test_access.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

K1, B = 1.2, 0.75
EMPTY = "\u2205"        # an empty chunk gets this placeholder term so row i stays chunk i


@dataclass
class Frequencies:
    tf: np.ndarray       # float32, one per posting, aligned with bm25s' scores["indices"]
    doclen: np.ndarray   # float32, terms per chunk (with repeats), as bm25s counted them

    def __len__(self) -> int:
        return len(self.doclen)


def documents(terms: list[list[str]]) -> list[list[str]]:
    return [t if t else [EMPTY] for t in terms]


def build(terms: list[list[str]]):
    import bm25s
    bm = bm25s.BM25(k1=K1, b=B)
    if terms:
        bm.index(documents(terms), show_progress=False)
    return bm


def frequencies(bm, terms: list[list[str]]) -> Frequencies:
    """Term frequencies in bm25s' posting order. Raises ValueError if they do not line up with its postings."""
    docs = documents(terms)
    n = len(docs)
    if not n:
        return Frequencies(np.zeros(0, np.float32), np.zeros(0, np.float32))
    vocab = bm.vocab_dict
    lens = np.fromiter((len(d) for d in docs), dtype=np.int64, count=n)
    tok = np.fromiter((vocab[t] for d in docs for t in d), dtype=np.int64, count=int(lens.sum()))
    row = np.repeat(np.arange(n, dtype=np.int64), lens)
    uniq, tf = np.unique(tok * n + row, return_counts=True)        # by term, then by chunk: column-major
    if not np.array_equal(uniq % n, np.asarray(bm.scores["indices"], dtype=np.int64)):
        raise ValueError("term frequencies do not line up with the BM25 postings")
    return Frequencies(tf.astype(np.float32), lens.astype(np.float32))


@dataclass
class Part:
    """The statistics BM25 needs of the chunks one viewer may see."""
    allowed: np.ndarray  # bool per chunk
    n: int
    avgdl: float


def part(freq: Frequencies, allowed: np.ndarray) -> Part:
    n = int(allowed.sum())
    return Part(allowed, n, float(freq.doclen[allowed].mean()) if n else 1.0)


def scores_within(bm, freq: Frequencies, token_ids: list[int], p: Part) -> tuple[np.ndarray, int]:
    """BM25 of every chunk for the query's term ids (repeats count, as in bm25s), with idf and average length taken
    over the permitted chunks only; forbidden chunks score 0. Also returns how many forbidden chunks hold a query
    term (for the audit log)."""
    scores = np.zeros(len(freq), dtype=np.float32)
    withheld = np.zeros(len(freq), dtype=bool)
    if not p.n:
        return scores, 0
    indptr, indices = bm.scores["indptr"], bm.scores["indices"]
    for t in token_ids:
        s, e = int(indptr[t]), int(indptr[t + 1])
        rows = indices[s:e]
        keep = p.allowed[rows]
        withheld[rows[~keep]] = True
        rows, tf = rows[keep], freq.tf[s:e][keep]
        df = len(rows)
        if not df:
            continue
        idf = np.float32(np.log(1 + (p.n - df + 0.5) / (df + 0.5)))
        k = np.float32(bm.k1) * ((1 - np.float32(bm.b)) + np.float32(bm.b) * freq.doclen[rows] / np.float32(p.avgdl))
        np.add.at(scores, rows, idf * (tf / (k + tf)))
    return scores, int(withheld.sum())
