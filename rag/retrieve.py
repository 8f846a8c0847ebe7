"""Hybrid retrieval: BM25 over kiwipiepy morphemes ∥ dense FAISS, fused.

Fusion (default "linear"): the candidate set is the union of both retrievers' top `candidates`; every candidate gets
its exact score from BOTH retrievers (BM25 from bm25s, dense as the dot product with its stored vector), each score
list is min-max normalized over the candidates, and the fused score is w·bm25 + (1−w)·dense. Scoring every candidate
on both sides avoids the "missing score counts as zero" bias that makes naive fusion lose to BM25 on Korean
(../shared/MODELS.md). The weight was chosen on KorQuAD 1.0 dev and the seed corpus: eval/reports/retrieval-korquad.md.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from index import bm25, dense, korean
from index.embed import embed_queries
from index.store import Index
from rag import expand
from rag.access import LOCAL, Viewer, permitted
from rag.records import Hit

FUSIONS = ("linear", "rrf", "bm25", "dense")


def bm25_scores(index: Index, terms: list[str], part: bm25.Part | None = None) -> tuple[np.ndarray, int]:
    """BM25 score of every chunk for the query morphemes (unknown terms contribute nothing), and how many chunks
    holding a query term were withheld. With `part` (a viewer who may not see every chunk), BM25 is computed within
    the permitted chunks — their own idf and average length — and every other chunk scores 0 (index/bm25.py)."""
    n = len(index.chunks)
    if not n:
        return np.zeros(0, dtype=np.float32), 0
    vocab = index.bm25.vocab_dict
    known = [t for t in terms if t in vocab]
    if not known:
        return np.zeros(n, dtype=np.float32), 0
    if part is not None:
        return bm25.scores_within(index.bm25, index.freq, [vocab[t] for t in known], part)
    return np.asarray(index.bm25.get_scores(known), dtype=np.float32), 0


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return np.zeros_like(x) if hi - lo < 1e-12 else (x - lo) / (hi - lo)


@dataclass
class Retriever:
    index: Index
    embedder: object
    fusion: str = "linear"
    weight_bm25: float = 0.6
    candidates: int = 50
    rrf_k: int = 60
    abbreviations: expand.Table = field(default_factory=dict)
    # per source document as well as per chunk: the fused score moves doc_weight of the way towards the document's
    # own score (the sum of its best doc_top candidate chunks, min-max normalized), so a document that matches the
    # question in several chunks outranks a lone chunk that matches a little better
    doc_weight: float = 0.0
    doc_top: int = 3
    # an exact (flat) index whose mapped vectors exceed this is searched block by block with each block's pages
    # released (index/dense.py): the process then holds one block instead of the whole matrix. None: always FAISS
    stream_dense_bytes: int | None = None
    _parts: dict = field(default_factory=dict, repr=False)     # viewer key -> bm25.Part (None: all permitted)
    _selectors: dict = field(default_factory=dict, repr=False)  # id(mask) -> (mask, FAISS search parameters)

    def part(self, viewer: Viewer) -> bm25.Part | None:
        """What this viewer may retrieve (a mask over the index, with its BM25 statistics); None when that is all."""
        if viewer.key not in self._parts:
            mask = self.index.label_table().mask(lambda level, groups: permitted(level, groups, viewer))
            self._parts[viewer.key] = None if mask.all() else bm25.part(self.index.bm25, self.index.freq, mask)
        return self._parts[viewer.key]

    def allowed(self, viewer: Viewer) -> np.ndarray | None:
        """The chunks this viewer may retrieve, as a mask over the index; None when that is all of them."""
        p = self.part(viewer)
        return None if p is None else p.allowed

    def visible(self, terms: list[str], viewer: Viewer = LOCAL) -> bool:
        """Whether every one of these morphemes is held by some chunk this viewer may see. Read from BM25's postings
        within the viewer's part, so a word only a forbidden document holds counts as absent (and its absence says
        nothing about forbidden documents)."""
        vocab = self.index.bm25.vocab_dict
        if not terms or any(t not in vocab for t in terms):
            return False
        allowed = self.allowed(viewer)
        if allowed is None:
            return True
        indptr, indices = self.index.bm25.scores["indptr"], self.index.bm25.scores["indices"]
        for t in terms:
            i = vocab[t]
            if not allowed[np.asarray(indices[int(indptr[i]):int(indptr[i + 1])], dtype=np.int64)].any():
                return False
        return True

    def query_terms(self, query: str) -> tuple[list[str], list]:
        """(the query's own morphemes, its abbreviation aliases as rag.expand.aliases gives them)."""
        terms = korean.terms(query)
        return terms, expand.aliases(query, terms, self.abbreviations)

    def bm25_terms(self, query: str) -> list[str]:
        terms, pairs = self.query_terms(query)
        return terms + expand.alias_terms(pairs)

    def _selector(self, allowed: np.ndarray):
        """FAISS search parameters that skip every chunk `allowed` excludes (an IDSelectorBitmap), built once per
        mask (the masks are cached per kind of viewer)."""
        import faiss
        key = id(allowed)
        if key not in self._selectors or self._selectors[key][0] is not allowed:
            bits = np.packbits(allowed, bitorder="little")
            params = faiss.SearchParametersHNSW() if isinstance(self.index.dense, faiss.IndexHNSW) \
                else faiss.SearchParameters()
            params.sel = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
            params._bits = bits                         # the selector reads this buffer: keep it alive
            self._selectors[key] = (allowed, params)
        return self._selectors[key][1]

    def _streams(self) -> bool:
        return self.index.streams(self.stream_dense_bytes)

    def dense_search(self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None,
                     streamed: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by the dense index; with `allowed`, FAISS itself skips the other chunks (an IDSelectorBitmap in the
        search parameters), so the k returned are the best permitted ones, not what is left of the best k."""
        n = len(self.index.chunks)
        if not n or (allowed is not None and not allowed.any()):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if streamed is None:             # a caller outside _fuse: decide here
            streamed = self._streams()
        if streamed:
            return dense.released_top_k(self.index.vectors, qvec, k, allowed)
        params = None if allowed is None else self._selector(allowed)
        scores, ids = self.index.dense.search(qvec.reshape(1, -1), min(k, n), params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def search(self, query: str, k: int = 8, terms: list[str] | None = None,
               viewer: Viewer = LOCAL) -> list[Hit]:
        """`terms`: the query's BM25 morphemes (abbreviations expanded) when the caller has them already (kiwipiepy
        runs once per question)."""
        return self.search_many([query], k, None if terms is None else [terms], viewer)[0][0]

    def search_many(self, queries: list[str], k: int = 8, terms: list[list[str]] | None = None,
                    viewer: Viewer = LOCAL) -> list[tuple[list[Hit], dict]]:
        """Queries in one batch (the embedder runs once); returns hits and, per query, "retrieval_ms" and
        "withheld" (how many chunks matching its terms the viewer may not see: for the audit log only, never shown
        to the viewer, since it would reveal that such documents exist)."""
        t0 = time.perf_counter()
        qvecs = (embed_queries(self.embedder, queries) if self.fusion != "bm25" and queries
                 else np.zeros((len(queries), 1), np.float32))
        t_embed = (time.perf_counter() - t0) / max(len(queries), 1)
        out = []
        for i, (q, v) in enumerate(zip(queries, qvecs)):
            t1 = time.perf_counter()
            info = {"withheld": 0}
            hits = self._fuse(self.bm25_terms(q) if terms is None else terms[i], v, k, viewer, info)
            info["retrieval_ms"] = (t_embed + time.perf_counter() - t1) * 1000
            out.append((hits, info))
        return out

    def _per_document(self, cand: np.ndarray, fused: np.ndarray) -> np.ndarray:
        """Each candidate's document score: the sum of its document's best `doc_top` fused scores, min-max normalized."""
        sources = [self.index.chunks[int(i)].source for i in cand]
        best: dict[str, list[float]] = {}
        for src, f in zip(sources, _minmax(fused)):
            best.setdefault(src, []).append(float(f))
        agg = {src: sum(sorted(v, reverse=True)[:self.doc_top]) for src, v in best.items()}
        return _minmax(np.array([agg[src] for src in sources], dtype=np.float64))

    def _fuse(self, q_terms: list[str], qvec: np.ndarray, k: int, viewer: Viewer = LOCAL,
              info: dict | None = None) -> list[Hit]:
        """Only chunks the viewer may see are candidates: forbidden ones score nothing in BM25 and are skipped by
        FAISS, before any ranking or top-k (rag/access.py)."""
        n = len(self.index.chunks)
        if not n:
            return []
        part = self.part(viewer)
        allowed = None if part is None else part.allowed
        streamed = self._streams()       # decided once per question
        bm_all = None
        if self.fusion != "dense":
            bm_all, withheld = bm25_scores(self.index, q_terms, part)
            if info is not None:
                info["withheld"] = withheld
            if streamed:                 # a city-scale index: its postings' pages go back too
                self.index.release_postings()
        if self.fusion == "bm25":
            top = [i for i in _top(bm_all, k) if bm_all[i] > 0]
            return [Hit(self.index.chunks[i], float(bm_all[i]), {"bm25": r + 1}, {"bm25": float(bm_all[i])})
                    for r, i in enumerate(top)]
        d_ids, d_scores = self.dense_search(qvec, max(self.candidates, k), allowed, streamed)
        if self.fusion == "dense":
            return [Hit(self.index.chunks[i], float(s), {"dense": r + 1}, {"dense": float(s)})
                    for r, (i, s) in enumerate(zip(d_ids[:k], d_scores[:k]))]
        b_ids = np.array([i for i in _top(bm_all, max(self.candidates, k)) if bm_all[i] > 0], dtype=np.int64)
        cand = np.unique(np.concatenate([b_ids, d_ids]))
        if not len(cand):
            return []
        b = bm_all[cand]
        d = self.index.candidate_vectors(cand, streamed) @ qvec
        b_rank = {int(i): r + 1 for r, i in enumerate(b_ids)}
        d_rank = {int(i): r + 1 for r, i in enumerate(d_ids)}
        if self.fusion == "rrf":
            fused = np.array([(1 / (self.rrf_k + b_rank[i]) if i in b_rank else 0.0) +
                              (1 / (self.rrf_k + d_rank[i]) if i in d_rank else 0.0) for i in map(int, cand)])
        elif self.fusion == "linear":
            fused = self.weight_bm25 * _minmax(b) + (1 - self.weight_bm25) * _minmax(d)
        else:
            raise ValueError(f"unknown fusion {self.fusion!r}; one of {FUSIONS}")
        if self.doc_weight > 0:
            fused = (1 - self.doc_weight) * _minmax(fused) + self.doc_weight * self._per_document(cand, fused)
        order = np.argsort(-fused, kind="stable")[:k]
        hits = []
        for j in order:
            i = int(cand[j])
            ranks = {}
            if i in b_rank:
                ranks["bm25"] = b_rank[i]
            if i in d_rank:
                ranks["dense"] = d_rank[i]
            hits.append(Hit(self.index.chunks[i], float(fused[j]), ranks, {"bm25": float(b[j]), "dense": float(d[j])}))
        return hits
