"""mask(): personal data replaced by typed placeholders; markings and injection stay (they are warnings)."""
from __future__ import annotations

from rag.guard.policy import PLACEHOLDERS, WARNING_TYPES, at_least
from rag.guard.scan import scan
from rag.records import Finding


def mask(text: str, findings: list[Finding] | None = None, min_severity: str = "medium") -> str:
    """Replace personal data at or above `min_severity` with typed placeholders ([전화번호] ...).

    CONFIDENTIAL and INJECTION spans are warnings and stay. With `findings=None` the text is scanned
    (repeatedly, until nothing new is found), so mask(mask(t)) == mask(t).
    """
    if findings is not None:
        return _apply_mask(text, findings, min_severity)
    out = text
    for _ in range(4):
        nxt = _apply_mask(out, scan(out), min_severity)
        if nxt == out:
            break
        out = nxt
    return out


def _apply_mask(text: str, findings: list[Finding], min_severity: str) -> str:
    parts = []
    pos = 0
    for f in sorted(findings, key=lambda f: f.start):
        if f.type in WARNING_TYPES or f.type not in PLACEHOLDERS or not at_least(f.severity, min_severity):
            continue
        if f.start < pos:
            continue
        parts.append(text[pos:f.start])
        parts.append(PLACEHOLDERS[f.type])
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)
