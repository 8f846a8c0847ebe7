"""Exact inner-product search over the memory-mapped vectors.npy, block by block, each block's pages handed back to
the kernel once it is scored.

Why: an exact (flat) search reads every vector for every question. Memory-mapped, those pages then count in the
process's resident memory until the kernel reclaims them: 1.5 GB at 1M chunks × 384 dims, which is what pushes a
serving process with the default models past 3 GB (eval/reports/scale.md). Scored a block at a time and released
with madvise(MADV_DONTNEED), the process holds one block; the file's pages stay in the kernel's page cache (shared,
reclaimable), so the next question reads them again without touching the disk. The cost is a minor page fault per
64 KiB each question, measured against FAISS on the same index in eval/reports/scale.md.

The ranking equals FAISS IndexFlatIP's on the same vectors (tests/test_index.py); `allowed` excludes chunks before
the top-k is taken, so the k returned are the best permitted ones (the access rule stays inside retrieval).
"""
from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

BLOCK_ROWS = 32768                      # 48 MB of fp32 rows at 384 dims


def releasable(vectors: np.ndarray) -> bool:
    """A read-only np.memmap of an .npy file (what load_index maps for a reader)."""
    return isinstance(vectors, np.memmap) and getattr(vectors, "_mmap", None) is not None and vectors.ndim == 2


def released_top_k(vectors: np.memmap, query: np.ndarray, k: int, allowed: np.ndarray | None = None,
                   block_rows: int = BLOCK_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of the k best rows by inner product with `query`, best first; rows `allowed` marks False are
    never returned. Each block's pages are released after scoring it."""
    n = len(vectors)
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
    mm = vectors._mmap
    row_bytes = vectors.shape[1] * vectors.itemsize
    # np.memmap maps from the allocation-granularity boundary below the array's offset in the file
    start_in_map = vectors.offset % mmap.ALLOCATIONGRANULARITY
    ids: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for a in range(0, n, block_rows):
        b = min(n, a + block_rows)
        s = vectors[a:b] @ q
        if allowed is not None:
            s = np.where(allowed[a:b], s, -np.inf).astype(np.float32)
        kk = min(k, b - a)
        top = np.argpartition(-s, kk - 1)[:kk]
        ids.append(top.astype(np.int64) + a)
        scores.append(s[top])
        lo = (start_in_map + a * row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        mm.madvise(mmap.MADV_DONTNEED, lo, start_in_map + b * row_bytes - lo)
    all_ids, all_scores = np.concatenate(ids), np.concatenate(scores)
    order = np.lexsort((all_ids, -all_scores))[:k]           # best first; ties by id, as FAISS orders them
    keep = np.isfinite(all_scores[order])
    return all_ids[order][keep], all_scores[order][keep].astype(np.float32)


class VectorRows:
    """Single rows of vectors.npy by pread: the fused ranking scores ~100 scattered candidates per question, and each
    one read through the mapping would map a fault-around window (64 KiB) into the process and keep it resident; over
    a day of questions that is the whole file again. The descriptor stays open, so a generation a later writer
    removes stays readable by whoever holds it (as index/table.py's chunk table)."""

    def __init__(self, path: Path, vectors: np.memmap) -> None:
        self.dim, self.dtype = vectors.shape[1], vectors.dtype
        self.row_bytes = self.dim * vectors.itemsize
        self.start = vectors.offset
        self._fd = os.open(path, os.O_RDONLY)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)
            self._fd = None

    def rows(self, ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(ids), self.dim), dtype=self.dtype)
        for j, i in enumerate(np.asarray(ids, dtype=np.int64)):
            buf = os.pread(self._fd, self.row_bytes, self.start + int(i) * self.row_bytes)
            out[j] = np.frombuffer(buf, dtype=self.dtype)
        return out


def release(*arrays) -> None:
    """Give back the pages of memory-mapped arrays (np.memmap) once a question is scored: BM25's postings of a
    1M-chunk index are 450 MB, and a day of questions would otherwise map all of them into the process. The file stays
    in the page cache; the next question's terms fault their postings back in without reading the disk."""
    for a in arrays:
        mm = getattr(a, "_mmap", None) if isinstance(a, np.memmap) else None
        if mm is not None:
            mm.madvise(mmap.MADV_DONTNEED)
