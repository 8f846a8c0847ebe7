"""Wiring: from a Config to the loaded parts (embedder, index, retriever, generator, assistant). No globals."""
from __future__ import annotations

from pathlib import Path

from index.embed import describe, load_embedder
from index.store import Index, expected_settings, load_index
from rag.config import Config
from rag.models import embedder_path, generator_path


def open_embedder(cfg: Config):
    path = embedder_path(cfg)
    return load_embedder(str(path), cfg.embed_backend), path


def open_index(cfg: Config, embedder=None, path: Path | None = None) -> Index:
    if embedder is None:
        embedder, path = open_embedder(cfg)
    expected = expected_settings(describe(embedder, path), cfg.chunk_tokens, cfg.chunk_overlap_sentences,
                                 cfg.faiss_kind)
    return load_index(cfg.resolved_index_dir, expected)


def open_retriever(cfg: Config):
    from rag.retrieve import Retriever
    embedder, path = open_embedder(cfg)
    index = open_index(cfg, embedder, path)
    return Retriever(index, embedder, cfg.fusion, cfg.fusion_weight_bm25, cfg.candidates)


def open_generator(cfg: Config):
    if cfg.llm_url:
        from rag.generate import OpenAIGenerator
        return OpenAIGenerator(cfg.llm_url, cfg.llm_api_model)
    from rag.generate import LlamaCppGenerator
    return LlamaCppGenerator(generator_path(cfg), cfg.n_ctx, cfg.n_threads)


def open_assistant(cfg: Config, generator=None, retriever=None):
    from rag.answer import Assistant
    from rag.prompting import load_prompts
    prompts = load_prompts(cfg.prompts_dir)          # validate templates before loading anything heavy
    return Assistant(cfg, retriever or open_retriever(cfg), generator or open_generator(cfg), prompts)
