"""Fault injection on the index (issue 16, items 1–4 and 6): file names that are not UTF-8, readers during writes,
unreadable files and folders, symlinks out of the indexed folder and loops, leftovers of killed runs, and a long-lived
reader picking up a generation another process wrote. Real embedder, real kiwipiepy, real files, real processes;
bounded in time, nothing leaves the machine."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SAMPLES
from index.store import current_generation, load_index, update_index

ARTIFACTS = ROOT / "tests" / "artifacts"
NOBODY = 65534


def build(d, paths, embedder, **kw):
    from rag.runtime import pii_screen
    model, path = embedder
    return update_index(d, paths, model, path, **{"screen": pii_screen("mask"), **kw})


def indexed_text(idx: Path) -> str:
    return "\n".join(c.text for c in load_index(idx).chunks)


@pytest.fixture
def open_dir():
    """A folder every user may enter and write (the permission tests drop to another uid when run as root)."""
    d = Path(tempfile.mkdtemp(prefix="rag-faults-", dir="/tmp"))
    d.chmod(0o777)
    yield d
    subprocess.run(["chmod", "-R", "u+rwx", str(d)], check=False)
    shutil.rmtree(d, ignore_errors=True)


@contextmanager
def unprivileged():
    """Root reads everything: to make 'unreadable' mean something, act as `nobody` for the block (effective ids
    only, restored after). Without root, permissions already apply."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def cli(args: list[str], base_cfg, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_DATA_DIR": str(base_cfg.data_dir), "RAG_MODEL_CACHE_DIR": str(base_cfg.models_dir)}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600, **kw)


# ------------------------------------------------------------------------------------------------ 1. names

CP949_NAME = "서울시정책".encode("cp949") + b".txt"


def test_a_cp949_file_name_is_indexed_shown_decoded_and_kept_by_its_bytes(tmp_path, embedder, base_cfg):
    docs = tmp_path / "docs"
    docs.mkdir()
    raw = os.fsencode(docs) + b"/" + CP949_NAME
    with open(raw, "wb") as fh:
        fh.write("민들레 안내 창구는 3층에 있습니다.".encode())
    (docs / "보통.txt").write_text("해바라기 안내는 2층입니다.", encoding="utf-8")
    idx = tmp_path / "idx"
    rep = build(idx, [docs], embedder)
    assert rep.ok, rep.errors
    assert sorted(Path(s).name for s in rep.added) == ["보통.txt", "서울시정책.txt"]      # decoded for display
    assert "민들레" in indexed_text(idx)
    keys = load_index(idx).files
    assert raw in {os.fsencode(k) for k in keys}                                     # identity: the bytes
    shown = {c.source for c in load_index(idx).chunks}
    assert str(docs / "서울시정책.txt") in shown
    json.dumps(sorted(shown), ensure_ascii=False).encode("utf-8")                    # every shown name is text
    again = build(idx, [docs], embedder)
    assert again.ok and not (again.added or again.changed or again.removed) and len(again.unchanged) == 2
    # and the command line names it (decoded), exit 0, no traceback
    out = cli(["--index", str(tmp_path / "idx2"), "--json", "index", str(docs)], base_cfg)
    assert out.returncode == 0, out.stderr
    assert str(docs / "서울시정책.txt") in json.loads(out.stdout.splitlines()[-1])["added"]
    assert "Traceback" not in out.stderr
    assert not list((tmp_path / "idx2").glob(".tmp-gen-*"))


# ------------------------------------------------------------------------------------------------ 2. readers

def _writer(idx: str, stop_at: float, out) -> None:
    from index.records import Chunk
    from index.store import write_generation
    rng = np.random.default_rng(0)
    commits = 0
    while time.time() < stop_at:
        n = int(rng.integers(20, 200))
        chunks = [Chunk(f"f:{i}", "a.txt", f"문장 {i} {commits}") for i in range(n)]
        terms = [["문장", str(i), str(commits)] for i in range(n)]
        vecs = rng.standard_normal((n, 8)).astype(np.float32)
        write_generation(Path(idx), {"format": 4, "files": {}, "chunks": n}, chunks, terms, vecs, "flat")
        commits += 1
    out.put(("commits", commits))


