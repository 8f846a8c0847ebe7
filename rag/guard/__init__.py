"""Prompt guard: personal data, confidentiality markings and prompt injection in Korean text.

Pure Python (regular expressions + checksums), no models, a few milliseconds per prompt.

    scan(text) -> [Finding]          typed, severity-rated spans in the ORIGINAL text
    mask(text) -> str                personal data replaced by typed placeholders ([전화번호] ...)
    is_injection(text) -> bool       prompt-injection attempt (also for retrieved passages)
    has_blocking(findings) -> bool   anything at or above a severity
    guard_report(text) -> dict       all of the above as plain JSON-able data
    needs_warning / warned_types     the one rule for a warning before sending (CLI, browser, API)
    maskable(findings)               is there personal data mask() would replace (markings never are)
    personal_types(findings)         personal data worth a warning in an answer (the output check)

Modules by job: normalize (views), detectors (personal data, markings), markings (a restriction said of the text in
hand, in any form), sensitive (민감정보 by category: prompts/sensitive.toml, said of an identifiable person), injection,
scan (resolve), masking, policy (labels, severities, warning rule). The metric on a labelled set is
eval/guard_metrics.py.

How it works
- Detection runs on a normalized view of the text: NFKC per character (full-width letters and digits,
  Roman numerals Ⅱ -> II), zero-width characters removed, a few Cyrillic/Greek look-alikes mapped to
  Latin, and split Hangul jamo (compatibility jamo ㅇㅣㅈㅓㄴ or decomposed NFD text) composed back into
  syllables. Injection phrases are also matched on a "compact" view with whitespace and separator
  punctuation removed (catches "i g n o r e", "i.g.n.o.r.e", "이 전 지 시"). Every normalized character
  keeps the span of original characters it came from, so findings carry spans in the original text.
- Numbers are validated, not just shaped: RRN/FRN by the birth date (YYMMDD) and the 7th digit
  (1-4, 9, 0 for residents; 5-8 for foreigners), the mod-11 checksum raising confidence only (numbers
  issued since October 2020 do not carry it); BRN by the official checksum; cards by Luhn.
- Context words raise or lower severity. "low" is informational only: nothing at low is counted as an
  alarm or masked by default.

Severity policy (decided here; precision matters as much as recall):
- high: RRN/FRN, valid cards, BRN with checksum, mobile phones, license numbers, passports with
  context, accounts with banking context, addresses with a unit (동/호) or residential context,
  grade markings (Ⅱ급 비밀), every injection.
- medium: the same types with weaker evidence (e.g. RRN without context or checksum, landline
  without a department, e-mail, road/lot address, a name after a citizen-role marker, other markings).
- low (not an alarm): office numbers with a department/문의 context (문의: 디지털정책과 02-2133-4567),
  representative numbers (1588-xxxx), government e-mail domains (go.kr, korea.kr), digit groups
  without banking context, numbers shaped like an RRN after 주문번호/접수번호/법인등록번호 ...,
  office addresses (청사), format-only matches that fail a checksum.
- Names: only after a citizen-role marker (민원인, 신청인, 성명:, 피해자 ...) or directly before 씨/님;
  officials (담당자, 주무관, 의원) are public roles and not flagged; 박OO is not a name.
- Confidentiality: a marking, not a word. Flagged: in brackets ([대외비], (내부용), 【비공개】), at the
  start of a line, followed by 문서/자료/보고서, as a predicate (대외비입니다, 비밀로 분류), grade
  markings (Ⅰ·Ⅱ·Ⅲ급 비밀), 취급주의, "Internal use only", "Confidential" as a label. Not flagged:
  비밀번호, 비밀리에, 비공개 여부/대상 정보, rules that talk about 대외비 (대외비의 관리 방법).
- CONFIDENTIAL and INJECTION are warnings: mask() leaves them in place.
"""
from __future__ import annotations

from rag.guard.detectors import brn_checksum_ok, luhn_ok, rrn_birth_valid, rrn_checksum_ok
from rag.guard.injection import is_injection
from rag.guard.masking import mask
from rag.guard.normalize import normalize
from rag.guard.policy import (PLACEHOLDERS, SEVERITY_RANK, TYPE_LABELS, TYPES, WARN_ALWAYS, WARNING_TYPES, at_least,
                              has_blocking, maskable, needs_warning, personal_types, warned_types,
                              warrants_warning)
from rag.guard.scan import scan

__all__ = ["brn_checksum_ok", "luhn_ok", "rrn_birth_valid", "rrn_checksum_ok", "PLACEHOLDERS", "SEVERITY_RANK", "TYPE_LABELS", "TYPES", "WARN_ALWAYS", "WARNING_TYPES", "at_least",
           "guard_report", "has_blocking", "is_injection", "mask", "maskable", "needs_warning", "normalize", "personal_types",
           "scan", "warned_types", "warrants_warning"]


def guard_report(text: str) -> dict:
    findings = scan(text)
    return {
        "findings": [{"type": f.type, "start": f.start, "end": f.end, "severity": f.severity} for f in findings],
        "masked": mask(text),
        "injection": any(f.type == "INJECTION" for f in findings) or is_injection(text),
    }
