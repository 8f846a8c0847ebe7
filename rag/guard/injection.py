"""Prompt-injection phrases, matched on the compact view (no whitespace or separators) and the normal view; also
used for retrieved passages."""
from __future__ import annotations

import re

from rag.guard.normalize import _View, _views

# --- prompt injection ---------------------------------------------------------------------------
# matched on the compact view (no whitespace / separators), case-insensitive
_KO_IGNORE = r"(?:무시(?:하고|해|하세|하십|하라|하여|할것|합니다|한다|하도록|하면서|하게|하자)|잊(?:고|어|으세|으십|어라|을것)|" \
             r"버리(?:고|세)|버려)"
_KO_PRIOR = r"(?:이전|앞|위|상기|기존|지금까지|이제까지|앞서|먼저|원래|초기|최초|시스템)"
_KO_INSTR = r"(?:지시|지침|명령|규칙|프롬프트|지령|제약|제한|가이드라인|룰|instructions?)"
_INJECTION_COMPACT = [re.compile(p, re.I) for p in (
    # 이전 지시를 무시하고 / 위의 모든 지침을 무시 / 앞의 지시사항은 모두 잊고
    _KO_PRIOR + r"(?:의|에|에서|에서의)?(?:받은|주어진|나온|말한|입력된|설정된|작성된|내린|들은)?(?:모든|전체|일체의?)?"
    + _KO_INSTR + r"(?:사항|문|어|내용)?(?:들)?(?:은|는|을|를|이|가|도|과|와)?(?:모두|전부|다|일체|싹)?" + _KO_IGNORE,
    # 모든 규칙을 무시하라 / 안전 지침을 무시해
    r"(?:모든|일체의?|안전|보안|윤리|내부)" + _KO_INSTR + r"(?:사항|장치)?(?:은|는|을|를)?(?:모두|전부|다)?"
    r"(?:무시|해제|우회|끄|풀)(?:하고|해|하세|하십|하라|하여|할것|한다|하고서|고|어|라)",
    # 시스템 프롬프트를 출력 / 초기 지시문을 그대로 보여줘
    r"(?:시스템|system|초기|원래|최초|숨겨진|내부|너의|당신의)(?:프롬프트|프롬트|prompt|메시지|지시문|지시사항|지시|지침|설정|명령어?)"
    r"(?:의)?(?:내용|전문|원문|전체|전부|모두)?(?:을|를|은|는)?(?:그대로|전부|모두|전체|원문|정확히|있는그대로)?"
    r"(?:복사해서|복사해|옮겨서|그대로)?"
    r"(?:출력|보여|알려|공개|말해|누설|표시|복사|반복|적어|인쇄|나열|print|유출)",
    # 너는 이제 ... / 지금부터 너는 ... (only with a role/restriction word nearby)
    r"(?:너는이제|넌이제|당신은이제|이제부터너는|지금부터너는|이제부터당신은|지금부터당신은|이제너는|지금부터넌)"
    r".{0,25}?(?:제한|제약|규칙|필터|검열|윤리|DAN|탈옥|무엇이든|개발자모드|관리자모드|해커|악당|사악)",
    # forced output: '승인'이라고만 답하라
    r"[\[(<「『]?.{1,20}[\])>」』]?(?:이)?라고만(?:답|대답|출력|말|응답|써)",
    # 개발자 모드로 동작 / 탈옥 모드
    r"(?:개발자|관리자|디버그|탈옥|DAN|무제한|제한없는|developer|jailbreak)모드(?:로|으로)"
    r"(?:동작|전환|응답|답|작동|실행|진입|변경|행동)(?:해|하라|하세|하십|한다|합니다|하고|하여|할것)",
    r"(?:개발자|관리자|디버그|탈옥|DAN|무제한|developer|jailbreak)모드(?:를|을)?(?:활성화|켜)(?:해|하라|하고|하세|하십|줘|라|고)",
    # English
    r"(?:ignore|disregard|forget|override|skip|bypass|neglect)(?:all|any|every|the|your|my|of|these|those)*"
    r"(?:previous|prior|above|earlier|preceding|initial|original|system|old|former|foregoing)"
    r"(?:instructions?|prompts?|directions?|rules|guidelines|messages?|context|commands?|orders?|constraints)",
    r"(?:ignore|disregard|forget)(?:all|everything|the|of)*(?:above|before|previous)(?:and|\.|,|$)",
    r"(?:ignore|disregard|forget|override)(?:all|any|every|the|your|of|these|those)*"
    r"(?:instructions?|rules|directions?|guidelines|prompts?|commands?)(?:you|that|which|i|we)?"
    r"(?:got|received|weregiven|havebeengiven|havereceived|hadbefore|wasgiven|weretold)?"
    r"(?:before|previously|earlier|sofar|above|untilnow|uptonow)",
    r"fromnowon(?:you|u)?(?:are|actas|willactas|willbe|behaveas|pretendtobe|r)(?:an?)?"
    r"(?:dan|unrestricted|unfiltered|uncensored|jailbroken|evil|developermode)",
    r"(?:reveal|print|show|display|output|repeat|leak|dump|tellme|giveme|write)(?:me)?(?:your|the)(?:full|entire|complete|exact)?"
    r"(?:system|initial|original|hidden|secret)(?:prompt|message|instructions?)",
    r"(?:reveal|print|show|display|output|repeat|leak|dump)(?:me)?your(?:full|entire|complete|exact)?(?:prompt|instructions)",
    r"(?:enable|activate|enter|switchto|turnon|youarein|nowin)(?:the)?(?:developer|dan|jailbreak|god)mode",
    r"(?:developer|dan|jailbreak)mode(?:enabled|activated|on\b)",
    r"(?:act|behave|respond|operate)as(?:an?)?(?:unrestricted|unfiltered|uncensored|jailbroken)",
)]
_INJECTION_NORMAL = [re.compile(p, re.I) for p in (
    r"<\|im_start\|>\s*system|<\|system\|>|\[/?INST\]|<<SYS>>",         # chat-template role markers
    r"\byou\s+are\s+now\s+(?:dan\b|no\s+longer\b|unrestricted|unfiltered|free\s+from|in\s+(?:developer|dan|jailbreak)\s+mode|"
    r"(?:a|an|the|my)\b[^.\n]{0,40}?(?:assistant|\bai\b|model|bot\b|dan\b|jailbr|unrestrict|unfilter|uncensor|without\s+"
    r"(?:any\s+)?(?:rules|restrictions|limits|filters)|evil|hacker|developer))",
    r"\b(?:act|behave)\s+as\s+(?:a\s+)?DAN\b",
    r"\bpretend\s+(?:that\s+)?(?:you\s+are|to\s+be)\b[^.\n]{0,40}?(?:unrestricted|without\s+(?:any\s+)?(?:rules|restrictions|limits))",
)]


def _find_injection(normal: _View, compact: _View) -> list[tuple[int, int]]:
    """Spans (original offsets) of injection phrases."""
    spans = []
    for pat in _INJECTION_COMPACT:
        for m in pat.finditer(compact.text):
            if m.end() > m.start():
                spans.append(compact.orig(m.start(), m.end()))
    for pat in _INJECTION_NORMAL:
        for m in pat.finditer(normal.text):
            spans.append(normal.orig(m.start(), m.end()))
    return spans


def is_injection(text: str) -> bool:
    """True when `text` (a prompt or a retrieved passage) contains a prompt-injection phrase."""
    if not text:
        return False
    normal, compact = _views(text)
    return bool(_find_injection(normal, compact))
