"""The generator behind one small interface, two implementations.

- `LlamaCppGenerator`: in-process llama-cpp-python (default). A llama.cpp context is not thread-safe, so every
  request goes through one FIFO queue served by one worker thread: concurrent callers are served in order, none dropped.
- `OpenAIGenerator`: any OpenAI-compatible server by URL (`python -m llama_cpp.server`, llama.cpp's server, vLLM).

Both speak OpenAI chat messages and stream text pieces; a `threading.Event` cancels a stream.
"""
from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.errors import GeneratorError, ModelProvisionError

Messages = list[dict[str, str]]


@dataclass
class Stats:
    """Filled while a stream runs: queue wait, time to first token, token counts."""
    queue_wait_ms: float = 0.0
    ttft_ms: float = 0.0
    total_ms: float = 0.0
    prompt_tokens: int = 0
    prefill_tokens: int = 0               # prompt tokens actually evaluated: the prefix reused from the KV cache excluded
    completion_tokens: int = 0
    cancelled: bool = False
    finish_reason: str | None = None      # "stop" | "length" (cut at max_tokens) | None (cancelled or unknown)
    choice_margin: float | None = None    # candidate choice: log-likelihood lead of the chosen answer (None: not used)


_DONE = object()


class LlamaCppGenerator:
    name = "llama-cpp-python"

    def __init__(self, model_path: Path, n_ctx: int = 4096, n_threads: int = 2, seed: int = 0, use_mmap: bool = True):
        from llama_cpp import Llama
        self.model_path = Path(model_path)
        try:
            # chat_format=None: llama-cpp-python takes the chat template from the GGUF's own metadata
            self.llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                             n_batch=512, seed=seed, verbose=False, use_mmap=use_mmap)
        except (ValueError, RuntimeError, OSError) as e:
            raise ModelProvisionError(
                f"생성 모델을 불러올 수 없습니다 / cannot load the generator model {model_path}: {e}. "
                f"파일이 손상되었거나 GGUF가 아닙니다 / the file is corrupt or not a GGUF.") from None
        self.n_ctx = n_ctx
        self._formatter = None
        self._jobs: queue.Queue = queue.Queue()
        self._worker = threading.Thread(target=self._serve, name="llama-worker", daemon=True)
        self._worker.start()

    @property
    def chat_template(self) -> str | None:
        return self.llm.metadata.get("tokenizer.chat_template")

    def prompt_tokens(self, messages: Messages) -> list[int]:
        """The tokens llama-cpp-python's chat handler evaluates for `messages` (the GGUF's own template)."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
            m = self.llm._model
            eos, bos = self.llm.token_eos(), self.llm.token_bos()
            self._formatter = Jinja2ChatFormatter(template=self.chat_template or "",
                                                  eos_token=m.token_get_text(eos) if eos != -1 else "",
                                                  bos_token=m.token_get_text(bos) if bos != -1 else "")
        r = self._formatter(messages=messages)
        return self.llm.tokenize(r.prompt.encode("utf-8"), add_bos=not r.added_special, special=True)

    def _reused(self, tokens: list[int]) -> int:
        """How many leading `tokens` the KV cache already holds (as llama-cpp-python's generate() reuses them)."""
        common = 0
        for a, b in zip(self.llm._input_ids, tokens):
            if a != b:
                break
            common += 1
        return common - 1 if common and common == len(tokens) else common

    def _score(self, messages: Messages, prefix: str, continuations: list[str]) -> list[tuple[float, int]]:
        """(sum of log-probabilities, token count) of each continuation after `messages` + `prefix` (the start of
        the assistant's turn). The shared prompt is evaluated once, reusing the KV cache; each continuation is one
        batch decode with logits for all its positions, then dropped from the cache again."""
        import numpy as np
        from llama_cpp import _internals
        llm = self.llm
        base = self.prompt_tokens(messages) + llm.tokenize(prefix.encode("utf-8"), add_bos=False, special=False)
        keep = self._reused(base)
        llm.n_tokens = keep
        llm.eval(base[keep:-1])                       # everything but the last prompt token stays cached
        n0 = llm.n_tokens
        batch = _internals.LlamaBatch(n_tokens=256, embd=0, n_seq_max=1)
        out = []
        for cont in continuations:
            toks = llm.tokenize(cont.encode("utf-8"), add_bos=False, special=False)
            seq = [base[-1]] + toks
            llm._ctx.kv_cache_seq_rm(-1, n0, -1)
            batch.set_batch(batch=seq, n_past=n0, logits_all=True)
            llm._ctx.decode(batch)
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(seq), llm.n_vocab())).astype(np.float64)
            rows = logits[:-1]
            mx = rows.max(axis=1, keepdims=True)
            logz = mx[:, 0] + np.log(np.exp(rows - mx).sum(axis=1))
            out.append((float(sum(rows[i, t] - logz[i] for i, t in enumerate(toks))), len(toks)))
        llm._ctx.kv_cache_seq_rm(-1, n0, -1)
        llm.n_tokens = n0                             # the cache holds the prompt but its last token
        return out

    def score(self, messages: Messages, prefix: str, continuations: list[str], stats: Stats | None = None
              ) -> list[tuple[float, int]]:
        """Log-likelihood of each continuation (see _score), through the same FIFO queue as generation."""
        return self._call(messages, {"_score": (prefix, continuations)}, stats if stats is not None else Stats())

    def _call(self, messages: Messages | None, params: dict, stats: Stats):
        """One non-streaming job through the FIFO queue: its single result, or its error raised here."""
        out: queue.Queue = queue.Queue()
        self._jobs.put((messages, params, out, None, stats, time.perf_counter()))
        result = None
        while True:
            item = out.get()
            if item is _DONE:
                return result
            if isinstance(item, Exception):
                raise item
            result = item

    def run_exclusive(self, fn):
        """fn(llm) run by the worker between two requests (eval's raw-library baselines), its result returned."""
        return self._call(None, {"_call": fn}, Stats())

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            messages, params, out, cancel, stats, enqueued = job
            stats.queue_wait_ms = (time.perf_counter() - enqueued) * 1000
            t0 = time.perf_counter()
            try:
                if cancel is not None and cancel.is_set():
                    stats.cancelled = True
                    continue
                if "_call" in params:
                    out.put(params["_call"](self.llm))
                    continue
                tokens = self.prompt_tokens(messages)
                stats.prompt_tokens = len(tokens)
                stats.prefill_tokens = len(tokens) - self._reused(tokens)
                if "_score" in params:
                    out.put(self._score(messages, *params["_score"]))
                    continue
                stream = self.llm.create_chat_completion(messages=messages, stream=True, **params)
                first = True
                n = 0
                for part in stream:
                    choice = part["choices"][0]
                    stats.finish_reason = choice.get("finish_reason") or stats.finish_reason
                    delta = choice.get("delta", {}).get("content") or ""
                    if delta:
                        if first:
                            stats.ttft_ms = (time.perf_counter() - t0) * 1000
                            first = False
                        n += 1
                        out.put(delta)
                    if cancel is not None and cancel.is_set():
                        stats.cancelled = True
                        break
                stats.completion_tokens = n
            except Exception as e:        # noqa: BLE001 - handed to the caller, never swallowed
                out.put(GeneratorError(f"생성 중 오류 / generation failed: {type(e).__name__}: {e}"))
            finally:
                stats.total_ms = (time.perf_counter() - t0) * 1000
                out.put(_DONE)
                self._jobs.task_done()

    def stream(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, cancel: threading.Event | None = None,
               stats: Stats | None = None) -> Iterator[str]:
        stats = stats if stats is not None else Stats()
        out: queue.Queue = queue.Queue()
        params = {"max_tokens": max_tokens, "temperature": temperature, "stop": stop or [], "seed": 0}
        self._jobs.put((messages, params, out, cancel, stats, time.perf_counter()))
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def raw_completion(self, messages: Messages, max_tokens: int = 256, temperature: float = 0.0) -> dict:
        """The bare llama-cpp-python call (no queue), for the latency baseline in eval."""
        return self.llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=temperature,
                                               seed=0)


