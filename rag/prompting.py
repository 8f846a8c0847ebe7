"""Korean templates and fixed messages from prompts/ (text files an administrator can edit), validated at start-up.

The system prompt is the static part of every request: it comes first and is byte-identical between calls, so
llama.cpp reuses its KV cache and only the evidence and the question are prefilled.
"""
from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from pathlib import Path

REQUIRED = {
    "system.txt": set(),
    "answer.txt": {"evidence", "question"},
    "evidence_item.txt": {"n", "source", "location", "text"},
    "rewrite.txt": {"history", "question"},
}
MESSAGES = {
    "refusal": set(), "refusal_variants": None, "ai_notice": set(), "ai_label": set(), "no_evidence": set(),
    "warn_no_citation": set(), "warn_unsupported": set(), "warn_auto_citation": {"n"}, "warn_dropped_citation": {"n"}, "warn_injection_in_evidence": {"source"},
    "warn_pii_in_answer": {"types"}, "history_user": {"text"}, "history_assistant": {"text"},
}


class PromptError(ValueError):
    pass


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: str
    evidence_item: str
    rewrite: str
    messages: dict

    def msg(self, key: str, **kw: object) -> str:
        return self.messages[key].format(**kw)


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
    return Prompts(texts["system.txt"], texts["answer.txt"], texts["evidence_item.txt"], texts["rewrite.txt"], messages)
