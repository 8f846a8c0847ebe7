"""The dense side: a sentence-transformers model loaded from a local folder, e5-style prompts."""
from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

Progress = Callable[[str, int, int, float], None]       # (stage, done, total, eta_seconds)


@lru_cache(maxsize=4)
def load_embedder(path: str, backend: str = "torch"):
    """Load a sentence-transformers folder; never touches a model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if backend == "onnx":                      # int8 ONNX Runtime (exported once into <path>/onnx/: index/onnx.py)
        from index.onnx import ensure_onnx_int8, load_onnx_embedder
        ensure_onnx_int8(path)
        return load_onnx_embedder(path)
    if backend != "torch":
        raise ValueError(f"embed_backend must be 'torch' or 'onnx', not {backend!r}")
    from sentence_transformers import SentenceTransformer
    return SentenceTransformer(path, device="cpu", local_files_only=True)


def embedder_id(path: str | Path) -> str:
    """A stable identity for an embedder folder: its name + a hash of its config files and weight sizes. Read once
    per process: it names the model loaded from there, which does not change when the folder does later."""
    return _embedder_id(str(path))


@functools.lru_cache(maxsize=8)
def _embedder_id(path: str) -> str:
    p = Path(path)
    h = hashlib.sha256()
    for name in ("config.json", "modules.json", "config_sentence_transformers.json", "conversion.json"):
        f = p / name
        if f.is_file():
            h.update(name.encode() + f.read_bytes())
    for f in sorted(p.glob("*.safetensors")) + sorted(p.glob("*.bin")):
        h.update(f"{f.name}:{f.stat().st_size}".encode())
    return f"{p.name}:{h.hexdigest()[:12]}"


def embedding_dim(model) -> int:
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get())


def _prompt(model, name: str) -> str:
    return (getattr(model, "prompts", None) or {}).get(name, "")


def embed_passages(model, texts: list[str], batch_size: int = 32, progress: Progress | None = None) -> np.ndarray:
    dim = embedding_dim(model)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    prompt = _prompt(model, "passage")
    # longest first within fixed-size slices keeps padding small and the ETA honest
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), dim), dtype=np.float32)
    step = max(batch_size * 4, 64)
    t0 = time.perf_counter()
    for i in range(0, len(texts), step):
        idx = order[i:i + step]
        vecs = model.encode([texts[j] for j in idx], prompt=prompt, batch_size=batch_size,
                            normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        out[idx] = vecs.astype(np.float32)
        if progress:
            done = min(i + step, len(texts))
            rate = done / max(time.perf_counter() - t0, 1e-9)
            progress("embed", done, len(texts), (len(texts) - done) / rate)
    return out


def embed_query(model, text: str) -> np.ndarray:
    v = model.encode([text], prompt=_prompt(model, "query"), normalize_embeddings=True,
                     convert_to_numpy=True, show_progress_bar=False)
    return v[0].astype(np.float32)


def embed_queries(model, texts: list[str], batch_size: int = 32) -> np.ndarray:
    return model.encode(texts, prompt=_prompt(model, "query"), batch_size=batch_size, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


def describe(model, path: str | Path) -> dict:
    return {"id": embedder_id(path), "dim": int(embedding_dim(model)), "path": str(path)}
