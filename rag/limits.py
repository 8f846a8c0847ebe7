"""Per-client limits on questions, checked before any work is done for one (the guard, retrieval, the model).

A client is a name the caller cannot choose freely: the signed-in account, else the address it connects from (the
chat on loopback without accounts: its browser session, since every page there has the same address). Two limits:

    max_active   questions running (or waiting for the model) at once; a further one is refused, not queued
    per_minute   questions started in the last `window_s` seconds (refused ones are not counted)

0 turns a limit off. Everything is in memory, per server process.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

BUSY, RATE = "Busy", "RateLimited"          # the reasons, as recorded in the audit log's `error`


@dataclass(frozen=True)
class Refusal:
    reason: str                 # BUSY | RATE
    limit: int                  # the limit that was reached
    retry_after_s: int          # when the client may try again (0: when its running question is done)


@dataclass
class ClientLimits:
    max_active: int = 1
    per_minute: int = 12
    window_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _active: dict[str, int] = field(default_factory=dict, repr=False)
    _started: dict[str, deque] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _refusal(self, client: str, now: float) -> Refusal | None:
        if self.max_active and self._active.get(client, 0) >= self.max_active:
            return Refusal(BUSY, self.max_active, 0)
        if self.per_minute:
            started = self._started.get(client)
            while started and started[0] <= now - self.window_s:
                started.popleft()
            if started is not None and not started:
                del self._started[client]
            elif started and len(started) >= self.per_minute:
                return Refusal(RATE, self.per_minute, max(1, math.ceil(started[0] + self.window_s - now)))
        return None

    def check(self, client: str) -> Refusal | None:
        """Would a question of `client` be admitted now? (Nothing is counted.)"""
        with self._lock:
            return self._refusal(client, self.clock())

    def admit(self, client: str) -> Refusal | None:
        """None: admitted and counted (call release when it is done); else why not."""
        with self._lock:
            now = self.clock()
            refusal = self._refusal(client, now)
            if refusal is None:
                self._active[client] = self._active.get(client, 0) + 1
                if self.per_minute:
                    self._started.setdefault(client, deque()).append(now)
            return refusal

    def release(self, client: str) -> None:
        with self._lock:
            n = self._active.get(client, 0) - 1
            if n > 0:
                self._active[client] = n
            else:
                self._active.pop(client, None)
