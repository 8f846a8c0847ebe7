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
    """The BM25 statistics of the chunks one viewer may see, computed once per kind of viewer."""
    allowed: np.ndarray  # bool per chunk
    n: int
    norm: np.ndarray     # float32 per chunk: k1·(1 − b + b·length / average permitted length); inf where forbidden
    idf: np.ndarray      # float32 per term: idf over the permitted chunks


def part(bm, freq: Frequencies, allowed: np.ndarray) -> Part:
    n = int(allowed.sum())
    avgdl = float(freq.doclen[allowed].mean()) if n else 1.0
    norm = (bm.k1 * ((1 - bm.b) + bm.b * freq.doclen / avgdl)).astype(np.float32)
    norm[~allowed] = np.inf                                   # tf / (inf + tf) = 0: forbidden chunks score nothing
    indptr, indices = np.asarray(bm.scores["indptr"], np.int64), bm.scores["indices"]
    lengths = np.diff(indptr)
    df = np.zeros(len(lengths), dtype=np.float64)
    if len(indices):
        starts = np.minimum(indptr[:-1], len(indices) - 1)
        df = np.where(lengths > 0, np.add.reduceat(allowed[indices], starts, dtype=np.int64), 0).astype(np.float64)
    idf = np.where(df > 0, np.log(1 + (n - df + 0.5) / (df + 0.5)), 0).astype(np.float32)
    return Part(allowed, n, norm, idf)


def scores_within(bm, freq: Frequencies, token_ids: list[int], p: Part) -> tuple[np.ndarray, int]:
    """BM25 of every chunk for the query's term ids (repeats count, as in bm25s), with idf and average length taken
    over the permitted chunks only; forbidden chunks score 0. Also returns how many forbidden chunks hold a query
    term (for the audit log). All query terms' postings are gathered at once: a fixed number of numpy calls however
    many terms the question has."""
    n = len(freq)
    indptr, indices = bm.scores["indptr"], bm.scores["indices"]
    ids = np.asarray(token_ids, dtype=np.int64)
    starts = indptr[ids].astype(np.int64)
    lengths = indptr[ids + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    if not p.n or not total:
        return np.zeros(n, dtype=np.float32), 0
    # the posting positions of every query term, one after another
    at = np.arange(total, dtype=np.int64) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    rows, tf = indices[at], freq.tf[at]
    contrib = np.repeat(p.idf[ids], lengths) * (tf / (p.norm[rows] + tf))
    withheld = len(np.unique(rows[~p.allowed[rows]]))
    return np.bincount(rows, weights=contrib, minlength=n).astype(np.float32), withheld
