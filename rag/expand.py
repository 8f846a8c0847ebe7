"""Query expansion by known abbreviations (특위 ↔ 특별위원회, AI ↔ 인공지능): the question's BM25 terms gain the
morphemes of the other form, so a passage written with the full form is found by a question using the short one and
the other way round. The table is prompts/abbreviations.toml (an administrator can add the office's own)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from index import korean

Table = dict[str, list[str]]


def load_abbreviations(path: Path) -> Table:
    """{short: [full, …]} from a TOML file's [abbreviations] table; a missing file is an empty table."""
    if not path.is_file():
        return {}
    raw = tomllib.loads(path.read_text(encoding="utf-8")).get("abbreviations", {})
    table: Table = {}
    for short, full in raw.items():
        forms = [full] if isinstance(full, str) else list(full)
        if not short.strip() or not all(isinstance(f, str) and f.strip() for f in forms):
            raise ValueError(f"{path}: '{short}' — 줄임말과 본딧말은 비어 있지 않은 글자여야 합니다 / "
                             f"abbreviations and full forms must be non-empty strings")
        table[short.strip()] = [f.strip() for f in forms]
    return table


def _present(form: str, text: str) -> bool:
    """A form occurs in the text; a Latin form only as a whole word ("AI" not inside "MAIL")."""
    if re.fullmatch(r"[A-Za-z0-9 ]+", form):
        return re.search(rf"(?<![A-Za-z]){re.escape(form)}(?![A-Za-z])", text, re.IGNORECASE) is not None
    return form.replace(" ", "") in text.replace(" ", "")


def aliases(question: str, terms: list[str], table: Table) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(the morphemes of the form the question uses, the morphemes of another form) for each abbreviation pair of
    which the question holds one side: "특위" → (("특위",), ("특별", "위원회"))."""
    have = set(terms)
    out = []
    for short, fulls in table.items():
        present = [f for f in [short, *fulls] if _present(f, question)]
        if not present:
            continue
        used = tuple(t for t in korean.terms(present[0]) if t in have)
        for other in [f for f in [short, *fulls] if f not in present]:
            alt = tuple(t for t in korean.terms(other) if t not in have)
            if used and alt:
                out.append((used, alt))
    return out


def alias_terms(pairs: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> list[str]:
    """The other forms' morphemes, once each: what BM25 searches besides the question's own terms."""
    return list(dict.fromkeys(t for _, alt in pairs for t in alt))
