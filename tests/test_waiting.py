"""The answer line's estimate (ui/waiting.py): place in line and expected wait from answer times measured here."""
from __future__ import annotations

import time

import pytest

from ui.waiting import AnswerLine, measured_seconds


def test_place_and_estimate_come_from_measured_answer_times():
    line = AnswerLine()
    line.join("a")
    assert line.ahead_of("a") == (0, None, 0)                 # nothing ahead, nothing measured
    line.start("a")
    line.join("b")
    ahead, eta, n = line.ahead_of("b")
    assert (ahead, eta, n) == (1, None, 0)                    # someone ahead, but no answer time measured yet
    line.seed([30.0, 10.0, 20.0])
    ahead, eta, n = line.ahead_of("b")
    assert ahead == 1 and n == 3 and 19.0 < eta <= 20.0        # the median, less what the running one has done
    line.join("c")
    ahead, eta_c, _ = line.ahead_of("c")
    assert ahead == 2 and eta_c > eta + 19.0                  # behind b: one more typical answer
    line.finish("a", completed=True)
    assert line.ahead_of("b")[0] == 0 and len(line.recent) == 4
    line.start("b")
    line.finish("b", completed=False)                         # cancelled: its time says nothing about answers
    assert len(line.recent) == 4


def test_a_running_answer_past_its_typical_time_leaves_no_negative_wait():
    line = AnswerLine()
    line.seed([0.01])
    line.start("a")
    time.sleep(0.05)
    line.join("b")
    assert line.ahead_of("b")[1] == 0.0


def test_the_seed_is_the_audit_logs_answer_times_without_their_queue_wait(tmp_path):
    from rag.audit import AuditLog
    log = AuditLog(tmp_path / "audit.jsonl")
    for total, wait, err in ((12000.0, 2000.0, None), (9000.0, 0.0, None), (500.0, 0.0, "Cancelled")):
        log._write({"kind": "ask", "error": err, "timings": {"total_ms": total, "queue_wait_ms": wait}})
    assert measured_seconds(log) == [10.0, 9.0]


def test_prefill_speed_is_measured_from_answers_and_estimates_the_reading_time():
    """The note before the first word (issue 32, honest waiting): tokens a second from each answer's own timings
    (time to the first token less retrieval, rewriting and the wait for the model), the median of the last ones."""
    from ui.waiting import PrefillSpeed, prefill_rate
    t = {"prefill_tokens": 600, "ttft_ms": 5300.0, "retrieval_ms": 200.0, "rewrite_ms": 100.0, "queue_wait_ms": 0.0}
    assert prefill_rate(t) == pytest.approx(120.0)
    assert prefill_rate({"prefill_tokens": 0, "ttft_ms": 0.0}) is None          # refused before the model
    speed = PrefillSpeed()
    assert speed.seconds(600) is None                                           # nothing measured yet: no guess
    speed.seed([100.0, 300.0])
    speed.add(t)
    secs, rate = speed.seconds(600)
    assert rate == pytest.approx(120.0) and secs == pytest.approx(5.0)
