"""The one line answers wait in (one model, one answer at a time): who is answering or waiting, how long answers
have taken on this server, and from those two an estimate of when a newly sent question starts. Plain data, no
Gradio: the app joins, starts and finishes answers, the note is text from ui/texts.toml."""
from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, field

RECENT = 20                  # answers the estimate is taken from (the median: one slow outlier does not move it)


@dataclass
class AnswerLine:
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))   # seconds of finished answers, oldest first
    running: dict = field(default_factory=dict)                            # key -> monotonic start
    waiting: dict = field(default_factory=dict)                            # key -> monotonic join
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seed(self, seconds: list[float]) -> None:
        """Durations measured before this start (the audit log's), so the first estimate is not a guess."""
        with self.lock:
            self.recent.extend(s for s in seconds[-RECENT:] if s > 0)

    def join(self, key: str) -> None:
        with self.lock:
            self.waiting[key] = time.monotonic()

    def start(self, key: str) -> None:
        with self.lock:
            self.waiting.pop(key, None)
            self.running[key] = time.monotonic()

    def finish(self, key: str, completed: bool) -> None:
        """An answer ended; its time counts toward the estimate only when it ran to the end (not cancelled/failed)."""
        with self.lock:
            self.waiting.pop(key, None)
            began = self.running.pop(key, None)
            if completed and began is not None:
                self.recent.append(time.monotonic() - began)

    def ahead_of(self, key: str) -> tuple[int, float | None, int]:
        """(answers ahead of `key`, estimated seconds until it starts or None when nothing was measured yet,
        how many measured answers the estimate rests on)."""
        with self.lock:
            now = time.monotonic()
            joined = self.waiting.get(key, now)
            queued = [t for k, t in self.waiting.items() if k != key and t <= joined]
            running = [t for k, t in self.running.items() if k != key]
            n = len(self.recent)
            if not n:
                return len(running) + len(queued), None, 0
            typical = statistics.median(self.recent)
            left = sum(max(typical - (now - t), 0.0) for t in running)
            return len(running) + len(queued), left + typical * len(queued), n


def duration_text(seconds: float, texts: dict) -> str:
    if seconds < 60:
        return texts["wait_seconds"].format(n=max(1, round(seconds)))
    return texts["wait_minutes"].format(n=round(seconds / 60))


def measured_seconds(audit) -> list[float]:
    """How long the last answers took on this server (the audit log's timings, waiting for the model excluded)."""
    rows, _ = audit.answers()
    out = []
    for r in rows[-RECENT:]:
        t = r.get("timings") or {}
        if not r.get("error") and isinstance(t.get("total_ms"), (int, float)):
            out.append((t["total_ms"] - (t.get("queue_wait_ms") or 0)) / 1000)
    return out


def prefill_rate(timings: dict) -> float | None:
    """Tokens a second this machine read the prompt at in one answer: its prefill tokens over the time to the first
    token less retrieval, rewriting and the wait for the model. None when the answer had no model call."""
    tokens = timings.get("prefill_tokens") or 0
    ms = (timings.get("ttft_ms") or 0) - sum(timings.get(k) or 0 for k in ("retrieval_ms", "rewrite_ms",
                                                                            "queue_wait_ms"))
    return tokens / (ms / 1000) if tokens >= 50 and ms > 100 else None


def measured_rates(audit) -> list[float]:
    """The prefill rates of the last answers in the audit log (seeds the estimate after a restart)."""
    rows, _ = audit.answers()
    rates = [prefill_rate(r.get("timings") or {}) for r in rows[-RECENT:] if not r.get("error")]
    return [r for r in rates if r]


@dataclass
class PrefillSpeed:
    """This machine's measured prompt-reading speed (median of the last answers), for the note shown while the model
    reads the evidence before its first word."""
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT))

    def seed(self, rates: list[float]) -> None:
        self.recent.extend(rates[-RECENT:])

    def add(self, timings: dict) -> None:
        rate = prefill_rate(timings)
        if rate:
            self.recent.append(rate)

    def seconds(self, tokens: int) -> tuple[float, float] | None:
        """(estimated seconds to read `tokens`, the tokens-a-second it rests on); None before any measurement."""
        if not self.recent:
            return None
        rate = statistics.median(self.recent)
        return tokens / rate, rate
