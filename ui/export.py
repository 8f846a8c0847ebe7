"""A conversation exported with its citations: as .docx (python-docx, already a dependency for reading DOCX) for a
report in 한글 or Word, and as plain text for an e-mail. Questions are as stored (masked, rag/conversations.py);
each answer is its copy text (the answer, then its sources as numbered lines), the same the copy button gives.

Files are written to a fresh folder under the system's temporary directory; Gradio copies them into its own cache to
serve them (deleted after an hour, build_app's delete_cache), and folders this module made are removed after
KEEP_SECONDS.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from rag.conversations import Turn

PREFIX = "policy-export-"
KEEP_SECONDS = 600


def turn_text(t: Turn) -> str:
    return (t.copy_text or t.answer_text).strip()


def as_text(title: str, turns: list[Turn], texts: dict) -> str:
    out = [title, texts["export_note"], ""]
    for i, t in enumerate(turns, 1):
        out += [texts["export_question"].format(n=i, question=t.question.strip()), turn_text(t), ""]
    return "\n".join(out).rstrip() + "\n"


def as_docx(title: str, turns: list[Turn], texts: dict, path: Path) -> Path:
    import docx
    d = docx.Document()
    d.add_heading(title, level=1)
    d.add_paragraph(texts["export_note"])
    for i, t in enumerate(turns, 1):
        d.add_heading(texts["export_question"].format(n=i, question=t.question.strip()), level=2)
        for line in turn_text(t).splitlines():
            if line.strip():
                d.add_paragraph(line.strip())
    d.save(str(path))
    return path


def _sweep(root: Path) -> None:
    now = time.time()
    for old in root.glob(PREFIX + "*"):
        try:
            if now - old.stat().st_mtime > KEEP_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue


def export(title: str, turns: list[Turn], texts: dict) -> list[Path]:
    """The conversation as [.docx, .txt] in a fresh temporary folder (older export folders are swept first)."""
    _sweep(Path(tempfile.gettempdir()))
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    stem = texts["export_file"].format(date=time.strftime("%Y%m%d-%H%M"))
    txt = folder / f"{stem}.txt"
    txt.write_text(as_text(title, turns, texts), encoding="utf-8")
    return [as_docx(title, turns, texts, folder / f"{stem}.docx"), txt]
