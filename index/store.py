"""The persisted index: chunk table + BM25 (bm25s over kiwipiepy morphemes) + FAISS + manifest.

Layout of an index directory:

    CURRENT                 name of the live generation (replaced atomically with os.replace)
    gen-<n>/manifest.json   embedder id and dimension, tokenizer settings, chunking parameters, files and hashes
    gen-<n>/chunks.jsonl    one chunk a line, with its BM25 terms (so unchanged files are never re-tokenized)
    gen-<n>/vectors.npy     normalized float32 embeddings, row i = chunk i (unchanged chunks are never re-embedded)
    gen-<n>/dense.faiss     inner-product FAISS index over vectors.npy (exact "flat" or approximate "hnsw")
    gen-<n>/bm25/           bm25s arrays
    gen-<n>/bm25-tf.npz     term frequencies and chunk lengths beside them (BM25 within what a viewer may see)

An update builds a complete new generation beside the live one and only then points CURRENT at it, so a crash or a
kill at any moment leaves the previous index fully usable.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from index import bm25, korean
from index.chunking import chunk_document
from index.dense import VectorRows, releasable, release
from index.embed import Progress, describe, embed_passages
from index.access import AccessFileError, Label, label_of, read_rules
from index.discover import discover
from index.loaders import LoadFailure
from index.pii import Screen, screen_document
from index.records import Chunk, LoadError, shown_path
from index.records import sha256_file as file_sha256
from index.table import ChunkTable, Labels, PostingCounts, line_offsets

FORMAT_VERSION = 4            # 2: chunks carry their evidence units (spans + morphemes); 3: a form's header lines
                              # (label : value) are units of their own; 4: documents screened for personal data at
                              # ingest (index/pii.py) — an older index may hold raw values; older indexes are rebuilt


def project_version() -> str:
    """The installed project's version, from its package metadata (index/ imports nothing of the online layer)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("seoul-policy-rag")
    except PackageNotFoundError:
        return "unknown"


class PersonalDataRefused(LoadFailure):
    """A file holding personal data under document_pii = "refuse": not indexed, and its older version dropped."""


class IndexError_(RuntimeError):
    """The index cannot be used as asked; the message says why and what to do (Korean first)."""


class IndexMismatchError(IndexError_):
    pass


class IndexFormatError(IndexMismatchError):
    """The index was written by another format version; `rag index` rebuilds it, readers must not guess."""


class IndexBusyError(IndexError_):
    """Another writer holds the index lock (exit code 3: try again later, nothing is wrong with the input)."""


