"""The chunk table of a generation, read on demand: a reader keeps no Python object per chunk.

    chunks.jsonl         one chunk a line (text, location, evidence units, access label), no BM25 terms
    chunk-offsets.npy    int64 byte offset of every line, and the file's length last (n + 1 values), memory-mapped
    terms.jsonl          the BM25 terms of each chunk, one JSON list a line: only a writer reads them (an update
                         re-tokenizes nothing it keeps), never a reader
    label-ids.npy        int32 per chunk: which of label-sets.json's (level, groups) it carries, memory-mapped

A chunk is one pread and one json.loads away (tens of microseconds, for the few chunks a question retrieves); the
file descriptor stays open, so a generation removed by a later writer stays readable by whoever holds it (Linux).
"""
from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.records import Chunk


CACHED_CHUNKS = 4096          # parsed chunks kept (a few MB): the documents people ask about come back


class ChunkTable(Sequence):
    def __init__(self, path: Path, offsets: np.ndarray):
        self.path = Path(path)
        self.offsets = offsets
        self._fd = os.open(self.path, os.O_RDONLY)
        self._chunk = functools.lru_cache(maxsize=CACHED_CHUNKS)(self._read_chunk)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)
            self._fd = None

    def __len__(self) -> int:
        return max(len(self.offsets) - 1, 0)

    def record(self, i: int) -> dict:
        """Chunk i's stored JSON object."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return json.loads(os.pread(self._fd, b - a, a))

    def raw(self, i: int) -> bytes:
        """Chunk i's line as stored (a writer copies unchanged chunks without parsing them)."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return os.pread(self._fd, b - a, a)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._chunk(i)

    def _read_chunk(self, i: int) -> Chunk:
        return Chunk(**self.record(i))

    def __iter__(self) -> Iterator[Chunk]:
        """Every chunk in order, read a block of lines at a time through the table's own descriptor (so it works
        after a writer removed the generation, and two iterations never share a file position)."""
        n, step = len(self), 1024
        for start in range(0, n, step):
            stop = min(start + step, n)
            a, b = int(self.offsets[start]), int(self.offsets[stop])
            block = os.pread(self._fd, b - a, a)
            for line in block.splitlines():
                if line.strip():
                    yield Chunk(**json.loads(line))


def line_offsets(lines: list[bytes]) -> np.ndarray:
    """Offsets of `lines` written one after another (each ends with its newline), and the total length last."""
    out = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lines], out=out[1:])
    return out


@dataclass
class Labels:
    """The access label of every chunk as an index into a short list of distinct (level, groups)."""
    sets: list[tuple[str, tuple[str, ...]]]
    ids: np.ndarray                                   # int32, one per chunk

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> "Labels":
        return cls.of_labels([(c.level, tuple(c.groups)) for c in chunks])

    @classmethod
    def of_labels(cls, labels: Sequence[tuple[str, tuple[str, ...]]]) -> "Labels":
        index: dict[tuple[str, tuple[str, ...]], int] = {}
        ids = np.fromiter((index.setdefault(label, len(index)) for label in labels), dtype=np.int32, count=len(labels))
        return cls(list(index), ids)

    def label(self, i: int) -> tuple[str, tuple[str, ...]]:
        return self.sets[int(self.ids[i])]

    def to_json(self) -> list:
        return [[level, list(groups)] for level, groups in self.sets]

    @classmethod
    def load(cls, sets_path: Path, ids_path: Path) -> "Labels":
        sets = [(str(level), tuple(groups)) for level, groups in json.loads(sets_path.read_text(encoding="utf-8"))]
        return cls(sets, np.load(ids_path, mmap_mode="r"))

    def mask(self, permitted) -> np.ndarray:
        """A boolean per chunk: permitted(level, groups) of its label (evaluated once per distinct label)."""
        ok = np.array([bool(permitted(level, groups)) for level, groups in self.sets] or [False], dtype=bool)
        return ok[np.asarray(self.ids)] if len(self.ids) else np.zeros(0, dtype=bool)


class PostingCounts:
    """How many chunks hold each term (document frequency), read from the BM25 postings instead of a Counter over
    every chunk's terms. Behaves like the Counter it replaces: an unknown term counts 0."""

    def __init__(self, bm) -> None:
        self.vocab = bm.vocab_dict
        self.indptr = np.asarray(bm.scores["indptr"]) if self.vocab else np.zeros(1, np.int64)

    def __getitem__(self, term: str) -> int:
        t = self.vocab.get(term)
        return 0 if t is None else int(self.indptr[t + 1] - self.indptr[t])

    def get(self, term: str, default: int = 0) -> int:
        return self[term] if term in self.vocab else default

    def __contains__(self, term: str) -> bool:
        return term in self.vocab