def _reader(idx: str, stop_at: float, out) -> None:
    loads = failed = 0
    kinds: dict[str, int] = {}
    while time.time() < stop_at:
        loads += 1
        try:
            ix = load_index(Path(idx))
            assert len(ix.chunks) == len(ix.vectors) == ix.dense.ntotal
        except Exception as e:                                   # noqa: BLE001 - counted, that is the test
            failed += 1
            kinds[type(e).__name__] = kinds.get(type(e).__name__, 0) + 1
    out.put(("reader", loads, failed, kinds))


def test_readers_never_fail_while_a_writer_commits_for_a_minute(tmp_path):
    idx = tmp_path / "idx"
    from index.records import Chunk
    from index.store import write_generation
    write_generation(idx, {"format": 4, "files": {}, "chunks": 1}, [Chunk("f:0", "a.txt", "처음")], [["처음"]],
                     np.ones((1, 8), np.float32), "flat")
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    duration = float(os.environ.get("RAG_SOAK_SECONDS", "60"))
    stop_at = time.time() + duration
    procs = [ctx.Process(target=_writer, args=(str(idx), stop_at, q))]
    procs += [ctx.Process(target=_reader, args=(str(idx), stop_at, q)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [q.get(timeout=duration + 120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    commits = sum(r[1] for r in results if r[0] == "commits")
    loads = sum(r[1] for r in results if r[0] == "reader")
    failed = sum(r[2] for r in results if r[0] == "reader")
    kinds: dict[str, int] = {}
    for r in results:
        if r[0] == "reader":
            for k, v in r[3].items():
                kinds[k] = kinds.get(k, 0) + v
    figure = {"seconds": duration, "commits": commits, "loads_attempted": loads, "loads_failed": failed,
              "failures_by_kind": kinds}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "reader-writer-soak.json").write_text(json.dumps(figure, indent=1) + "\n")
    print(f"\nreader/writer soak: {json.dumps(figure)}")
    assert commits >= 50 and loads >= 200, figure
    assert failed == 0, figure
    # superseded generations are removed once no reader holds them: the next write leaves only the live one
    write_generation(idx, {"format": 4, "files": {}, "chunks": 1}, [Chunk("f:0", "a.txt", "끝")], [["끝"]],
                     np.ones((1, 8), np.float32), "flat")
    assert [p.name for p in idx.iterdir() if p.name != "CURRENT"] == [current_generation(idx).name]


def test_a_long_lived_reader_picks_up_a_generation_another_process_wrote(tmp_path, sample_copy, embedder, base_cfg):
    from dataclasses import replace

    from rag.runtime import fresh_retriever, make_retriever, open_index
    cfg = replace(base_cfg, index_dir=tmp_path / "idx")
    build(cfg.index_dir, [sample_copy], embedder)
    model, path = embedder
    live = make_retriever(cfg, open_index(cfg, model, path), model)
    assert fresh_retriever(cfg, live) is live                  # nothing new: the same object
    (sample_copy / "새소식.txt").write_text("민들레 축제는 5월 둘째 주 토요일에 열립니다.", encoding="utf-8")
    out = cli(["--index", str(cfg.index_dir), "index", str(sample_copy)], base_cfg)   # another process
    assert out.returncode == 0, out.stderr
    newer = fresh_retriever(cfg, live)
    assert newer is not live
    assert any("민들레" in h.chunk.text for h in newer.search("민들레 축제는 언제 열리나요?", k=3))
    assert not any("민들레" in h.chunk.text for h in live.search("민들레 축제는 언제 열리나요?", k=3))


# ------------------------------------------------------------------------------------------------ 3. unreadable

def test_an_unreadable_file_keeps_its_last_good_version_and_is_reported(open_dir, embedder):
    docs = open_dir / "docs"
    shutil.copytree(SAMPLES, docs)
    (docs / "sub").mkdir()
    (docs / "sub" / "안쪽.txt").write_text("튤립 정원은 시청 뒤편에 있습니다.", encoding="utf-8")
    (docs / "잠김.txt").write_text("장미 정원은 남산에 있습니다.", encoding="utf-8")
    idx = open_dir / "idx"
    first = build(idx, [docs], embedder)
    assert first.ok, first.errors
    subprocess.run(["chmod", "-R", "a+rwX", str(open_dir)], check=True)
    (docs / "잠김.txt").chmod(0)
    (docs / "sub").chmod(0)
    try:
        with unprivileged():
            rep = build(idx, [docs], embedder)
    finally:
        (docs / "sub").chmod(0o777)
        (docs / "잠김.txt").chmod(0o666)
    named = {Path(e.source).name: e.reason for e in rep.errors}
    assert "잠김.txt" in named and "sub" in named, rep.errors
    assert not rep.removed, rep.removed                                          # nothing silently dropped
    text = indexed_text(idx)
    assert "장미 정원" in text and "튤립 정원" in text                              # last good versions kept


# ------------------------------------------------------------------------------------------------ 4. symlinks

def test_symlinks_out_of_the_indexed_folder_are_refused_and_loops_named(tmp_path, sample_copy, embedder, base_cfg):
    secret = tmp_path / "outside" / "비밀.txt"
    secret.parent.mkdir()
    secret.write_text("라벤더 암호는 바깥 폴더에만 있습니다.", encoding="utf-8")
    (sample_copy / "outside.txt").symlink_to(secret)
    (sample_copy / "etc.txt").symlink_to("/etc/os-release")
    (sample_copy / "outdir").symlink_to(secret.parent, target_is_directory=True)
    (sample_copy / "loop.txt").symlink_to(sample_copy / "loop.txt")
    (sample_copy / "안쪽별칭.md").symlink_to(sample_copy / "01_사용안내.md")     # inside: fine, indexed once
    idx = tmp_path / "idx"
    rep = build(idx, [sample_copy], embedder)
    reasons = {Path(e.source).name: e.reason for e in rep.errors}
    assert {"outside.txt", "etc.txt", "outdir", "loop.txt"} <= set(reasons), rep.errors
    assert "순환" in reasons["loop.txt"]
    assert "밖" in reasons["outside.txt"]
    text = indexed_text(idx)
    assert "라벤더" not in text and "VERSION_ID" not in text and "PRETTY_NAME" not in text
    assert len(load_index(idx).files) == 4
    # a loop named directly is a loop, not "no such file"
    out = cli(["--index", str(idx), "index", str(sample_copy / "loop.txt")], base_cfg)
    assert "순환" in out.stdout + out.stderr and "Traceback" not in out.stderr, out


# ------------------------------------------------------------------------------------------------ 6. leftovers

def test_leftovers_of_a_killed_run_are_cleaned_by_the_next_run(tmp_path, sample_copy, embedder):
    idx = tmp_path / "idx"
    build(idx, [sample_copy], embedder)
    (idx / ".tmp-gen-9-999999").mkdir()
    (idx / ".tmp-gen-9-999999" / "vectors.npy").write_bytes(b"half")
    (idx / ".CURRENT.999999").write_text("gen-9")
    (idx / "gen-0").mkdir()                                   # a superseded generation nobody reads
    rep = build(idx, [sample_copy], embedder)                 # nothing changed: no new generation is written
    assert rep.ok and not rep.added and not rep.changed
    left = sorted(p.name for p in idx.iterdir())
    assert left == sorted([".lock", "CURRENT", current_generation(idx).name]), left
