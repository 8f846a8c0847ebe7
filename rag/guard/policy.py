"""What the guard reports and how loud: labels, placeholders, severities, and the one rule for which findings
warrant a warning before sending (CLI, browser, API) and which count as personal data in an answer."""
from __future__ import annotations

from rag.records import Finding

# ---------------------------------------------------------------------------------------------
# user-facing tables (Korean): type labels for the UI, and the placeholders mask() writes
# ---------------------------------------------------------------------------------------------
TYPE_LABELS = {
    "RRN": "주민등록번호",
    "FRN": "외국인등록번호",
    "PASSPORT": "여권번호",
    "DRIVER_LICENSE": "운전면허번호",
    "BRN": "사업자등록번호",
    "PHONE": "전화번호",
    "EMAIL": "이메일",
    "ACCOUNT": "계좌번호",
    "CARD": "카드번호",
    "ADDRESS": "주소",
    "PERSON": "이름",
    "SENSITIVE": "민감정보",
    "CONFIDENTIAL": "보안 등급 표시",
    "INJECTION": "프롬프트 주입 시도",
}
PLACEHOLDERS = {
    "RRN": "[주민등록번호]",
    "FRN": "[외국인등록번호]",
    "PASSPORT": "[여권번호]",
    "DRIVER_LICENSE": "[운전면허번호]",
    "BRN": "[사업자등록번호]",
    "PHONE": "[전화번호]",
    "EMAIL": "[이메일]",
    "ACCOUNT": "[계좌번호]",
    "CARD": "[카드번호]",
    "ADDRESS": "[주소]",
    "PERSON": "[이름]",
    "SENSITIVE": "[민감정보]",
}
WARNING_TYPES = ("CONFIDENTIAL", "INJECTION")   # reported, never masked
TYPES = tuple(TYPE_LABELS)
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}
# on overlap: higher severity wins, then the earlier (more specific) type in this order, then length
_PRIORITY = {t: i for i, t in enumerate(
    ("INJECTION", "RRN", "FRN", "CARD", "BRN", "DRIVER_LICENSE", "PASSPORT", "PHONE", "EMAIL",
     "ACCOUNT", "ADDRESS", "SENSITIVE", "PERSON", "CONFIDENTIAL"))}

WARN_ALWAYS = WARNING_TYPES        # markings and injection are warned about even below the blocking severity


def at_least(sev: str, min_severity: str) -> bool:
    return SEVERITY_RANK[sev] >= SEVERITY_RANK[min_severity]


def has_blocking(findings: list[Finding], min_severity: str = "medium") -> bool:
    return any(at_least(f.severity, min_severity) for f in findings)


def warrants_warning(f: Finding) -> bool:
    return f.type in WARN_ALWAYS or f.severity != "low"


def needs_warning(findings: list[Finding]) -> bool:
    """Warn before sending: personal data at medium or above, or any marking or injection."""
    return any(warrants_warning(f) for f in findings)


def warned_types(findings: list[Finding]) -> list[str]:
    """Finding types worth a warning, in order of first appearance."""
    return list(dict.fromkeys(f.type for f in findings if warrants_warning(f)))


def maskable(findings: list[Finding]) -> bool:
    """Is there anything mask() would replace (personal data at medium or above)? Markings and injections are
    warned about but never masked, so a warning holding only those has nothing to mask."""
    return bool(personal_types(findings))


def personal_types(findings: list[Finding]) -> list[str]:
    """Personal-data types at medium or above (not markings or injection): what the output check reports."""
    return sorted({f.type for f in findings if f.severity != "low" and f.type not in WARNING_TYPES})
