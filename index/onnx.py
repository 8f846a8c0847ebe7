"""The one-time ONNX export and int8 quantization of the embedder, and loading it (opt-in: embed_backend = "onnx",
measured in eval/reports/ingest-benchmark.md). Kept apart from index/embed.py, which the per-question path imports."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

#
# The transformer of a sentence-transformers folder exported once to ONNX and quantized dynamically to int8 (ONNX
# Runtime's quantizer with the settings of optimum's "avx2" dynamic config: symmetric per-channel int8 weights,
# uint8 activations quantized at run time). Tokenization, pooling, normalization and prompts stay sentence-
# transformers' own: only the module that maps (input_ids, attention_mask) to token embeddings is replaced.
# sentence-transformers' own backend="onnx" needs optimum-onnx, whose only release pins transformers<4.58, so it
# cannot be installed beside transformers 5; this path needs only onnxruntime and onnx.
# Measured in eval/reports/ingest-benchmark.md (eval/bench_ingest.py).

ONNX_INT8_NAME = "model_qint8_avx2.onnx"            # inside <model folder>/onnx/
ONNX_EXPORT_VERSION = "1"
ONNX_OPSET = 17


def _onnx_sources(model_dir: Path) -> dict:
    """What an exported graph depends on: the weight and config files (name -> size, mtime)."""
    out = {}
    for name in ("config.json", "sentence_bert_config.json", "model.safetensors", "pytorch_model.bin"):
        f = model_dir / name
        if f.is_file():
            st = f.stat()
            out[name] = [st.st_size, st.st_mtime_ns]
    return out


def export_onnx(model_dir: str | Path, out_file: str | Path) -> Path:
    """fp32 ONNX graph of the folder's transformer: (input_ids, attention_mask) -> last_hidden_state, dynamic batch
    and sequence axes. Uses the module sentence-transformers itself loads, so outputs match the torch path."""
    import torch
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    hf = st[0].auto_model.eval()

    class _Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state

    feats = st.tokenizer(["passage: 예시 문장입니다.", "query: 짧은 질문"], padding=True,
                         return_tensors="pt")
    args = (feats["input_ids"], feats["attention_mask"])
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    axes = {"batch": 0, "seq": 1}
    import warnings
    with torch.no_grad(), warnings.catch_warnings():
        # the tracer warns about shape checks it freezes (always-true for an encoder given its attention mask)
        warnings.simplefilter("ignore")
        torch.onnx.export(_Hidden(hf), args, str(out_file), dynamo=False, opset_version=ONNX_OPSET,
                          input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                          dynamic_axes={n: {v: k for k, v in axes.items()}
                                        for n in ("input_ids", "attention_mask", "last_hidden_state")})
    return out_file


def quantize_onnx_int8(src: str | Path, dst: str | Path) -> Path:
    """Dynamic int8 quantization (no calibration data): int8 symmetric per-channel weights, uint8 activations."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(str(src), str(dst), per_channel=True, reduce_range=False, weight_type=QuantType.QInt8,
                     extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
    return Path(dst)


def existing_onnx_int8(model_dir: str | Path) -> Path | None:
    """The int8 export in `<model_dir>/onnx/` if it is there and current (its stamp names the folder's present source
    files), else None. Reads only: the question path uses it to never write into the model cache."""
    target = Path(model_dir) / "onnx" / ONNX_INT8_NAME
    try:
        old = json.loads(target.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    current = target.is_file() and old.get("sources") == _onnx_sources(Path(model_dir)) and \
        old.get("export_version") == ONNX_EXPORT_VERSION
    return target if current else None


def ensure_onnx_int8(model_dir: str | Path) -> Path:
    """`<model_dir>/onnx/model_qint8_avx2.onnx`, exported and quantized once.

    Built in a temporary directory beside it and renamed into place, so the file is either absent or complete; a
    stamp (`model_qint8_avx2.json`) records the source files it was made from, and a changed source is exported
    again. A lock file serializes concurrent callers. Needs onnxruntime and onnx (and torch for the export).
    """
    import shutil
    import tempfile

    from filelock import FileLock

    model_dir = Path(model_dir)
    out_dir = model_dir / "onnx"
    target = out_dir / ONNX_INT8_NAME
    stamp_file = target.with_suffix(".json")
    import onnxruntime
    import torch
    stamp = {"export_version": ONNX_EXPORT_VERSION, "opset": ONNX_OPSET, "sources": _onnx_sources(model_dir),
             "quantization": "dynamic, int8 symmetric per-channel weights, uint8 activations",
             "torch": torch.__version__, "onnxruntime": onnxruntime.__version__}

    def current() -> bool:
        return existing_onnx_int8(model_dir) is not None

    if current():
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out_dir / ".export.lock")):
        if current():
            return target
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
        try:
            export_onnx(model_dir, tmp / "model.onnx")
            quantize_onnx_int8(tmp / "model.onnx", tmp / ONNX_INT8_NAME)
            (tmp / stamp_file.name).write_text(json.dumps(stamp, indent=1), encoding="utf-8")
            os.replace(tmp / ONNX_INT8_NAME, target)
            os.replace(tmp / stamp_file.name, stamp_file)      # the stamp last: it vouches for the file
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _ort_module(onnx_file: str | Path, config, threads: int | None, arena: bool = True):
    import onnxruntime as ort
    import torch

    class OrtTransformer(torch.nn.Module):
        """Stands in for the Hugging Face model inside sentence-transformers' Transformer module."""

        def __init__(self):
            super().__init__()
            self.config = config
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads or torch.get_num_threads()
            opts.inter_op_num_threads = 1
            # no busy-waiting between operators: the cores are shared with the generator and other work
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            # the memory arena keeps the largest batch's working memory for the life of the process; turned off,
            # ingest was slower and peaked higher (eval/reports/embed-paths.md), so it stays on by default
            opts.enable_cpu_mem_arena = arena
            self.session = ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])

        def forward(self, input_ids, attention_mask=None, **_ignored):
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            out = self.session.run(["last_hidden_state"], {"input_ids": input_ids.cpu().numpy().astype(np.int64),
                                                           "attention_mask": attention_mask.cpu().numpy().astype(
                                                               np.int64)})[0]
            return {"last_hidden_state": torch.from_numpy(out)}

    return OrtTransformer()


def use_onnx(model, onnx_file: str | Path, threads: int | None = None, arena: bool = True):
    """Make a loaded SentenceTransformer run its transformer in ONNX Runtime (in place; returns the model)."""
    module = model[0]
    module.model = _ort_module(onnx_file, module.model.config, threads, arena)
    return model


def load_onnx_embedder(path: str | Path, onnx_file: str | Path | None = None, threads: int | None = None,
                       arena: bool = True):
    """A SentenceTransformer folder with its transformer in ONNX Runtime (default: the int8 file in onnx/)."""
    onnx_file = Path(onnx_file) if onnx_file else Path(path) / "onnx" / ONNX_INT8_NAME
    if not onnx_file.is_file():
        raise FileNotFoundError(f"ONNX 모델 파일이 없습니다 / no ONNX model at {onnx_file}; "
                                f"run index.embed.ensure_onnx_int8({str(path)!r}) first")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    return use_onnx(model, onnx_file, threads, arena)
