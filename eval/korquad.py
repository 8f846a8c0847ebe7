"""KorQuAD 1.0 dev → the eval dataset format + a corpus of one .txt file per paragraph.

KorQuAD 1.0 (LG CNS), licensed CC BY-ND 2.0 KR, https://korquad.github.io/ — used unmodified: every corpus file holds
one paragraph's `context` exactly as published, and every dataset row holds the question and its answer texts as
published. Nothing of it is copied into the project: the files are written to a cache directory outside the repository.

Layout written by prepare_korquad(src, out_dir):

    out_dir/corpus/<article:03d>_<paragraph:02d>_<title>.txt     one paragraph each (identical paragraphs: one file)
    out_dir/korquad.jsonl                                        {"id", "question", "answers", "sources",
                                                                  "answerable": true, "title"}
    out_dir/prepared.json                                        source hash + loader version (re-done when either changes)

A question's gold source is the file of the paragraph it was asked about, so retrieval is evaluated at source level.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from index.records import sha256_file

LOADER_VERSION = "1"
CREDIT = ("KorQuAD 1.0 dev (LG CNS), CC BY-ND 2.0 KR, https://korquad.github.io/ — "
          "paragraphs and questions used unmodified")
NAME = "korquad"


def default_path(project_root: Path) -> Path:
    """Where every developer and CI run has the file: ../shared beside the project."""
    return Path(project_root).resolve().parent / "shared" / "bench" / "korquad-v1" / "KorQuAD_v1.0_dev.json"


def _safe(title: str) -> str:
    return re.sub(r"[^\w.-]+", "_", title, flags=re.UNICODE).strip("._")[:60] or "untitled"


def korquad_rows(raw: dict) -> tuple[list[dict], dict[str, str]]:
    """(dataset rows, {relative file name: paragraph text}) from the parsed KorQuAD JSON. Pure: no I/O."""
    files: dict[str, str] = {}
    by_text: dict[str, str] = {}
    rows: list[dict] = []
    for ai, article in enumerate(raw["data"]):
        title = article.get("title", "")
        for pi, para in enumerate(article["paragraphs"]):
            text = para["context"]
            name = by_text.get(text)
            if name is None:
                name = f"{ai:03d}_{pi:02d}_{_safe(title)}.txt"
                by_text[text] = name
                files[name] = text
            for qa in para["qas"]:
                answers = list(dict.fromkeys(a["text"] for a in qa.get("answers", []) if a.get("text")))
                rows.append({"id": qa["id"], "question": qa["question"], "answers": answers, "sources": [name],
                             "answerable": bool(answers), "title": title})
    return rows, files


def paragraph_files(src: Path) -> dict[tuple[str, int], str]:
    """{(article title, paragraph index): its file name in the prepared corpus}, for items that name a paragraph."""
    raw = json.loads(Path(src).read_text(encoding="utf-8"))
    by_text: dict[str, str] = {}
    out: dict[tuple[str, int], str] = {}
    for ai, article in enumerate(raw["data"]):
        for pi, para in enumerate(article["paragraphs"]):
            name = by_text.setdefault(para["context"], f"{ai:03d}_{pi:02d}_{_safe(article.get('title', ''))}.txt")
            out.setdefault((article.get("title", ""), pi), name)
    return out


OFF_CORPUS = "korquad-offcorpus"


def off_corpus(dataset: Path) -> Path:
    """The KorQuAD questions as unanswerable items, to be asked against the seed documents (which do not hold their
    answers): a refusal check on questions nobody tuned on. Written beside the prepared dataset, unmodified text."""
    out = dataset.with_name(OFF_CORPUS + ".jsonl")
    if out.is_file() and out.stat().st_mtime >= dataset.stat().st_mtime:
        return out
    rows = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    tmp = out.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps({"id": r["id"], "question": r["question"], "answers": [], "sources": [],
                                       "answerable": False}, ensure_ascii=False) + "\n" for r in rows),
                   encoding="utf-8")
    os.replace(tmp, out)
    return out


def prepare_korquad(src: Path, out_dir: Path) -> tuple[Path, Path]:
    """Write (once) the dataset file and the corpus directory; returns (dataset path, corpus dir)."""
    src, out_dir = Path(src), Path(out_dir)
    if not src.is_file():
        raise FileNotFoundError(f"KorQuAD 파일이 없습니다 / KorQuAD file not found: {src}")
    dataset, corpus, stamp_file = out_dir / "korquad.jsonl", out_dir / "corpus", out_dir / "prepared.json"
    stamp = {"source": str(src.resolve()), "sha256": sha256_file(src), "loader": LOADER_VERSION, "credit": CREDIT}
    try:
        if json.loads(stamp_file.read_text(encoding="utf-8")) == stamp and dataset.is_file() and corpus.is_dir():
            return dataset, corpus
    except (OSError, ValueError):
        pass
    rows, files = korquad_rows(json.loads(src.read_text(encoding="utf-8")))
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".corpus-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, text in files.items():
        (tmp / name).write_text(text, encoding="utf-8")
    shutil.rmtree(corpus, ignore_errors=True)
    os.replace(tmp, corpus)
    tmp_ds = dataset.with_suffix(".jsonl.tmp")
    tmp_ds.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp_ds, dataset)
    stamp_file.write_text(json.dumps(stamp, ensure_ascii=False), encoding="utf-8")
    return dataset, corpus
