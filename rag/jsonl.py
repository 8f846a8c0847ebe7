"""JSON Lines in: batch questions (`rag ask --batch`), guard sets and eval datasets all read through read_jsonl()."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def read_jsonl(path: str | Path, need: tuple[str, ...], *, unique_ids: bool = True) -> list[dict]:
    """Rows of a JSON-lines file ("-" is standard input). A broken line, a missing field or a repeated id is a
    ValueError naming the file, the line and the reason; blank lines are skipped."""
    fh = sys.stdin if str(path) == "-" else open(path, encoding="utf-8")
    rows, ids = [], set()
    with fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{i}: JSON 형식 오류 / invalid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{i}: 객체가 아님 / not a JSON object")
            missing = [k for k in need if k not in row]
            if missing:
                raise ValueError(f"{path}:{i}: 필드 누락 / missing field(s): {', '.join(missing)}")
            if unique_ids and "id" in row:
                if row["id"] in ids:
                    raise ValueError(f"{path}:{i}: 중복된 id / duplicate id {row['id']!r}")
                ids.add(row["id"])
            rows.append(row)
    return rows