class IndexCorruptError(IndexError_):
    """A file of the live generation cannot be read (truncated, overwritten): rebuild; the message names the file."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"인덱스 파일이 손상되었습니다: {path} ({reason}) — `rag index --rebuild 문서폴더`로 다시 "
                         f"만드십시오 / corrupt — rebuild with `rag index --rebuild`")


@dataclass
class Index:
    path: Path                       # generation directory
    manifest: dict
    chunks: Sequence[Chunk]          # a list (resident) or a ChunkTable read on demand (index/table.py)
    stored_terms: list[list[str]] | None   # BM25 terms per chunk; None until a writer (or eval) asks for `terms`
    vectors: np.ndarray              # memory-mapped when opened for reading
    dense: object                    # faiss.Index
    bm25: object                     # bm25s.BM25 (its arrays memory-mapped when opened for reading)
    freq: bm25.Frequencies | None = None   # its term frequencies, for BM25 within what a viewer may see
    labels: Labels | None = None     # the access label of every chunk, compactly
    stored_files: dict | None = None  # the per-file table (files.json); None until a writer asks for `files`
    vector_rows: object = None       # index/dense.py VectorRows over vectors.npy (mapped readers)

    def __len__(self) -> int:
        return len(self.chunks)

    def streams(self, limit_bytes: int | None) -> bool:
        """Whether a reader should search this index's vectors block by block and give their pages back
        (index/dense.py): an exact (flat) index whose mapped vectors exceed `limit_bytes` (None: never)."""
        return (limit_bytes is not None and self.manifest.get("faiss") == "flat"
                and self.vectors.nbytes > limit_bytes and releasable(self.vectors))

    def candidate_vectors(self, ids: np.ndarray, streamed: bool) -> np.ndarray:
        """The vectors of the given rows; streamed, read by pread so the scattered rows do not stay mapped."""
        if streamed and self.vector_rows is not None:
            return self.vector_rows.rows(ids)
        return self.vectors[ids]

    def release_postings(self) -> None:
        """Give the pages of BM25's mapped postings and frequencies back after a question (index/dense.release):
        at 1M chunks they are 450 MB a day of questions would otherwise map into the process."""
        scores = getattr(self.bm25, "scores", None) or {}
        release(scores.get("data"), scores.get("indices"),
                getattr(self.freq, "tf", None), getattr(self.freq, "doclen", None))

    @property
    def files(self) -> dict[str, dict]:
        """Every indexed file's record (source, sha256, size, label, chunks, ...), keyed by its real path. Only
        writers need it, and at city scale it is the largest thing a reader would parse (500k files: ~420 MB of
        Python objects), so it lives beside the manifest and is read the first time it is asked for."""
        if self.stored_files is None:
            if "files" in self.manifest:                         # a generation written before files.json
                self.stored_files = self.manifest["files"]
            else:
                path = self.path / "files.json"
                self.stored_files = _corrupt_on_error(path, lambda: json.loads(path.read_bytes().decode("utf-8")))
        return self.stored_files

    @property
    def file_count(self) -> int:
        return int(self.manifest.get("file_count", len(self.manifest.get("files", {}))))

    @property
    def terms(self) -> list[list[str]]:
        """Every chunk's BM25 terms: read from the generation the first time (writers and eval only)."""
        if self.stored_terms is None:
            self.stored_terms = read_terms(self.path, len(self.chunks))
        return self.stored_terms

    def label_table(self) -> Labels:
        if self.labels is None:
            self.labels = Labels.of(self.chunks)
        return self.labels

    def document_frequencies(self) -> tuple[PostingCounts, int]:
        """(chunks holding each term, number of chunks), from the BM25 postings."""
        return PostingCounts(self.bm25), len(self.chunks)


@dataclass
class UpdateReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    chunks_total: int = 0
    chunks_embedded: int = 0
    format_upgraded: bool = False    # the index had an older format and was rebuilt from the files
    faiss_rebuilt: bool = False      # the configured FAISS kind differed from the index's: rebuilt from vectors
    timings: dict[str, float] = field(default_factory=dict)
    pii_policy: str = ""             # document_pii the files were screened with ("" = not screened)
    pii: dict[str, dict[str, int]] = field(default_factory=dict)   # file -> personal data found, counts by type
    relabelled: list[str] = field(default_factory=list)            # unchanged files whose access label changed

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        d = asdict(self)
        d["errors"] = [asdict(e) for e in self.errors]
        return d


# ---------------------------------------------------------------------------------------------------- settings

# how text is cut into units; a new value re-chunks an index from its files on the next `rag index`
CHUNK_UNIT = "kiwipiepy sentences and table rows with their column headers"


def chunking_settings(chunk_tokens: int, overlap: int) -> dict:
    return {"unit": CHUNK_UNIT, "budget_tokens": chunk_tokens, "overlap_sentences": overlap}


def expected_settings(embedder: dict, chunk_tokens: int, overlap: int, faiss_kind: str) -> dict:
    return {"format": FORMAT_VERSION, "embedder": {"id": embedder["id"], "dim": embedder["dim"]},
            "tokenizer": korean.settings(), "chunking": chunking_settings(chunk_tokens, overlap), "faiss": faiss_kind}


