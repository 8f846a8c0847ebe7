"""Wiring: from a Config to the loaded parts (embedder, index, retriever, generator, assistant) for every caller —
the CLI, the browser chat, eval. The one place where config fields become arguments. No globals."""
from __future__ import annotations

import sys
from pathlib import Path

from index.embed import describe, load_embedder
from index.store import Index, UpdateReport, current_generation, expected_settings, load_index, update_index
from rag.config import Config
from rag.models import embedder_path, generator_path


def embed_backend_for(cfg: Config, path: Path, may_export: bool = False) -> str:
    """The backend to load. With embed_backend = "onnx" only a writer (`rag index`, may_export) makes the one-time
    export into the model cache; a reader (search, ask, serve, doctor) uses a current export if there is one, else
    torch — the same weights in float32, so the index's embedder identity still matches — and says so on stderr."""
    if cfg.embed_backend != "onnx" or may_export:
        return cfg.embed_backend
    from index.onnx import existing_onnx_int8
    if existing_onnx_int8(path) is not None:
        return "onnx"
    sys.stderr.write("안내 / notice: ONNX 임베딩 파일이 아직 없어 이번에는 torch로 임베딩합니다 (`rag index`가 만듭니다) / "
                     "no ONNX export of the embedder yet: using torch this time (`rag index` creates it)\n")
    return "torch"


def open_embedder(cfg: Config, *, may_export: bool = False):
    """(model, folder). Only may_export=True (a command that writes an index) may write into the model cache."""
    from index import korean
    korean.preload()                   # every command that embeds also tokenizes: both load at once
    path = embedder_path(cfg)
    return load_embedder(str(path), embed_backend_for(cfg, path, may_export), cfg.embed_precision), path


def pii_screen(policy: str):
    """The guard as index/ needs it (index/ does not import rag/): personal data at medium or above, in documents."""
    from index.pii import Screen
    from rag import guard

    def find(text: str) -> list[str]:
        return [f.type for f in guard.scan(text)
                if f.type not in guard.WARNING_TYPES and guard.at_least(f.severity, "medium")]

    return Screen(policy, find, guard.mask, guard.TYPE_LABELS)


def index_options(cfg: Config) -> dict:
    """Config → the settings update_index() takes: a new index setting is added here, once."""
    return {"chunk_tokens": cfg.chunk_tokens, "overlap": cfg.chunk_overlap_sentences, "faiss_kind": cfg.faiss_kind,
            "max_bytes": int(cfg.max_file_mb * 2**20), "batch_size": cfg.embed_batch_size,
            "screen": pii_screen(cfg.document_pii)}


def expected_index(cfg: Config, embedder, path: Path) -> dict:
    """What an index must have been built with to be read with this config and embedder."""
    return expected_settings(describe(embedder, path), cfg.chunk_tokens, cfg.chunk_overlap_sentences, cfg.faiss_kind)


def index_files(cfg: Config, paths: list, embedder=None, path: Path | None = None, *, index_dir: Path | None = None,
                **kw) -> UpdateReport:
    """Index `paths` into cfg's index (or `index_dir`) with cfg's settings; kw: rebuild, prune, progress."""
    if embedder is None:
        embedder, path = open_embedder(cfg, may_export=True)
    return update_index(index_dir or cfg.resolved_index_dir, paths, embedder, path, **{**index_options(cfg), **kw})


def open_index(cfg: Config, embedder=None, path: Path | None = None, index_dir: Path | None = None) -> Index:
    """An index for reading: the question side (embedder, tokenizer) must match; the manifest says the rest."""
    if embedder is None:
        embedder, path = open_embedder(cfg)
    needed = {k: v for k, v in expected_index(cfg, embedder, path).items() if k in ("embedder", "tokenizer")}
    return load_index(index_dir or cfg.resolved_index_dir, needed)


def make_retriever(cfg: Config, index: Index, embedder, fusion: str | None = None):
    import faiss

    from rag.expand import load_abbreviations
    from rag.retrieve import Retriever
    faiss.omp_set_num_threads(cfg.faiss_threads)    # process-wide; every reader is made here
    return Retriever(index, embedder, fusion or cfg.fusion, cfg.fusion_weight_bm25, cfg.candidates,
                     abbreviations=load_abbreviations(cfg.prompts_dir / "abbreviations.toml") if cfg.abbreviations
                     else {}, stream_dense_bytes=cfg.dense_stream_mb << 20 if cfg.dense_stream_mb else None)


def fresh_retriever(cfg: Config, retriever):
    """`retriever` itself while its generation is still the live one, else a new retriever (same embedder) over the
    generation another process (or the admin tab) has written since: a long-running server follows `rag index`
    without a restart. One small file read per call."""
    live = current_generation(cfg.resolved_index_dir)
    if live is None or live.name == Path(retriever.index.path).name:
        return retriever
    path = Path(retriever.index.manifest["embedder"]["path"])
    return make_retriever(cfg, open_index(cfg, retriever.embedder, path), retriever.embedder)


def open_retriever(cfg: Config):
    embedder, path = open_embedder(cfg)
    return make_retriever(cfg, open_index(cfg, embedder, path), embedder)


def open_generator(cfg: Config):
    if cfg.llm_url:
        from rag.generate import OpenAIGenerator
        return OpenAIGenerator(cfg.llm_url, cfg.llm_api_model)
    from rag.errors import ModelProvisionError
    from rag.generate import LlamaCppGenerator
    from rag.selfcheck import missing_cpu_flags
    missing = missing_cpu_flags()
    if missing:
        raise ModelProvisionError(
            f"설치된 llama-cpp-python은 이 CPU에 없는 명령({', '.join(missing)})으로 빌드되었습니다. "
            f"`bash scripts/setup.sh`로 이 CPU에 맞게 다시 빌드하십시오 / the installed llama-cpp-python was built for "
            f"instructions this CPU lacks ({', '.join(missing)}): rerun `bash scripts/setup.sh` to rebuild it here")
    return LlamaCppGenerator(generator_path(cfg), cfg.n_ctx, cfg.n_threads, use_mmap=cfg.llm_mmap)


def open_assistant(cfg: Config, generator=None, retriever=None):
    from rag.answer import Assistant
    from rag.prompting import load_prompts
    prompts = load_prompts(cfg.prompts_dir)          # validate templates before loading anything heavy
    return Assistant(cfg, retriever or open_retriever(cfg), generator or open_generator(cfg), prompts)
