"""The OpenMP wait policy per machine (rag/waitpolicy.py): measured by the self-check with the real GGUF and embedder,
recorded for this machine only, and what libgomp itself reports inside a `rag` process."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag import selfcheck, waitpolicy


def _record(policy: str, here: dict | None = None) -> dict:
    return {"policy": policy, "machine": here or waitpolicy.machine(), "measured": "2026-12-02",
            "decode_tok_s": {"passive": [10.0], "spin": [20.0]}}


def test_another_policy_replaces_the_fallback_only_when_clearly_faster():
    assert waitpolicy.choose({"passive": [14.5, 15.1], "spin": [22.4, 21.0]}) == "spin"
    assert waitpolicy.choose({"passive": [22.0, 23.5], "spin": [12.0, 14.0]}) == "passive"
    # within the margin: noise, the fallback stays; each policy's best round counts
    assert waitpolicy.choose({"passive": [20.0, 10.0], "spin": [21.5, 21.0]}) == "passive"
    assert waitpolicy.choose({"passive": [10.0, 20.0], "spin": [22.1]}) == "spin"
    with pytest.raises(ValueError):
        waitpolicy.choose({"spin": [20.0]})


def test_the_record_applies_on_its_machine_only_and_the_users_setting_wins(tmp_path):
    path = tmp_path / "policy.json"
    env: dict[str, str] = {}
    applied = waitpolicy.apply(env, path)                              # no record yet: the fallback
    assert (applied.policy, applied.source, env) == ("passive", "fallback", {"OMP_WAIT_POLICY": "PASSIVE"})
    waitpolicy.save(_record("spin"), path)
    env = {}
    applied = waitpolicy.apply(env, path)
    assert (applied.policy, applied.source, env) == ("spin", "measured", {})
    env = {"GOMP_SPINCOUNT": "5000"}                                   # the user's own setting is left alone
    assert waitpolicy.apply(env, path).source == "user" and env == {"GOMP_SPINCOUNT": "5000"}
    # a record from another CPU, or with more cores, or unreadable, or naming an unknown policy: not this machine's
    other = dict(waitpolicy.machine(), cpu="Intel(R) Xeon(R) Platinum 8480+")
    for text in (json.dumps(_record("spin", other)), json.dumps(_record("spin", dict(other, cpus=64))),
                 "{not json", json.dumps(_record("turbo"))):
        path.write_text(text)
        env = {}
        assert waitpolicy.apply(env, path).source == "fallback" and env == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert waitpolicy.machine("model name\t: X\nflags\t: b a\n")["flags"] == \
        waitpolicy.machine("model name\t: X\nflags\t: a b\n")["flags"]


def _rag_libgomp(tmp_path, extra: dict) -> list[int]:
    """GOMP_SPINCOUNT as the libgomps a real `rag index` loads (torch's, faiss') report it."""
    env = {k: v for k, v in os.environ.items() if k not in waitpolicy.KEYS}
    env.update(OMP_DISPLAY_ENV="VERBOSE", RAG_WAIT_POLICY_FILE=str(tmp_path / "policy.json"),
               RAG_DATA_DIR=str(tmp_path / "data"), **extra)
    doc = tmp_path / "docs" / "안내.txt"
    doc.parent.mkdir(exist_ok=True)
    doc.write_text("민원 처리 기간은 접수일로부터 7일 이내이다. 스마트도시 위원회는 매년 두 차례 회의를 연다.\n")
    out = subprocess.run([sys.executable, "-m", "rag.cli", "--index", str(tmp_path / "index"), "index",
                          str(doc.parent)], env=env, capture_output=True, text=True, timeout=300,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr[-1500:]
    counts = waitpolicy.libgomp_spincounts(out.stderr)
    assert counts, "no libgomp reported its settings"
    return counts


def test_rag_runs_with_the_recorded_policy_as_libgomp_reports_it(tmp_path):
    path = tmp_path / "policy.json"
    for policy in waitpolicy.POLICIES:
        waitpolicy.save(_record(policy), path)
        assert set(_rag_libgomp(tmp_path, {})) == {waitpolicy.expected_spincount(policy)}, policy
    path.write_text(json.dumps(_record("spin", dict(waitpolicy.machine(), cpus=999))))
    assert set(_rag_libgomp(tmp_path, {})) == {0}                       # not this machine's record: PASSIVE
    assert set(_rag_libgomp(tmp_path, {"OMP_WAIT_POLICY": "ACTIVE"})) == {30_000_000_000}  # the user's choice


def test_selfcheck_measures_each_policy_in_its_own_process_and_keeps_the_record(base_cfg, tmp_path):
    path = tmp_path / "policy.json"
    rec = selfcheck.measure_wait_policy(base_cfg, rounds=1, decode_tokens=8)   # raises if a libgomp ran another
    assert set(rec["decode_tok_s"]) == set(waitpolicy.POLICIES)
    assert all(len(v) == 1 and v[0] > 0 for v in rec["decode_tok_s"].values())
    assert rec["policy"] == waitpolicy.choose(rec["decode_tok_s"]) and rec["machine"] == waitpolicy.machine()
    waitpolicy.save(rec, path)
    again = selfcheck.tune(base_cfg, path=path)                        # recorded: nothing is measured again
    assert again["status"] == "recorded" and again["decode_tok_s"] == rec["decode_tok_s"]
    assert waitpolicy.load(path) == rec
    assert rec["policy"] in selfcheck.policy_message(again)


def test_a_measurement_that_cannot_be_recorded_reports_the_fallback_rag_will_run(base_cfg, tmp_path, monkeypatch):
    rec = _record("spin")                                   # spin measured clearly faster on this machine
    monkeypatch.setattr(selfcheck, "measure_wait_policy", lambda cfg: rec)  # measuring itself: the test above
    blocker = tmp_path / "venv-is-a-file"
    blocker.write_text("")
    path = blocker / "policy.json"                          # unwritable even for root: its parent is a file
    got = selfcheck.tune(base_cfg, path=path)
    assert got["status"] == "unsaved" and not path.exists()
    assert got["policy"] == waitpolicy.FALLBACK and got["measured_policy"] == "spin"
    msg = selfcheck.policy_message(got)
    assert f"uses {waitpolicy.FALLBACK}" in msg and str(path) in msg and "spin 20.0" in msg
    assert waitpolicy.load(path) is None                     # so `rag` indeed runs the fallback
