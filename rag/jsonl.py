"""JSON Lines in: batch questions (`rag ask --batch`), guard sets and eval datasets all read through iter_jsonl():
read_jsonl() stops at the first bad line (datasets), read_batch() keeps the good lines and names the bad ones."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class JsonlFileError(ValueError):
    """The file itself cannot be read (missing, a folder, no permission): the message names it."""


@dataclass
class BadLine:
    path: str
    line: int
    reason: str
    id: object = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def _open_bytes(path: str | Path):
    if str(path) == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise JsonlFileError(f"{path}: 파일을 찾을 수 없습니다 / file not found") from None
    except IsADirectoryError:
        raise JsonlFileError(f"{path}: 파일이 아니라 폴더입니다 / is a directory, not a file") from None
    except OSError as e:
        raise JsonlFileError(f"{path}: 읽을 수 없습니다 / cannot read ({e.strerror or type(e).__name__})") from None


def _check(row: dict, need: tuple[str, ...], text_fields: tuple[str, ...], nonblank: bool) -> str | None:
    missing = [k for k in need if k not in row]
    if missing:
        return f"필드 누락 / missing field(s): {', '.join(missing)}"
    for k in text_fields:
        if k in row and not isinstance(row[k], str):
            return f"필드 {k}: 문자열이 아님 / not a string ({type(row[k]).__name__})"
        if k in row and nonblank and not row[k].strip():
            return f"필드 {k}: 비어 있음 / empty"
    return None


def iter_jsonl(path: str | Path, need: tuple[str, ...], *, unique_ids: bool = True,
               text_fields: tuple[str, ...] = (), nonblank: bool = False) -> Iterator[dict | BadLine]:
    """Each non-blank line of a JSON-lines file ("-" is standard input): the row, or a BadLine naming the line and the
    reason (invalid UTF-8 or JSON, not an object, a missing field, a field of `text_fields` not a string — or blank,
    with nonblank —, a repeated id). A file that cannot be opened is a JsonlFileError."""
    fh = _open_bytes(path)
    ids = set()
    try:
        for i, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield BadLine(str(path), i, f"UTF-8이 아닌 바이트 / invalid UTF-8 (byte {e.start + 1} of the line)")
                continue
            if i == 1:
                line = line.lstrip("\ufeff")              # a byte-order mark some editors write
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                yield BadLine(str(path), i, f"JSON 형식 오류 / invalid JSON ({e.msg}, column {e.colno})")
                continue
            if not isinstance(row, dict):
                yield BadLine(str(path), i, f"JSON 객체가 아님 / not a JSON object ({type(row).__name__})")
                continue
            why = _check(row, need, text_fields, nonblank)
            if why:
                yield BadLine(str(path), i, why, row.get("id"))
                continue
            if unique_ids and "id" in row:
                try:
                    seen = row["id"] in ids
                except TypeError:                          # an id that is a list or an object
                    yield BadLine(str(path), i, "id: 문자열이나 수가 아님 / id must be a string or a number")
                    continue
                if seen:
                    yield BadLine(str(path), i, f"중복된 id / duplicate id {row['id']!r}", row["id"])
                    continue
                ids.add(row["id"])
            yield row
    finally:
        if fh is not getattr(sys.stdin, "buffer", None):
            fh.close()


def read_jsonl(path: str | Path, need: tuple[str, ...], *, unique_ids: bool = True,
               text_fields: tuple[str, ...] = ()) -> list[dict]:
    """Rows of a JSON-lines file ("-" is standard input). A broken line, a missing field (or one of `text_fields` not
    a string) or a repeated id is a ValueError naming the file, the line and the reason; blank lines are skipped."""
    rows = []
    for row in iter_jsonl(path, need, unique_ids=unique_ids, text_fields=text_fields):
        if isinstance(row, BadLine):
            raise ValueError(str(row))
        rows.append(row)
    return rows


def read_batch(path: str | Path, field: str, *, allow_blank: bool = False) -> tuple[list[dict], list[BadLine]]:
    """A batch for `rag search|ask|guard --batch`: the usable rows (each with an id and `field` a string, non-blank
    unless allow_blank) and the bad lines, each naming FILE:LINE and the reason, in file order."""
    rows, bad = [], []
    for row in iter_jsonl(path, ("id", field), text_fields=(field,), nonblank=not allow_blank):
        (bad if isinstance(row, BadLine) else rows).append(row)
    return rows, bad