def check_compatible(manifest: dict, expected: dict) -> None:
    """Loading an index built with other settings is a clear error, not silent garbage. Only the settings present
    in `expected` are compared: a reader needs the embedder and the tokenizer of the questions to match; how the
    chunks were cut and which FAISS kind holds the vectors are read from the manifest (a writer compares chunking)."""
    emb = manifest.get("embedder") or {}
    got = {"embedder": {"id": emb.get("id"), "dim": emb.get("dim")}, "tokenizer": manifest.get("tokenizer"),
           "chunking": manifest.get("chunking")}
    diffs = [f"{key}: 인덱스={json.dumps(got[key], ensure_ascii=False)} 현재 설정={json.dumps(expected[key], ensure_ascii=False)}"
             for key in ("embedder", "tokenizer", "chunking") if key in expected and got[key] != expected[key]]
    if diffs and [k for k in ("embedder", "tokenizer") if k in expected and got[k] != expected[k]] == [] and \
            "chunking" in expected and {**(got["chunking"] or {}), "unit": CHUNK_UNIT} == expected["chunking"]:
        # only the way units are cut changed (a new chunker): a writer re-chunks from the files, like a format upgrade
        raise IndexFormatError("chunking unit changed: " + "; ".join(diffs))
    if diffs:
        raise IndexMismatchError(
            "이 인덱스는 다른 설정으로 만들어졌습니다. `rag index --rebuild 경로...`로 다시 만드세요 / "
            "this index was built with other settings; rebuild it.\n  " + "\n  ".join(diffs))


# ---------------------------------------------------------------------------------------------------- on disk

def current_generation(index_dir: Path) -> Path | None:
    cur = index_dir / "CURRENT"
    if not cur.is_file():
        return None
    gen = index_dir / cur.read_text().strip()
    return gen if (gen / "manifest.json").is_file() else None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _json_bytes(obj: object, **kw) -> bytes:
    """UTF-8 JSON in which a file name that is not UTF-8 (a surrogate escape from the OS) is written as its JSON
    escape (\\udcXX), so reading it back gives the same name, the same bytes on disk."""
    return json.dumps(obj, ensure_ascii=False, **kw).encode("utf-8", "backslashreplace")


def _write_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.save(fh, array)
        fh.flush()
        os.fsync(fh.fileno())


