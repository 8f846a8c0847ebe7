"""Every `rag` command over constructed bad inputs: the documented exit code (rag/cli.py, README "명령어 `rag`"),
the file and line named, and never a Python traceback.

    0 ok · 1 partial · 2 unusable input or config · 3 busy (index lock) · 4 internal error · 130 interrupted

One small real index of samples/ is built once by `rag index`; nothing here generates an answer."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def rag(args: list[str], env: dict, stdin: str | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], check=False, capture_output=True, text=True, env=env,
                          timeout=timeout, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


def clean(out: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in out.stderr + out.stdout, out.stderr[-3000:]


@pytest.fixture(scope="module")
def site(base_cfg, tmp_path_factory) -> dict:
    """A data dir of its own, the real model cache and an index of samples/ built through the CLI."""
    data = tmp_path_factory.mktemp("cli-errors")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(data), RAG_MODEL_CACHE_DIR=str(base_cfg.models_dir))
    index = data / "index"
    out = rag(["--index", str(index), "index", str(ROOT / "samples")], env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return {"env": env, "index": index, "data": data, "models": base_cfg.models_dir}


def write(path: Path, *lines: str | bytes) -> Path:
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode("utf-8") for x in lines) + b"\n")
    return path


# one batch per field: line 8 is good, the others are bad in different ways (line 4 is blank: skipped, not an error)
def mixed_batch(path: Path, field: str) -> Path:
    good = "도우미가 읽을 수 있는 문서 형식은 무엇인가요?" if field == "question" else "연락처 010-1234-5678"
    last = {"id": "e", field: "   "} if field == "question" else {"id": "g", field: "중복 id"}
    return write(path, "123", json.dumps({"id": "a", field: 5}), json.dumps({"id": "b"}), "",
                 '{"id": "c", ' + field, b'{"id": "d", "' + field.encode() + b'": "\xff\xfe"}',
                 json.dumps(["id", field]), json.dumps({"id": "g", field: good}, ensure_ascii=False),
                 json.dumps(last, ensure_ascii=False))


BAD_LINES = {1: "not a JSON object", 2: "not a string", 3: "missing field", 5: "invalid JSON", 6: "invalid UTF-8",
             7: "not a JSON object"}


def assert_lines_named(out: subprocess.CompletedProcess, batch: Path, field: str) -> None:
    for n, why in {**BAD_LINES, 9: "empty" if field == "question" else "duplicate id"}.items():
        line = next((ln for ln in out.stderr.splitlines() if f"{batch}:{n}:" in ln), None)
        assert line and why in line, (n, why, out.stderr)
    assert f"{batch}:4:" not in out.stderr and f"{batch}:8:" not in out.stderr
    for n in (2, 3):                                             # the field is named
        assert field in next(ln for ln in out.stderr.splitlines() if f"{batch}:{n}:" in ln).split(f":{n}:")[1]


# --------------------------------------------------------------------------------------------- batch input

@pytest.mark.parametrize("cmd, field", [("guard", "text"), ("search", "question")])
def test_bad_batch_lines_are_named_and_the_good_ones_done(site, tmp_path, cmd, field):
    batch = mixed_batch(tmp_path / "b.jsonl", field)
    if cmd == "guard":                                           # plain output (search: --json only, it is slower)
        out = rag([cmd, "--batch", str(batch)], site["env"])
        clean(out)
        assert out.returncode == 1, (out.returncode, out.stderr[-2000:])
        assert_lines_named(out, batch, field)
        assert "010-1234-5678" not in out.stdout and out.stdout.strip()     # the good line was processed
    # --json: one error object per bad line, carrying its line number, and the good line's result
    out = rag(["--index", str(site["index"]), cmd, "--batch", str(batch), "--json"], site["env"])
    clean(out)
    assert out.returncode == 1, (out.returncode, out.stderr[-2000:])
    assert_lines_named(out, batch, field)
    rows = [json.loads(ln) for ln in out.stdout.splitlines()]
    errors = [r for r in rows if r.get("kind") == "BadBatchLine"]
    assert sorted(r["line"] for r in errors) == [1, 2, 3, 5, 6, 7, 9]
    assert all(r["file"] == str(batch) and r["error"] for r in errors)
    assert [r["id"] for r in rows if "error" not in r] == ["g"]


@pytest.mark.parametrize("cmd, field", [("guard", "text"), ("search", "question"), ("ask", "question")])
def test_a_batch_with_no_usable_line_is_unusable(site, tmp_path, cmd, field):
    batch = write(tmp_path / "bad.jsonl", "123", json.dumps({"id": 1, field: ["목록"]}), b"\xc3\x28")
    out = rag(["--index", str(site["index"]), cmd, "--batch", str(batch)], site["env"])
    clean(out)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    for n in (1, 2, 3):
        assert f"{batch}:{n}:" in out.stderr
    assert "invalid UTF-8" in out.stderr and "no usable line" in out.stderr


@pytest.mark.parametrize("cmd", ["guard", "search", "ask"])
@pytest.mark.parametrize("what", ["missing", "directory", "empty"])
def test_a_missing_or_unreadable_batch_file_is_named(site, tmp_path, cmd, what):
    batch = tmp_path / "q.jsonl"
    if what == "directory":
        batch.mkdir()
    elif what == "empty":
        batch.write_bytes(b"\n\n")
    out = rag(["--index", str(site["index"]), cmd, "--batch", str(batch)], site["env"])
    clean(out)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert str(batch) in out.stderr
    if what == "missing":
        assert "file not found" in out.stderr


def test_batch_from_stdin(site):
    out = rag(["guard", "--batch", "-", "--json"], site["env"], stdin='{"id": 1, "text": "abc"}\n7\n')
    clean(out)
    assert out.returncode == 1 and "-:2:" in out.stderr
    assert [json.loads(ln).get("line") for ln in out.stdout.splitlines()] == [2, None]


# --------------------------------------------------------------------------------------------- configuration

@pytest.mark.parametrize("var, value, expect", [
    ("RAG_CHUNK_TOKENS", "abc", "정수(int)"), ("RAG_CHUNK_TOKENS", "", "정수(int)"),
    ("RAG_TEMPERATURE", "warm", "실수(float)"), ("RAG_ABBREVIATIONS", "maybe", "true/false"),
    ("RAG_FUSION", "hybird", "linear, rrf, bm25, dense"), ("RAG_TOP_K", "-3", "> 0")])
def test_a_bad_variable_is_named_with_the_allowed_values(site, var, value, expect):
    out = rag(["search", "질문"], {**site["env"], var: value}, timeout=120)
    clean(out)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert var in out.stderr and expect in out.stderr, out.stderr


@pytest.mark.parametrize("cmd", [["ask", "질문"], ["guard", "글"], ["doctor"], ["audit"], ["users", "list"],
                                 ["index", "nothing-here"], ["serve"], ["eval", "guard", "--dataset", "guard"]])
def test_every_command_stops_at_a_bad_setting(site, cmd):
    out = rag(cmd, {**site["env"], "RAG_CHUNK_TOKENS": "abc"}, timeout=120)
    clean(out)
    assert out.returncode == 2 and "RAG_CHUNK_TOKENS" in out.stderr, (out.returncode, out.stderr[-2000:])


@pytest.mark.parametrize("text, expect", [
    ('chunk_tokens = "x"\n', ["chunk_tokens", "정수(int)"]), ("top_k = 2.5\n", ["top_k", "정수(int)"]),
    ('fusion = "best"\n', ["fusion", "linear, rrf"]), ("abbreviations = 1\n", ["abbreviations", "true/false"]),
    ("top_k = 8\nfusion = \n", ["TOML", "line 2"]), ('[retrieval]\ntop_k = 3\n', ["retrieval", "unknown"]),
    (b'fusion = "\xff"\n', ["UTF-8"])])
def test_a_bad_config_file_is_named_with_the_key_or_line(site, tmp_path, text, expect):
    conf = tmp_path / "rag.toml"
    conf.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    for args in (["--config", str(conf), "search", "질문"], ["--config", str(conf), "guard", "글"]):
        out = rag(args, site["env"])
        clean(out)
        assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
        assert str(conf) in out.stderr and all(e in out.stderr for e in expect), out.stderr
    # named by RAG_CONFIG: the message says so
    out = rag(["guard", "글"], {**site["env"], "RAG_CONFIG": str(tmp_path / "absent.toml")})
    clean(out)
    assert out.returncode == 2 and "absent.toml" in out.stderr and "RAG_CONFIG" in out.stderr


# --------------------------------------------------------------------------------------------- the index

def test_a_missing_index_is_unusable(site, tmp_path):
    batch = write(tmp_path / "q.jsonl", json.dumps({"id": 1, "question": "질문"}, ensure_ascii=False))
    for args in (["search", "질문"], ["ask", "--batch", str(batch)]):
        out = rag(["--index", str(tmp_path / "none"), *args], site["env"])
        clean(out)
        assert out.returncode == 2 and "rag index" in out.stderr, (args, out.returncode, out.stderr[-2000:])


@pytest.mark.parametrize("name", ["dense.faiss", "vectors.npy", "chunks.jsonl", "manifest.json"])
def test_a_truncated_index_file_says_rebuild(site, tmp_path, name):
    """index.store.load_index raises IndexCorruptError for these (rag/cli.py: rc 2)."""
    idx = tmp_path / "index"
    shutil.copytree(site["index"], idx, ignore=shutil.ignore_patterns(".lock"))
    gen = idx / (idx / "CURRENT").read_text().strip()
    f = gen / name
    f.write_bytes(f.read_bytes()[: max(1, f.stat().st_size // 3)])
    out = rag(["--index", str(idx), "search", "질문"], site["env"])
    clean(out)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert "rebuild" in out.stderr and name in out.stderr, out.stderr


def test_a_held_index_lock_is_busy_not_unusable(site, tmp_path):
    idx = tmp_path / "index"
    idx.mkdir()
    with (idx / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        out = rag(["--index", str(idx), "index", "--json", str(ROOT / "samples")], site["env"])
    clean(out)
    assert out.returncode == 3, (out.returncode, out.stderr[-2000:])
    assert ".lock" in out.stderr and json.loads(out.stdout.splitlines()[-1])["kind"] == "IndexBusyError"


def test_index_of_nothing_usable_names_the_path(site, tmp_path):
    out = rag(["--index", str(tmp_path / "i"), "index", str(tmp_path / "no-such-folder")], site["env"])
    clean(out)
    assert out.returncode == 2 and "no-such-folder" in out.stderr + out.stdout


def test_a_read_only_command_never_writes_an_onnx_export_into_the_model_cache(site, tmp_path):
    """RAG_EMBED_BACKEND=onnx without an export: search uses torch and says so; the model folder is unchanged.
    (The folder is the provisioned embedder seen through symlinks, with the same name: the same embedder id.)"""
    from rag.config import load_config
    from rag.models import embedder_path
    src = embedder_path(load_config(env={"RAG_MODEL_CACHE_DIR": str(site["models"])}))
    if (src / "onnx").exists():
        pytest.skip("the shared model folder already holds an ONNX export")
    model = tmp_path / "models" / src.name
    model.mkdir(parents=True)
    for f in src.iterdir():
        (model / f.name).symlink_to(f, target_is_directory=f.is_dir())
    env = {**site["env"], "RAG_EMBED_BACKEND": "onnx", "RAG_EMBEDDER_PATH": str(model)}
    out = rag(["--index", str(site["index"]), "search", "--json", "-k", "2", "문서 형식"], env)
    clean(out)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "torch" in out.stderr and len(json.loads(out.stdout.splitlines()[-1])["hits"]) == 2
    assert sorted(p.name for p in model.iterdir()) == sorted(p.name for p in src.iterdir())


# --------------------------------------------------------------------------------------------- other commands

def test_users_audit_eval_and_serve_bad_input(site, tmp_path):
    env = site["env"]
    cases = [
        (["users", "remove", "nobody"], None, 2, "nobody"),
        (["users", "passwd", "nobody", "--password-stdin"], "long-enough-pw\n", 2, "nobody"),
        (["users", "add", "kim", "--password-stdin"], "\n", 2, "비밀번호"),
        (["users", "add", "bad name!", "--password-stdin"], "long-enough-pw\n", 2, "bad name!"),
        (["search", "--user", "nobody", "질문"], None, 2, "nobody"),
        (["audit", "--since", "yesterday"], None, 2, "YYYY-MM-DD"),
        (["eval", "guard", "--dataset", str(tmp_path / "none.jsonl"), "--out", str(tmp_path)], None, 2, "none.jsonl"),
        (["serve", "--port", "abc"], None, 2, "--port"),
    ]
    for args, stdin, rc, named in cases:
        out = rag(args, env, stdin=stdin, timeout=120)
        clean(out)
        assert out.returncode == rc and named in out.stderr, (args, out.returncode, out.stderr[-2000:])


def test_an_eval_dataset_line_is_named(site, tmp_path):
    ds = write(tmp_path / "g.jsonl", json.dumps({"id": 1, "text": "가", "expect": []}), b'{"id": 2, "text": "\xff"}')
    out = rag(["eval", "guard", "--dataset", str(ds), "--out", str(tmp_path)], site["env"])
    clean(out)
    assert out.returncode == 2 and f"{ds}:2:" in out.stderr and "UTF-8" in out.stderr, out.stderr
    write(ds, json.dumps({"id": 1, "text": 7, "expect": []}))
    out = rag(["eval", "guard", "--dataset", str(ds), "--out", str(tmp_path)], site["env"])
    clean(out)
    assert out.returncode == 2 and f"{ds}:1:" in out.stderr and "text" in out.stderr, out.stderr


def test_a_skipped_audit_line_is_partial(site, tmp_path):
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    write(data / "logs" / "audit.jsonl", json.dumps({"kind": "ask", "time": "2025-01-02T03:04:05", "user": None,
                                                     "channel": "cli", "refused": False}), "{broken")
    out = rag(["audit"], {**site["env"], "RAG_DATA_DIR": str(data)})
    clean(out)
    assert out.returncode == 1 and f"{data / 'logs' / 'audit.jsonl'}:2:" in out.stderr, out.stderr


# --------------------------------------------------------------------------------------------- unexpected errors

def _main_raising(exc: str, env: dict) -> subprocess.CompletedProcess:
    code = ("import sys, rag.cli as c\n"
            "def boom(cfg, args):\n"
            f"    raise {exc}\n"
            "c.COMMANDS['guard'] = boom\n"
            "sys.exit(c.main(['guard', 'x']))\n")
    return subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env,
                          timeout=120)


def test_an_unexpected_error_is_internal_and_names_only_its_class(site):
    out = _main_raising("RuntimeError('주민등록번호 900101-1234567')", site["env"])
    clean(out)
    assert out.returncode == 4 and "RuntimeError" in out.stderr and "900101" not in out.stderr + out.stdout
    out = _main_raising("KeyError('900101-1234567')", site["env"])
    assert out.returncode == 4 and "KeyError" in out.stderr and "900101" not in out.stderr
    debug = _main_raising("RuntimeError('x')", {**site["env"], "RAG_DEBUG": "1"})
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    out = _main_raising("KeyboardInterrupt()", site["env"])
    clean(out)
    assert out.returncode == 130
