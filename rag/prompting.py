"""Korean templates, worked examples and fixed messages from prompts/ (text files an administrator can edit),
validated at start-up.

The system prompt and the worked examples (examples.toml, rendered as earlier user/assistant turns) are the static
part of every request: they come first and are byte-identical between calls, so llama.cpp reuses its KV cache and
only the evidence and the question are prefilled.
"""
from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path

REQUIRED = {
    "system.txt": set(),
    "answer.txt": {"evidence", "question"},
    "evidence_item.txt": {"n", "source", "location", "text"},
    "rewrite.txt": {"history", "question"},
    "quote_rule.txt": set(),
    "choice.txt": set(),
}
MESSAGES = {
    "refusal": set(), "refusal_variants": None, "ai_notice": set(), "ai_label": set(), "no_evidence": set(),
    "warn_unsupported": set(), "warn_injection_in_evidence": {"source"},
    "warn_pii_in_answer": {"types"}, "history_user": {"text"}, "history_assistant": {"text"},
    "warn_truncated": {"max_tokens"}, "cli_withdrawn": set(), "cli_final": set(), "cli_refused": set(),
    "cli_generation_failed": {"reason"}, "quote_format": {"quote", "answer"}, "quote_none": set(),
    "choice_prefix": set(), "choice_answer": {"answer", "n"}, "extractive_answer": {"quote", "n"},
    "warn_extractive": set(), "question_too_long": {"tokens", "limit"},
    "condition_absent": {"names"}, "condition_unmet": {"names"}, "related_evidence": {"quote", "n"},
}


class PromptError(ValueError):
    pass


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@dataclass(frozen=True)
class Example:
    question: str
    answer: str
    evidence: tuple[dict, ...]          # {"source", "location", "text"}
    quote: str = ""                     # the sentence of its evidence that supports the answer ("" for a refusal)


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: str
    evidence_item: str
    rewrite: str
    messages: dict
    examples: tuple[Example, ...] = ()
    quote_rule: str = ""                # added to the system prompt for the quote-first strategy
    choice: str = ""                    # the instruction after the question for candidate choice

    def msg(self, key: str, **kw: object) -> str:
        return self.messages[key].format(**kw)


def _load_examples(f: Path) -> tuple[Example, ...]:
    """examples.toml: [[example]] question, answer, evidence = [{source, location, text}, ...]; every [n] in an
    answer must point into its own evidence."""
    if not f.is_file():
        raise PromptError(f"프롬프트 파일이 없습니다 / prompt file missing: {f}")
    try:
        raw = tomllib.loads(f.read_text(encoding="utf-8")).get("example", [])
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise PromptError(f"{f}: 읽을 수 없습니다 / cannot read: {e}") from None
    out = []
    for i, ex in enumerate(raw, 1):
        where = f"{f}: 예시 {i} / example {i}"
        if not isinstance(ex, dict) or not all(isinstance(ex.get(k), str) and ex[k].strip()
                                               for k in ("question", "answer")):
            raise PromptError(f"{where}: question과 answer가 필요합니다 / needs question and answer")
        ev = ex.get("evidence")
        if not isinstance(ev, list) or not ev or not all(
                isinstance(e, dict) and isinstance(e.get("source"), str) and isinstance(e.get("text"), str)
                and isinstance(e.get("location", ""), str) for e in ev):
            raise PromptError(f"{where}: evidence는 {{source, location, text}} 목록이어야 합니다 / "
                              f"evidence must be a list of {{source, location, text}}")
        bad = [n for n in map(int, re.findall(r"\[(\d{1,3})\]", ex["answer"])) if not 1 <= n <= len(ev)]
        if bad:
            raise PromptError(f"{where}: 답의 [{bad[0]}]에 해당하는 자료가 없습니다 / marker [{bad[0]}] points nowhere")
        quote = ex.get("quote", "")
        if not isinstance(quote, str) or (quote and not any(quote in e["text"] for e in ev)):
            raise PromptError(f"{where}: quote는 evidence 안의 문장 그대로여야 합니다 / quote must be verbatim from its "
                              f"evidence")
        out.append(Example(ex["question"], ex["answer"],
                           tuple({"source": e["source"], "location": e.get("location", ""), "text": e["text"]}
                                 for e in ev), quote))
    return tuple(out)


def load_prompts(prompts_dir: Path) -> Prompts:
    """Read and validate every template; a missing file or a wrong placeholder is a clear error naming it."""
    prompts_dir = Path(prompts_dir)
    texts = {}
    for name, need in REQUIRED.items():
        f = prompts_dir / name
        if not f.is_file():
            raise PromptError(f"프롬프트 파일이 없습니다 / prompt file missing: {f}")
        text = f.read_text(encoding="utf-8").strip("\n")
        try:
            got = _fields(text)
        except ValueError as e:
            raise PromptError(f"{f}: 중괄호 형식 오류 / bad braces: {e}") from None
        if got != need:
            raise PromptError(f"{f}: 자리표시자가 맞지 않습니다 / placeholders must be exactly "
                              f"{sorted(need)}, found {sorted(got)}")
        texts[name] = text
    f = prompts_dir / "messages.toml"
    try:
        messages = tomllib.loads(f.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise PromptError(f"{f}: 읽을 수 없습니다 / cannot read: {e}") from None
    for key, need in MESSAGES.items():
        if key not in messages:
            raise PromptError(f"{f}: 항목 '{key}'이(가) 없습니다 / missing key")
        if need is not None and _fields(messages[key]) != need:
            raise PromptError(f"{f}: '{key}'의 자리표시자는 {sorted(need)}여야 합니다 / placeholders must be {sorted(need)}")
    examples = _load_examples(prompts_dir / "examples.toml")
    return Prompts(texts["system.txt"], texts["answer.txt"], texts["evidence_item.txt"], texts["rewrite.txt"], messages,
                   examples, texts["quote_rule.txt"], texts["choice.txt"])