def _write_file(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


@contextmanager
def index_lock(index_dir: Path):
    """One writer at a time; readers never need the lock (they follow CURRENT)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(f"다른 색인 작업이 진행 중입니다. 끝난 뒤 다시 실행하십시오 / another indexing run "
                                 f"holds {index_dir}/.lock; try again when it has finished") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_faiss(vectors: np.ndarray, kind: str):
    import faiss
    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 0
    if kind == "hnsw":
        idx = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        idx.hnsw.efConstruction = 80
        idx.hnsw.efSearch = 128
    elif kind == "flat":
        idx = faiss.IndexFlatIP(dim)
    else:
        raise ValueError(f"unknown faiss_kind {kind!r} (flat | hnsw)")
    if len(vectors):
        idx.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return idx


def build_bm25(terms: list[list[str]]):
    return bm25.build(terms)


def write_generation(index_dir: Path, manifest: dict, chunks: list[Chunk | bytes], terms: list[list[str]],
                     vectors: np.ndarray, faiss_kind: str, labels: Labels | None = None) -> Path:
    """A complete new generation beside the live one, then CURRENT switched to it. `chunks`: Chunk objects, or a
    previous generation's stored lines (bytes, copied unparsed). `labels`: the chunks' access labels when the caller
    has them (an update takes the kept chunks' from the old generation); otherwise they are read from the chunks."""
    import faiss
    index_dir.mkdir(parents=True, exist_ok=True)
    n = 1 + max([int(p.name.split("-")[1]) for p in index_dir.glob("gen-*") if p.name.split("-")[1].isdigit()] + [0])
    tmp = index_dir / f".tmp-gen-{n}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        lines = [c if isinstance(c, bytes) else _json_bytes(asdict(c)) + b"\n" for c in chunks]
        _write_file(tmp / "chunks.jsonl", b"".join(lines))
        _write_npy(tmp / "chunk-offsets.npy", line_offsets(lines))
        _write_file(tmp / "terms.jsonl", b"".join(_json_bytes(t) + b"\n" for t in terms))
        if labels is None:
            labels = Labels.of([c if isinstance(c, Chunk) else Chunk(**json.loads(c)) for c in chunks])
        elif len(labels.ids) != len(chunks):
            raise ValueError(f"{len(labels.ids)} labels for {len(chunks)} chunks")
        _write_file(tmp / "label-sets.json", _json_bytes(labels.to_json()))
        _write_npy(tmp / "label-ids.npy", labels.ids)
        _write_npy(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        faiss.write_index(build_faiss(vectors, faiss_kind), str(tmp / "dense.faiss"))
        bm = build_bm25(terms)
        if terms:
            bm.save(str(tmp / "bm25"))
            freq = bm25.frequencies(bm, terms)
            _write_npy(tmp / "bm25-tf.npy", freq.tf)
            _write_npy(tmp / "bm25-doclen.npy", freq.doclen)
        manifest = dict(manifest)
        files = manifest.pop("files", {})
        manifest["file_count"] = len(files)
        _write_file(tmp / "files.json", _json_bytes(files))
        _write_file(tmp / "manifest.json", _json_bytes(manifest, indent=1))
        _fsync_dir(tmp)
        gen = index_dir / f"gen-{n}"
        os.replace(tmp, gen)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)        # a failed write leaves nothing behind
        raise
    _fsync_dir(index_dir)
    # the switch: one atomic rename of a one-line file
    cur_tmp = index_dir / f".CURRENT.{os.getpid()}"
    _write_file(cur_tmp, gen.name.encode())
    os.replace(cur_tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)
    clean_leftovers(index_dir)
    return gen


def clean_leftovers(index_dir: Path) -> None:
    """Remove what killed or finished writers left: temporary generations and CURRENT files (only a writer, holding
    the lock, calls this), and superseded generations no reader is opening (a reader holds a shared lock on its
    generation's manifest while it loads; one still held is removed by a later run)."""
    live = _current_name(index_dir)
    for stale in [*index_dir.glob(".tmp-gen-*"), *index_dir.glob(".CURRENT.*")]:
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    for old in index_dir.glob("gen-*"):
        if old.name != live:
            _remove_generation(old)


def _remove_generation(gen: Path) -> bool:
    try:
        fh = (gen / "manifest.json").open("rb")
    except FileNotFoundError:                       # half removed, or never complete
        shutil.rmtree(gen, ignore_errors=True)
        return True
    except OSError:
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:                     # a reader is opening it
            return False
        shutil.rmtree(gen, ignore_errors=True)
        return True


def read_chunks(gen: Path) -> tuple[list[Chunk], list[list[str]] | None]:
    """Every chunk as an object (a resident index), and their terms when the generation keeps them in the chunk
    lines (written before terms.jsonl), else None."""
    chunks, terms = [], []
    path = gen / "chunks.jsonl"
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    d = json.loads(line)
                    if "terms" in d:
                        terms.append(d.pop("terms"))
                    chunks.append(Chunk(**d))
                except (ValueError, KeyError, TypeError, AttributeError):
                    raise IndexCorruptError(f"{path}:{lineno}", "청크 줄을 읽을 수 없음 / unreadable chunk line") from None
    return chunks, (terms if len(terms) == len(chunks) and (terms or not (gen / "terms.jsonl").exists()) else None)


def read_terms(gen: Path, n: int) -> list[list[str]]:
    """The BM25 terms of every chunk (terms.jsonl, or inside the chunk lines of older generations)."""
    path = gen / "terms.jsonl"
    if not path.exists():
        terms = _corrupt_on_error(gen / "chunks.jsonl", lambda: read_chunks(gen))[1]
    else:
        def read() -> list[list[str]]:
            with path.open(encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
        terms = _corrupt_on_error(path, read)
    if terms is None or len(terms) != n:
        raise IndexCorruptError(path, f"청크 {n}, 용어 목록 {len(terms or [])} / terms do not match the chunks")
    return terms


def _current_name(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text().strip() or None
    except FileNotFoundError:
        return None


def load_index(index_dir: Path, expected: dict | None = None, *, resident: bool = False) -> Index:
    """The live generation. A writer may switch CURRENT and remove the generation this reader was about to open:
    then CURRENT is followed again. Once open, its generation is share-locked until loaded, so no writer removes it
    mid-read; a file that still fails to read is corrupt, and the error names it.

    By default vectors, FAISS codes and BM25 arrays are memory-mapped and chunks are read on demand (index/table.py);
    `resident` reads every chunk into memory as before (generations written before the chunk table always are)."""
    index_dir = Path(index_dir)
    for _ in range(100):
        name = _current_name(index_dir)
        if name is None:
            break
        gen = index_dir / name
        try:
            fh = (gen / "manifest.json").open("rb")
        except FileNotFoundError:
            if _current_name(index_dir) != name:
                continue                             # superseded and removed meanwhile: follow CURRENT again
            raise IndexCorruptError(gen / "manifest.json", "CURRENT가 가리키는 세대가 없음 / missing") from None
        with fh:
            fcntl.flock(fh, fcntl.LOCK_SH)
            if not (gen / "manifest.json").exists():   # removed while this reader waited for the lock
                continue
            return _load_generation(gen, fh.read(), expected, resident)
    if _current_name(index_dir) is None:
        raise IndexError_(f"인덱스가 없습니다. 먼저 `rag index 문서폴더`를 실행하세요 / no index at {index_dir}")
    raise IndexBusyError(f"인덱스가 계속 바뀌고 있어 열지 못했습니다. 잠시 뒤 다시 시도하십시오 / {index_dir} kept "
                         f"changing while it was opened; try again")


def _corrupt_on_error(path: Path, read):
    try:
        return read()
    except IndexError_:
        raise
    except FileNotFoundError:
        raise IndexCorruptError(path, "파일 없음 / missing") from None
    except Exception as e:                          # noqa: BLE001 - any reader error on a damaged file; type only
        raise IndexCorruptError(path, f"읽을 수 없음 / unreadable: {type(e).__name__}") from None


def _load_generation(gen: Path, manifest_bytes: bytes, expected: dict | None, resident: bool = False) -> Index:
    import bm25s
    import faiss
    manifest = _corrupt_on_error(gen / "manifest.json", lambda: json.loads(manifest_bytes.decode("utf-8")))
    if not isinstance(manifest, dict):
        raise IndexCorruptError(gen / "manifest.json", "JSON 객체가 아님 / not a JSON object")
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexFormatError(f"인덱스 형식 버전이 다릅니다 ({manifest.get('format')} ≠ {FORMAT_VERSION}); "
                                 f"`rag index --rebuild`로 다시 만드세요 / index format differs; rebuild it")
    if expected is not None:
        check_compatible(manifest, expected)
    mapped = not resident and (gen / "chunk-offsets.npy").exists()
    labels = None
    if mapped:
        offsets = _corrupt_on_error(gen / "chunk-offsets.npy", lambda: np.load(gen / "chunk-offsets.npy", mmap_mode="r"))
        chunks, terms = _corrupt_on_error(gen / "chunks.jsonl", lambda: ChunkTable(gen / "chunks.jsonl", offsets)), None
        if offsets[-1] != (gen / "chunks.jsonl").stat().st_size:
            raise IndexCorruptError(gen / "chunks.jsonl", "크기가 오프셋 표와 다름 / size differs from its offsets")
        labels = _corrupt_on_error(gen / "label-ids.npy", lambda: Labels.load(gen / "label-sets.json",
                                                                              gen / "label-ids.npy"))
    else:
        chunks, terms = _corrupt_on_error(gen / "chunks.jsonl", lambda: read_chunks(gen))
    mode = "r" if mapped else None
    vectors = _corrupt_on_error(gen / "vectors.npy", lambda: np.load(gen / "vectors.npy", mmap_mode=mode))
    flags = faiss.IO_FLAG_MMAP_IFC if mapped and manifest.get("faiss") == "flat" else 0
    dense = _corrupt_on_error(gen / "dense.faiss", lambda: faiss.read_index(str(gen / "dense.faiss"), flags))
    bm = _corrupt_on_error(gen / "bm25", lambda: bm25s.BM25.load(str(gen / "bm25"), mmap=mapped)
                           if (gen / "bm25").exists() else build_bm25([]))
    if len(vectors) != len(chunks) or dense.ntotal != len(chunks) or (labels and len(labels.ids) != len(chunks)):
        raise IndexCorruptError(gen, f"청크 {len(chunks)}, 벡터 {len(vectors)}, FAISS {dense.ntotal}")
    index = Index(gen, manifest, chunks, terms, vectors, dense, bm, None, labels)
    if mapped:
        index.vector_rows = VectorRows(gen / "vectors.npy", vectors)
    index.freq = _corrupt_on_error(gen / "bm25-tf.npy", lambda: _frequencies(gen, bm, index, mode))
    return index


def _frequencies(gen: Path, bm, index: Index, mode: str | None) -> bm25.Frequencies:
    """The BM25 term frequencies saved with the generation (memory-mapped for a reader); computed from the chunks'
    terms for generations written before they were saved."""
    n_postings = len(bm.scores.get("indices", ())) if getattr(bm, "scores", None) else 0
    if (gen / "bm25-tf.npy").exists():
        freq = bm25.Frequencies(np.load(gen / "bm25-tf.npy", mmap_mode=mode),
                                np.load(gen / "bm25-doclen.npy", mmap_mode=mode))
    elif (gen / "bm25-tf.npz").exists():
        with np.load(gen / "bm25-tf.npz") as z:
            freq = bm25.Frequencies(z["tf"], z["doclen"])
    else:
        freq = None
    if freq is not None and len(freq.tf) == n_postings and len(freq) == len(index.chunks):
        return freq
    return bm25.frequencies(bm, index.terms)


# ---------------------------------------------------------------------------------------------------- update

def update_index(index_dir: Path, paths: list[str | Path], embedder, embedder_path: str | Path, *,
                 chunk_tokens: int = 200, overlap: int = 1, faiss_kind: str = "flat", max_bytes: int = 50 << 20,
                 batch_size: int = 32, rebuild: bool = False, prune: bool = False,
                 progress: Progress | None = None, screen: Screen | None,
                 label: Label | None = None) -> UpdateReport:
    """Add new and changed files (by content hash), drop deleted ones, re-embed nothing unchanged.

    `prune` also drops indexed files that are not under `paths`. Files that fail to load are reported by name and
    reason; a previously indexed version of such a file is kept (nothing is lost). `screen`: how personal data in
    the documents is handled (index/pii.py); every product path passes one (rag.runtime.index_files), None only
    for benchmarks of the raw pipeline. A file indexed under another policy is processed again. `label`: the access
    label of the files (index/access.py; an access.toml at the root of an indexed folder overrides it per file);
    a file whose label changed is re-labelled without re-embedding.
    """
    from index.loaders import SUPPORTED_SUFFIXES, LoadFailure, load_file

    index_dir = Path(index_dir)
    report = UpdateReport(pii_policy=screen.policy if screen else "")
    t_start = time.perf_counter()
    emb = describe(embedder, embedder_path)
    expected = expected_settings(emb, chunk_tokens, overlap, faiss_kind)
    with index_lock(index_dir):
        clean_leftovers(index_dir)                      # what a killed run left
        old: Index | None = None
        if not rebuild and current_generation(index_dir) is not None:
            try:
                old = load_index(index_dir, expected)
            except IndexFormatError:
                # an older format: rebuilt from the files, those indexed before included (said in the report)
                report.format_upgraded = True
                prev_gen = current_generation(index_dir)
                prev = json.loads((prev_gen / "manifest.json").read_text(encoding="utf-8"))
                prev_files = prev.get("files") if "files" in prev else (
                    json.loads((prev_gen / "files.json").read_text(encoding="utf-8"))
                    if (prev_gen / "files.json").exists() else {})
                if not prune:
                    paths = list(paths) + [Path(k) for k in prev_files if Path(k).exists()]
        old_files: dict[str, dict] = old.files if old else {}
        files, report.errors = discover(paths, SUPPORTED_SUFFIXES)
        default_label = label or Label()
        rules, blocked = [], []
        for p in paths:
            if Path(p).is_dir():
                try:
                    rules.append(read_rules(Path(p), default_label))
                except AccessFileError as e:          # never index a folder's files under a label it did not give
                    report.errors.append(LoadError(str(Path(p) / "access.toml"), str(e)))
                    blocked.append(Path(p).resolve())
        relabel: dict[str, Label] = {}

        # rows of the old index by source key
        rows_by_key: dict[str, list[int]] = {}
        if old:
            src_to_key = {meta["source"]: key for key, meta in old_files.items()}
            for i, c in enumerate(old.chunks):
                rows_by_key.setdefault(src_to_key.get(c.source, c.source), []).append(i)

        keep_rows: list[int] = []
        new_files: dict[str, dict] = {}
        new_chunks: list[Chunk] = []
        new_terms: list[list[str]] = []
        seen_keys: set[str] = set()
        t_parse = t_chunk = t_pii = 0.0
        for i, f in enumerate(files):
            key = os.path.realpath(f)                   # identity: the real path, bytes and all
            name = shown_path(f)                        # what people read (non-UTF-8 names decoded)
            seen_keys.add(key)
            if progress:
                progress("files", i, len(files), 0.0)
            try:
                if any(b == f.resolve() or b in f.resolve().parents for b in blocked):
                    raise LoadFailure("access.toml 오류로 색인하지 않음 (위 오류 참고) / not indexed: its folder's "
                                      "access.toml is invalid")
                lab = label_of(f, rules, default_label)
                size = f.stat().st_size
                if size > max_bytes:
                    raise LoadFailure(f"파일이 너무 큼 ({size / 2**20:.1f} MB > 한도 {max_bytes / 2**20:.0f} MB)")
                digest = file_sha256(f)
                prev = old_files.get(key)
                if prev and prev["sha256"] == digest and prev.get("pii_policy", "") == report.pii_policy:
                    keep_rows += rows_by_key.get(key, [])
                    new_files[key] = {**prev, "source": name, **lab.to_json()}
                    if Label(prev.get("level", "내부"), tuple(prev.get("groups", []))) != lab:
                        relabel[key] = lab
                        report.relabelled.append(name)
                    report.unchanged.append(name)
                    if prev.get("pii"):
                        report.pii[name] = prev["pii"]
                    continue
                t0 = time.perf_counter()
                doc = load_file(f, max_bytes=max_bytes)
                t1 = time.perf_counter()
                found: dict[str, int] = {}
                if screen is not None:
                    doc, found = screen_document(doc, screen)
                    if found and screen.policy == "refuse":
                        raise PersonalDataRefused(f"개인정보가 있어 색인하지 않음 ({screen.describe(found)}; "
                                                  f"document_pii = \"refuse\")")
                t2 = time.perf_counter()
                cwt = chunk_document(doc, digest[:12], chunk_tokens, overlap)
                for c in cwt:
                    c.chunk.level, c.chunk.groups = lab.level, list(lab.groups)
                if screen is not None and found and screen.policy == "flag":
                    for c in cwt:
                        c.chunk.pii = sorted(set(screen.find(c.chunk.text)))
                t_parse += t1 - t0
                t_pii += t2 - t1
                t_chunk += time.perf_counter() - t2
                if not cwt:
                    raise LoadFailure("텍스트가 없음")
            except PersonalDataRefused as e:
                report.errors.append(LoadError(name, str(e)))
                report.pii[name] = found
                if key in old_files:                       # refused now: no version of it stays retrievable
                    report.removed.append(old_files[key]["source"])
                continue
            except (LoadFailure, OSError) as e:
                reason = str(e) if isinstance(e, LoadFailure) else f"읽을 수 없음 ({e.strerror or type(e).__name__})"
                if key in old_files:                       # keep the last good version, and say so
                    keep_rows += rows_by_key.get(key, [])
                    new_files[key] = old_files[key]
                    reason += " — 이전에 색인한 버전을 유지 / the last indexed version is kept"
                report.errors.append(LoadError(name, reason))
                continue
            (report.changed if key in old_files else report.added).append(name)
            pages = {c.chunk.page for c in cwt if c.chunk.page}
            new_files[key] = {"source": name, "sha256": digest, "size": size, "title": doc.title,
                              "format": doc.format, "chunks": len(cwt), "pii_policy": report.pii_policy,
                              "pii": found, **lab.to_json(),
                              # for the document list (rag/catalog.py): pages (PDF), sections, when indexed
                              "pages": len(pages) or None, "sections": len({c.chunk.section for c in cwt}),
                              "indexed": time.strftime("%Y-%m-%d %H:%M")}
            if found:
                report.pii[name] = found
            new_chunks += [c.chunk for c in cwt]
            new_terms += [c.terms for c in cwt]
        if progress:
            progress("files", len(files), len(files), 0.0)

        # files indexed before and not seen now: dropped when deleted from disk (or with prune)
        for key, meta in old_files.items():
            if key in seen_keys:
                continue
            try:
                present = Path(key).exists()
            except OSError:                              # under a folder that cannot be read now (reported)
                keep_rows += rows_by_key.get(key, [])
                new_files[key] = meta
                continue
            if present and not prune:
                keep_rows += rows_by_key.get(key, [])
                new_files[key] = meta
            else:
                report.removed.append(meta["source"])

        t0 = time.perf_counter()
        new_vecs = embed_passages(embedder, [c.text for c in new_chunks], batch_size, progress)
        t_embed = time.perf_counter() - t0
        keep_rows.sort()
        relabel_rows = {i: relabel[k] for k, rows in rows_by_key.items() if k in relabel for i in rows}
        kept = [_kept_chunk(old.chunks, i) if i not in relabel_rows else
                replace(old.chunks[i], level=relabel_rows[i].level, groups=list(relabel_rows[i].groups))
                for i in keep_rows] if old else []
        chunks = kept + new_chunks
        labels = None
        if old:                 # the kept chunks' labels from the old label table: their lines stay unparsed
            old_labels = old.label_table()
            labels = Labels.of_labels(
                [(relabel_rows[i].level, tuple(relabel_rows[i].groups)) if i in relabel_rows else old_labels.label(i)
                 for i in keep_rows] + [(c.level, tuple(c.groups)) for c in new_chunks])
        terms = ([old.terms[i] for i in keep_rows] if old else []) + new_terms
        vectors = np.concatenate([old.vectors[keep_rows] if old else np.zeros((0, emb["dim"]), np.float32),
                                  new_vecs]).astype(np.float32)
        report.chunks_total = len(chunks)
        report.chunks_embedded = len(new_chunks)
        # a new FAISS kind is a change too: the index is rebuilt from the stored vectors, nothing is re-embedded
        report.faiss_rebuilt = bool(old is not None and old.manifest.get("faiss") != faiss_kind)
        # a generation written before the chunk table (index/table.py) is rewritten in the new layout, nothing
        # re-embedded, so readers can map it instead of holding every chunk in memory
        layout_upgraded = old is not None and (not (old.path / "chunk-offsets.npy").exists()
                                               or "files" in old.manifest)
        changed_anything = bool(report.added or report.changed or report.removed or rebuild or old is None
                                or report.faiss_rebuilt or report.relabelled or layout_upgraded)
        t0 = time.perf_counter()
        if changed_anything:
            manifest = {"format": FORMAT_VERSION, "project_version": project_version(), **expected,
                        "embedder": emb, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        "versions": library_versions(), "files": new_files, "chunks": len(chunks)}
            write_generation(index_dir, manifest, chunks, terms, vectors, faiss_kind, labels)
        report.timings = {"parse_s": t_parse, "pii_s": t_pii, "kiwi_chunk_s": t_chunk, "embed_s": t_embed,
                          "write_s": time.perf_counter() - t0, "total_s": time.perf_counter() - t_start}
    return report


def _kept_chunk(chunks: Sequence[Chunk], i: int) -> Chunk | bytes:
    """An unchanged chunk for the next generation: its stored line as is from a chunk table (nothing parsed)."""
    return chunks.raw(i) if isinstance(chunks, ChunkTable) else chunks[i]


def library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version
    out = {}
    for pkg in ("kiwipiepy", "sentence-transformers", "faiss-cpu", "bm25s", "llama-cpp-python", "gradio", "torch"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def index_state(index_dir: Path) -> dict:
    """What `rag doctor` says about an index, without loading vectors."""
    gen = current_generation(Path(index_dir))
    if gen is None:
        return {"path": str(index_dir), "exists": False}
    m = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    size = sum(f.stat().st_size for f in gen.rglob("*") if f.is_file())
    return {"path": str(index_dir), "exists": True, "generation": gen.name,
            "files": m.get("file_count", len(m.get("files", {}))),
            "chunks": m.get("chunks"), "embedder": m.get("embedder"), "created": m.get("created"),
            "bytes": size, "faiss": m.get("faiss")}