class OpenAIGenerator:
    name = "openai-compatible"

    def __init__(self, base_url: str, model: str = "default", timeout: float = 600.0, api_key: str | None = None):
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model
        self.timeout = timeout
        self.api_key = api_key

    def stream(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, cancel: threading.Event | None = None,
               stats: Stats | None = None) -> Iterator[str]:
        import httpx
        stats = stats if stats is not None else Stats()
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                "stream": True, "stream_options": {"include_usage": True}, "seed": 0}
        if stop:
            body["stop"] = stop
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        t0 = time.perf_counter()
        n = 0
        try:
            with httpx.Client(timeout=self.timeout, trust_env=False) as client, \
                    client.stream("POST", f"{self.base_url}/chat/completions", json=body, headers=headers) as r:
                if r.status_code != 200:
                    r.read()
                    raise GeneratorError(f"생성 서버 오류 / generator server error {r.status_code}: {r.text[:200]}")
                for line in r.iter_lines():
                    if cancel is not None and cancel.is_set():
                        stats.cancelled = True
                        break
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    part = json.loads(data)
                    if part.get("usage"):
                        stats.prompt_tokens = part["usage"].get("prompt_tokens", 0)
                        stats.completion_tokens = part["usage"].get("completion_tokens", n)
                    for choice in part.get("choices") or []:
                        stats.finish_reason = choice.get("finish_reason") or stats.finish_reason
                        delta = (choice.get("delta") or {}).get("content") or ""
                        if delta:
                            if not n:
                                stats.ttft_ms = (time.perf_counter() - t0) * 1000
                            n += 1
                            yield delta
        except httpx.HTTPError as e:
            raise GeneratorError(f"생성 서버에 연결할 수 없습니다 / cannot reach the generator server "
                                 f"{self.base_url}: {type(e).__name__}") from None
        finally:
            stats.total_ms = (time.perf_counter() - t0) * 1000
            stats.completion_tokens = stats.completion_tokens or n


def complete(gen, messages: Messages, **kw) -> str:
    return "".join(gen.stream(messages, **kw))
