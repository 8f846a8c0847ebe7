"""Datasets (JSON lines) and the indexes they are evaluated against.

Retrieval and answers: {"id", "question", "answers": [str], "sources": [paths relative to the corpus],
"answerable": bool} (+ optional "followup_of": id, "pages": [{"source", "page"}], "evidence").
Guard: {"id", "text", "expect": [types]}.

Shortcut names: `korquad` (built from ../shared/bench by eval/korquad.py, with its own corpus), `seoul_qa` and `guard`
(files in eval/datasets/; seoul_qa's default corpus is ../shared/corpus/seoul-ai-policy).

`--corpus DIR` indexes the directory on the fly into a cache directory keyed by the corpus path and every index
setting (embedder id, tokenizer, chunking, FAISS kind); update_index is incremental, so a second run costs only hashing.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import PROJECT_ROOT, Config
from rag.jsonl import read_jsonl

DATASETS_DIR = PROJECT_ROOT / "eval" / "datasets"
REPORTS_DIR = PROJECT_ROOT / "eval" / "reports"
SHARED = PROJECT_ROOT.parent / "shared"
SEOUL_CORPUS = SHARED / "corpus" / "seoul-ai-policy"

NEED = {"retrieval": ("id", "question"), "answers": ("id", "question"), "guard": ("id", "text", "expect")}


@dataclass
class Dataset:
    name: str
    path: Path
    items: list[dict]
    sha256: str
    corpus: Path | None = None           # default corpus for this dataset (shortcuts only)
    credit: str | None = None
    notes: list[str] = field(default_factory=list)


def eval_home(cfg: Config) -> Path:
    """Runs, prepared benchmarks and cached indexes: outside the repository (they hold third-party text)."""
    return cfg.data_dir / "eval"


def samples_corpus(cfg: Config) -> Path:
    """samples/ and, when ../shared is there, the seed documents, as one corpus (samples/…, seed/…) in the eval
    home: the chat's example questions must be answered from the samples with the seed documents indexed too. The
    copies are refreshed when a file differs; the seed text stays outside the repository."""
    import shutil
    out = eval_home(cfg) / "samples-with-seed"
    parts = {"samples": PROJECT_ROOT / "samples"} | ({"seed": SEOUL_CORPUS} if SEOUL_CORPUS.is_dir() else {})
    for sub in ("samples", "seed"):
        if sub not in parts:
            shutil.rmtree(out / sub, ignore_errors=True)
    for sub, src in parts.items():
        want = {f.name: f for f in src.iterdir() if f.is_file()}
        (out / sub).mkdir(parents=True, exist_ok=True)
        for old in (out / sub).iterdir():
            if old.name not in want:
                old.unlink()
        for name, f in want.items():
            dst = out / sub / name
            if not dst.is_file() or dst.read_bytes() != f.read_bytes():
                shutil.copyfile(f, dst)
    return out


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_qa(rows: list[dict], path: Path) -> None:
    ids = {r["id"] for r in rows}
    for r in rows:
        for key in ("answers", "sources"):
            if key in r and not (isinstance(r[key], list) and all(isinstance(x, str) for x in r[key])):
                raise ValueError(f"{path}: {r['id']}: '{key}'는 문자열 목록이어야 합니다 / must be a list of strings")
        ref = r.get("followup_of")
        if ref is not None and ref not in ids:
            raise ValueError(f"{path}: {r['id']}: followup_of {ref!r} 항목이 없습니다 / refers to a missing id")


def resolve_dataset(spec: str, kind: str, cfg: Config) -> Dataset:
    """A dataset by path or shortcut name (korquad, seoul_qa, guard)."""
    from eval import korquad
    credit = None
    corpus = None
    if spec in (korquad.NAME, korquad.OFF_CORPUS):
        if kind == "guard":
            raise ValueError("korquad는 guard 데이터셋이 아닙니다 / korquad is not a guard dataset")
        path, corpus = korquad.prepare_korquad(korquad.default_path(PROJECT_ROOT), eval_home(cfg) / "korquad-v1")
        credit = korquad.CREDIT
        if spec == korquad.OFF_CORPUS:          # its questions against the wrong documents: every one unanswerable
            path, corpus = korquad.off_corpus(path), SEOUL_CORPUS
    elif not spec.endswith(".jsonl") and (DATASETS_DIR / f"{spec}.jsonl").is_file():
        path = DATASETS_DIR / f"{spec}.jsonl"
    else:
        path = Path(spec)
    if not path.is_file():
        raise ValueError(f"데이터셋을 찾을 수 없습니다 / dataset not found: {spec}")
    if (path.resolve().parent == DATASETS_DIR.resolve() and path.name.startswith("seoul_qa")
            and SEOUL_CORPUS.is_dir()):                 # seoul_qa, its held-out and added sets: the seed documents
        corpus = SEOUL_CORPUS
    if path.resolve().parent == DATASETS_DIR.resolve() and path.name.startswith("nearmiss") and SEOUL_CORPUS.is_dir():
        corpus = SEOUL_CORPUS                           # near-miss sets written from the seed documents
    if path.resolve().parent == DATASETS_DIR.resolve() and path.name.startswith("samples_qa"):
        corpus = samples_corpus(cfg)                    # the product's samples, beside the seed documents
    data = path.read_bytes()
    rows = read_jsonl(path, NEED[kind], text_fields=tuple(k for k in NEED[kind] if k in ("question", "text")))
    if (path.resolve().parent == DATASETS_DIR.resolve() and kind != "guard"
            and any(s.startswith("samples/") for r in rows for s in r.get("sources") or [])):
        corpus = samples_corpus(cfg)                    # items about the samples too: samples and seed documents
    if kind != "guard" and rows and all("title" in r and "paragraph" in r for r in rows):
        # items written about KorQuAD paragraphs (article title + paragraph index): the KorQuAD corpus, and each
        # item's source is that paragraph's file in it
        _, corpus = korquad.prepare_korquad(korquad.default_path(PROJECT_ROOT), eval_home(cfg) / "korquad-v1")
        names = korquad.paragraph_files(korquad.default_path(PROJECT_ROOT))
        for r in rows:
            name = names.get((r["title"], int(r["paragraph"])))
            if name is None:
                raise ValueError(f"{path}: {r['id']}: KorQuAD에 없는 문단 / no such KorQuAD paragraph: "
                                 f"{r['title']!r} #{r['paragraph']}")
            r["sources"] = [name] if r.get("answerable", True) else []
        credit = korquad.CREDIT
    if kind != "guard":
        check_qa(rows, path)
    name = spec if spec in (korquad.NAME, korquad.OFF_CORPUS) else re.sub(r"\.jsonl$", "", path.name)
    return Dataset(name, path, rows, _sha256_bytes(data), corpus, credit)


# ------------------------------------------------------------------------------------------------ indexes

def corpus_key(corpus: Path, expected: dict) -> str:
    blob = json.dumps({"corpus": str(Path(corpus).resolve()), "settings": expected}, sort_keys=True,
                      ensure_ascii=False)
    return _sha256_bytes(blob.encode())[:12]


def corpus_index_dir(cfg: Config, corpus: Path, expected: dict) -> Path:
    name = re.sub(r"[^\w.-]+", "_", Path(corpus).resolve().name)
    return eval_home(cfg) / "indexes" / f"{name}-{corpus_key(corpus, expected)}"


def open_eval_index(cfg: Config, corpus: Path | None, progress=None):
    """(index, embedder, embedder path, index dir, update report or None). With `corpus`, the directory is
    (incrementally) indexed into its cache dir first; without, cfg's index is used as it is."""
    from index.store import load_index
    from rag.runtime import expected_index, index_files, open_embedder
    embedder, emb_path = open_embedder(cfg, may_export=corpus is not None)     # indexing a corpus may export ONNX
    expected = expected_index(cfg, embedder, emb_path)
    report = None
    if corpus is not None:
        corpus = Path(corpus)
        if not corpus.is_dir():
            raise ValueError(f"코퍼스 폴더가 없습니다 / corpus directory not found: {corpus}")
        index_dir = corpus_index_dir(cfg, corpus, expected)
        report = index_files(cfg, [corpus], embedder, emb_path, index_dir=index_dir, prune=True, progress=progress)
    else:
        index_dir = cfg.resolved_index_dir
    return load_index(index_dir, expected), embedder, emb_path, index_dir, report
