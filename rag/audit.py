"""Audit log and feedback as JSON lines. Privacy by construction: every free text goes through guard.mask()
before it is written (whatever the user chose to send), and findings are stored as types, never values."""
from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from pathlib import Path

from rag import guard

_lock = threading.Lock()
_start_lock = threading.Lock()
_start_seq = itertools.count(1)      # per server process: the order requests started in
_BOOT = uuid.uuid4().hex[:8]         # names this process in start records (sequence numbers restart)


def _masked(text: str | None) -> str | None:
    # scanned here again on purpose: a caller's findings may belong to another version of the text (the browser
    # records the masked text it sent with the findings of what was typed), and reused spans would mis-mask
    return None if text is None else guard.mask(text, guard.scan(text), min_severity="low")


def cited_names(record: dict) -> list[str]:
    """The file names an answer record cites, each once, in citation order."""
    return list(dict.fromkeys(Path(str(c.get("source", ""))).name for c in record.get("cited_sources") or []
                              if isinstance(c, dict)))


class AuditLog:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _write(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with _lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)

    def record_start(self, request_id: str, channel: str = "api") -> int:
        """A request arrived, before any work: its opaque id (no question text), the server process (`boot`) and
        its sequence number there, taken under a lock with the monotonic clock, so the order the server started
        requests in can be checked against the order clients sent them (eval/load.py). Returns the number."""
        with _start_lock:
            seq = next(_start_seq)
            self._write({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "kind": "ask_start", "channel": channel,
                         "request_id": request_id, "boot": _BOOT, "seq": seq,
                         "mono_ms": round(time.monotonic() * 1000, 1)})
        return seq

    def record_answer(self, question: str, findings, answer, *, masked: bool, acknowledged: bool = False,
                      channel: str = "ui", session: str | None = None, error: str | None = None,
                      request_id: str | None = None, client: str | None = None) -> str:
        """One question: answered, refused, or failed (`error`: the exception class, or a refusal before any work —
        rag.limits BUSY / RATE, QuestionTooLong). `client` names whom a limit counted (rag/limits.py), when one did."""
        rid = uuid.uuid4().hex[:12]
        self._write({
            "id": rid, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "kind": "ask", "channel": channel,
            "request_id": request_id,
            "session": session, "question_masked": _masked(question),
            "rewritten_masked": _masked(getattr(answer, "rewritten_question", None)),
            "finding_types": sorted({f.type for f in findings}), "sent_masked": masked,
            "acknowledged_warning": acknowledged, "refused": getattr(answer, "refused", None),
            "cited_sources": [{"source": c.source, "page": c.page} for c in getattr(answer, "citations", [])],
            "warnings": len(getattr(answer, "warnings", [])), "truncated": getattr(answer, "truncated", None),
            "strategy": getattr(answer, "strategy", None), "verified": getattr(answer, "verified", None),
            "extractive": getattr(answer, "extractive", None), "repairs": getattr(answer, "repairs", []),
            "user": getattr(answer, "user", None), "withheld_by_access": getattr(answer, "withheld", 0),
            "error": _masked(error),
            "timings": {k: round(v, 1) if isinstance(v, float) else v for k, v in getattr(answer, "timings", {}).items()},
            **({"client": client} if client else {}),
        })
        return rid

    def record_feedback(self, answer_id: str | None, rating: str, comment: str = "", session: str | None = None) -> None:
        findings = guard.scan(comment or "")
        self._write({"id": uuid.uuid4().hex[:12], "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "kind": "feedback",
                     "answer_id": answer_id, "session": session, "rating": rating,
                     "comment_masked": _masked(comment or ""), "finding_types": sorted({f.type for f in findings})})

    def answers(self, user: str | None = None, since: str | None = None) -> tuple[list[dict], list[int]]:
        """The answer records, oldest first, of one user (None: everyone) on or after the day `since` (YYYY-MM-DD),
        and the line numbers that could not be read (skipped, so one bad line never hides the rest)."""
        rows, bad = [], []
        if not self.path.is_file():
            return rows, bad
        with self.path.open(encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    bad.append(n)
                    continue
                if not isinstance(r, dict) or r.get("kind") != "ask" or (user and r.get("user") != user):
                    continue
                if since and str(r.get("time", ""))[:10] < since:
                    continue
                rows.append(r)
        return rows, bad

    def record_warning(self, finding_types: list[str], choice: str, session: str | None = None) -> None:
        self._write({"id": uuid.uuid4().hex[:12], "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "kind": "warning",
                     "session": session, "finding_types": sorted(set(finding_types)), "choice": choice})
