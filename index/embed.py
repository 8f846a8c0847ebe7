"""The dense side: a sentence-transformers model loaded from a local folder, e5-style prompts."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

Progress = Callable[[str, int, int, float], None]       # (stage, done, total, eta_seconds)


PRECISIONS = ("auto", "fp32", "bf16")


def resolve_precision(setting: str) -> str:
    """The precision torch embeds at. "auto": bf16 where the CPU multiplies bf16 natively, fp32 everywhere else.
    Natively means AMX tiles the kernel grants (Intel Xeon 4th gen+; torch's own check asks the kernel for them) or
    the AVX512-BF16 dot-product instructions (AMD Zen 4+, Intel Cooper Lake+), which oneDNN uses for bf16 matrix
    products. Measured (whole ingest, over fp32): 1.4-1.7x on an AMX Xeon (raw embedding 2.1-2.4x), 1.7x on a Zen 4
    EPYC, recall@5 unchanged on both (eval/reports/embed-paths-bf16.md, embed-paths-zen4.md). On a CPU with neither,
    bf16 is emulated and was not measured: fp32."""
    if setting not in PRECISIONS:
        raise ValueError(f"embed_precision must be one of {', '.join(PRECISIONS)}, not {setting!r}")
    if setting != "auto":
        return setting
    return "bf16" if native_bf16() else "fp32"


def native_bf16() -> bool:
    """torch's own CPU checks: AMX tiles granted by the kernel, or AVX512-BF16. False with an older torch."""
    try:
        import torch
        return bool((torch.cpu._is_amx_tile_supported() and torch.cpu._init_amx())
                    or torch.cpu._is_avx512_bf16_supported())
    except Exception:                        # an older torch without these checks: the safe default
        return False


def _precision(model):
    """The context encode runs in: bf16 autocast (matrix products in bf16 on AMX; LayerNorm, softmax and pooling
    stay fp32, so vectors keep a cosine ≥ 0.9999 to fp32) or nothing."""
    if getattr(model, "rag_precision", "fp32") == "bf16":
        import torch
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@lru_cache(maxsize=4)
def load_embedder(path: str, backend: str = "torch", precision: str = "fp32"):
    """Load a sentence-transformers folder; never touches a model hub. `precision` (torch only): "fp32", "bf16" or
    "auto" (resolve_precision)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if backend == "onnx":                      # int8 ONNX Runtime (exported once into <path>/onnx/: index/onnx.py)
        from index.onnx import ensure_onnx_int8, load_onnx_embedder
        ensure_onnx_int8(path)
        model = load_onnx_embedder(path)
        model.rag_precision = "int8-onnx"
        return model
    if backend != "torch":
        raise ValueError(f"embed_backend must be 'torch' or 'onnx', not {backend!r}")
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    model.rag_precision = resolve_precision(precision)
    return model


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
        with _precision(model):
            vecs = model.encode([texts[j] for j in idx], prompt=prompt, batch_size=batch_size,
                                normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        out[idx] = vecs.astype(np.float32)
        if progress:
            done = min(i + step, len(texts))
            rate = done / max(time.perf_counter() - t0, 1e-9)
            progress("embed", done, len(texts), (len(texts) - done) / rate)
    if len(texts) >= step:
        _trim_heap()
    return out


def _trim_heap() -> None:
    """Hand the heap memory freed by a run of batches back to the OS. glibc keeps it otherwise, and a serving process
    that embedded one upload would carry ~200 MB of dead activations for the rest of its life (measured with
    eval/latency.py's memory steps; tests/test_index.py). A no-op where the C library has no malloc_trim."""
    import ctypes
    import ctypes.util
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def embed_query(model, text: str) -> np.ndarray:
    """One question's vector, at the model's precision (the same path as embed_queries)."""
    return embed_queries(model, [text])[0]


def embed_queries(model, texts: list[str], batch_size: int = 32) -> np.ndarray:
    with _precision(model):
        return model.encode(texts, prompt=_prompt(model, "query"), batch_size=batch_size, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


def describe(model, path: str | Path) -> dict:
    """The embedder as a manifest records it. Only id and dim decide compatibility: fp32 and bf16 vectors of one model
    agree to a cosine ≥ 0.9999, so a change of precision re-embeds nothing; it is recorded for provenance."""
    return {"id": embedder_id(path), "dim": int(embedding_dim(model)), "path": str(path),
            "precision": getattr(model, "rag_precision", "fp32")}
