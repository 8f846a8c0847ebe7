"""scan(): every detector on the normalized views, candidates resolved into non-overlapping findings with spans
in the original text."""
from __future__ import annotations

from rag.guard.detectors import (_find_account, _find_address, _find_brn, _find_card, _find_confidential,
                                 _find_email, _find_license, _find_passport, _find_person, _find_phone, _find_rrn,
                                 _find_sensitive)
from rag.guard.injection import _find_injection
from rag.guard.normalize import _views, digit_view
from rag.guard.policy import _PRIORITY, SEVERITY_RANK, WARNING_TYPES
from rag.records import Finding

# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------
_DETECTORS = (_find_rrn, _find_passport, _find_license, _find_brn, _find_phone, _find_email, _find_account,
              _find_card, _find_address, _find_person, _find_confidential, _find_sensitive)
_NUMBER_DETECTORS = (_find_rrn, _find_phone, _find_account, _find_card)


def _candidates(text: str) -> list[Finding]:
    normal, compact = _views(text)
    found: list[Finding] = []
    for det in _DETECTORS:
        for typ, s, e, sev in det(normal.text):
            if e > s:
                os_, oe = normal.orig(s, e)
                found.append(Finding(typ, os_, oe, sev))
    digits = digit_view(normal)
    if digits is not None:                  # numbers dictated in Korean digit words or one digit per space
        for det in _NUMBER_DETECTORS:
            for typ, s, e, sev in det(digits.text):
                if e > s:
                    found.append(Finding(typ, *digits.orig(s, e), sev))
    for os_, oe in _find_injection(normal, compact):
        found.append(Finding("INJECTION", os_, oe, "high"))
    return found


def _overlaps(a: Finding, b: Finding) -> bool:
    return a.start < b.end and b.start < a.end


def _resolve(cands: list[Finding]) -> list[Finding]:
    """Non-overlapping findings: severity, then type specificity, then length decide.

    A warning span (CONFIDENTIAL, INJECTION) never hides personal data: where the two overlap the
    warning is trimmed around the personal-data span, so mask() still removes every digit.
    """
    pii = [f for f in cands if f.type not in WARNING_TYPES]
    warn = [f for f in cands if f.type in WARNING_TYPES]

    def pick(fs: list[Finding]) -> list[Finding]:
        order = sorted(fs, key=lambda f: (-SEVERITY_RANK[f.severity], _PRIORITY[f.type], -(f.end - f.start), f.start))
        chosen: list[Finding] = []
        for f in order:
            if not any(_overlaps(f, c) for c in chosen):
                chosen.append(f)
        return chosen

    chosen = pick(pii)
    for w in pick(warn):
        pieces = [(w.start, w.end)]
        for p in chosen:
            nxt = []
            for s, e in pieces:
                if p.start < e and s < p.end:
                    if s < p.start:
                        nxt.append((s, p.start))
                    if p.end < e:
                        nxt.append((p.end, e))
                else:
                    nxt.append((s, e))
            pieces = nxt
        if pieces:
            s, e = max(pieces, key=lambda se: se[1] - se[0])
            chosen.append(Finding(w.type, s, e, w.severity))
    return sorted(chosen, key=lambda f: f.start)


def scan(text: str) -> list[Finding]:
    """Findings in `text`, sorted by start, non-overlapping, spans in the original text."""
    if not text:
        return []
    return _resolve(_candidates(text))
