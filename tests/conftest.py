"""Shared fixtures: the real default models (provisioned by scripts/setup.sh) and real indexes built once per session."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = SHARED / "corpus" / "seoul-ai-policy"
SAMPLES = ROOT / "samples"


def needs_seed():
    return pytest.mark.skipif(not SEED.is_dir(), reason=f"seed corpus not found at {SEED} (../shared absent)")


@pytest.fixture(scope="session")
def base_cfg(tmp_path_factory):
    """A Config whose logs and indexes live in a temp dir, with the real default model cache."""
    from rag.config import load_config
    real = load_config(env={})
    data = tmp_path_factory.mktemp("data")
    return load_config(env={}, data_dir=data, model_cache_dir=real.models_dir, index_dir=data / "index")


@pytest.fixture(scope="session")
def embedder(base_cfg):
    from rag.runtime import open_embedder
    return open_embedder(base_cfg)          # (model, path)


@pytest.fixture(scope="session")
def seed_index_dir(base_cfg, embedder, tmp_path_factory):
    if not SEED.is_dir():
        pytest.skip(f"seed corpus not found at {SEED} (../shared absent)")
    from index.store import update_index
    from rag.runtime import pii_screen
    d = tmp_path_factory.mktemp("seed-index")
    model, path = embedder
    rep = update_index(d, [SEED], model, path, chunk_tokens=base_cfg.chunk_tokens,
                       overlap=base_cfg.chunk_overlap_sentences, screen=pii_screen(base_cfg.document_pii))
    assert rep.ok and rep.chunks_total > 50
    return d


@pytest.fixture(scope="session")
def generator(base_cfg):
    from rag.runtime import open_generator
    return open_generator(base_cfg)


@pytest.fixture(scope="session")
def seed_assistant(base_cfg, seed_index_dir, embedder, generator):
    from dataclasses import replace

    from rag.runtime import open_assistant, open_index
    from rag.retrieve import Retriever
    cfg = replace(base_cfg, index_dir=seed_index_dir)
    model, path = embedder
    retriever = Retriever(open_index(cfg, model, path), model, cfg.fusion, cfg.fusion_weight_bm25, cfg.candidates)
    return open_assistant(cfg, generator=generator, retriever=retriever)


@pytest.fixture
def sample_copy(tmp_path):
    d = tmp_path / "docs"
    shutil.copytree(SAMPLES, d)
    return d


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright, one per browser-test module (tests/test_ui_browser.py chromium_browser)."""
    from test_ui_browser import chromium_browser
    with chromium_browser() as b:
        yield b
