"""Confidentiality said in an ordinary sentence: a handling restriction stated of the text in hand or of a document
being handed over, in any grammatical form — not only the marking phrases of detectors._find_confidential.

A sentence is a marking when it states a restriction (a marking word: 대외비, 비공개, 비밀, 내부용, 취급주의, 보안 등급,
열람 제한, 배포 금지, 엠바고, N2SF C/S 등급 …; or a disclosure verb negated: 공개하면 안 되는, 밖으로 돌리지 말고,
외부엔 안 나가는, 내부에서만 공유) and that restriction is said of something in hand: a pointer (이/본/해당/아래/붙임/첨부한
+ 자료·문서·문건·보고서·내용 …, 이건, 이거), or a document noun the restriction qualifies (… 자료인데, … 문서로 지정된)
in a message that asks for work on it. A question about the category or its rules ("비공개 대상 정보는 무엇인가요?",
"대외비 문서 보관 기간 규정 알려줘") states nothing of the text in hand and passes.
"""
from __future__ import annotations

import re

_WORD = (r"대외비|비공개|극비|기밀|(?<![가-힣])비밀(?!번호|리에|스럽|글|을\s?털어)|내부\s?용|내부\s?(?:한정|검토용|참고용|보고용|평가용|"
         r"협의용)|(?:청|기관|부서|과|팀)\s?(?:내|내부)\s?한정|대외\s?공개\s?불가|취급\s?주의|보안\s?(?:문서|자료|등급|유지|사항)|"
         r"열람\s?(?:이\s?)?(?:제한|범위|권한)|(?:배포|복사|복제|전재|공유|반출|유출|누설)\s?(?:금지|불가|를\s?금|을\s?금)|"
         r"엠바고|(?<![A-Za-z])[CS]\s?(?:\([가-힣]{2}\)\s?)?등급|[CS]\s?\((?:기밀|민감)\)|회수\s?대상")
# a disclosure verb said not to happen: 공개하면 안 되는, 공개 안 되는, 밖으로 돌리지 말, 외부엔 안 나가는, 공유는 안 되는
_VERB = r"(?:공개|공유|배포|유출|전달|보여\s?주|옮기|돌리|돌려|나가|나가면|새|알리|내보내|제공|반출)"
_NEG = (r"(?:" + _VERB + r"[가-힣]{0,3}\s?(?:면\s?안|지\s?(?:않|말|못)|(?:는\s?|은\s?)?안\s?(?:되|돼|됨|나가)|"
        r"(?:ㄹ|을|할)\s?수\s?(?:없|가\s?없)|불가|금지|를\s?금|을\s?금)|"
        r"(?:외부|밖|대외)[으로에엔는]*\s?(?:절대\s?)?(?:안|못)\s?[가-힣]{0,4}|"
        r"(?:내부|안|우리\s?(?:과|팀|부서)|청내|기관\s?내)[에서]*만\s?(?:공유|회람|열람|사용|활용|돌려|보|쓰)|"
        r"(?:내부|기관\s?내부)에\s?한하여|관계자\s?외|(?:에게|에)만\s?(?:공개|공유|통보|열람)|공개\s?대상이\s?아니|"
        r"(?:열람|공개|공유|배포)(?:을|를)?\s?(?:제한|금지|금하|불허)|비밀로\s?(?:유지|관리|하|해)|"
        r"(?:참고|평가|검토|보고|협의)용으로만)")
_RESTRICTION = re.compile(r"(" + _WORD + "|" + _NEG + ")", re.I)
_DOC = (r"(?:자료|문서|문건|보고서|보고|내용|파일|엑셀|표|안건|초안|메모|결과|계획|사안|정보|발췌문|문안|원문|명단|글|단락|문단|"
        r"목록|항목|본문|원고|발제문|계약서|시나리오|점수|입장|건|것|거)")
_POINTER = re.compile(r"(?:(?<![가-힣])(?:이|본|해당|아래|위|다음|붙임|첨부(?:한|된)?|붙여\s?(?:넣은|넣는|드린)|붙이는|"
                      r"제가\s?(?:쓰는|참고하는|받은)|받은)\s?"
                      r"(?:[가-힣]{1,6}\s)?" + _DOC + r"|(?<![가-힣])(?:이건|이거|이게|이것은|이번\s?건|본\s?건|아래는|다음은))")
# a document noun in the sentence that states the restriction (its subject, its predicate noun)
_OF_DOC = re.compile(r"(?<![가-힣])[가-힣]{0,6}" + _DOC + r"(?:인데|이라서|라서|라(?=\s)|이므로|으로서|로서|이니|예요|이에요|입니다|임|"
                     r"야|이야|인\s?바|로|으로|[은는이가을를]|\s|$)")
# a marking written as a label at the start of a line: [비밀], (보안), <<배포 금지>>, ─ 보안 ─, S등급(민감) /
_LABEL_WORD = (r"(?:대외비|비공개|비밀|극비|기밀|보안|내부\s?용|내부\s?한정|취급\s?주의|(?:외부\s?)?배포\s?금지|복사\s?금지|"
               r"대외\s?공개\s?불가|[CS]\s?등급(?:\s?\([가-힣]{2}\))?|[ⅠⅡⅢI]{1,3}\s?급\s?비밀)")
_LABEL = re.compile(r"^[ \t]*(?:[\[【〔<(《「『]+|[─━=\-]+)?[ \t]*(" + _LABEL_WORD + r"(?:[ \t]*[·,/][ \t]*" + _LABEL_WORD
                    + r")*)[ \t]*(?:[\]】〕>)》」』]+|[─━=\-]+|[ \t]*/)", re.M)
# a request for work on the text: the message asks the assistant to do something with it
_REQUEST = re.compile(r"(?:해\s?줘|해\s?주세요|해\s?줄래|해\s?줄\s?수|해\s?주시|하여\s?주|해\s?주십시오|바랍니다|바람|부탁|주십시오|"
                      r"주세요|줘요|줄래요?|ㄱㄱ|만들어|정리|요약|다듬|바꿔|옮겨|번역|검토|확인|작성|뽑아|봐\s?주|찾아)")
# a question about the category or its rules: names the rule, not the text in hand
_ABOUT = re.compile(r"(?:규정|규칙|기준|절차|방법|권한자?|요령|지침|매뉴얼|법률|조항|제도|원칙|교육|점검|실태|캠페인|"
                    r"어떻게|무엇|뭐|누가|누구|언제|있나요|되나요|인가요|할까요|뭔가요|궁금)")
# the category itself is the subject: "비공개 여부를 검토", "비공개 대상 정보", "비공개 일정으로 등록"
_CATEGORY_AFTER = re.compile(r"^\s?(?:여부|대상|범위|기준|결정|사유|일정|회의를\s?하려면|처리\s?(?:기준|절차|여부)|"
                             r"표시(?:는|를|가)|지정\s?권한|문서\s?(?:관리|보관|표시|지정|분류))")
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?\n]|$)")


def find(t: str) -> list[tuple[str, int, int, str]]:
    """CONFIDENTIAL candidates (type, start, end, severity) in the normalized text."""
    request = bool(_REQUEST.search(t)) or bool(_POINTER.search(t))
    out = [("CONFIDENTIAL", m.start(1), m.end(1), "medium") for m in _LABEL.finditer(t)]
    for sent in _SENTENCE.finditer(t):
        text = sent.group()
        m = _RESTRICTION.search(text)
        if not m or _CATEGORY_AFTER.match(text[m.end():]):
            continue
        pointer = _POINTER.search(text)
        if not (pointer or (_OF_DOC.search(text) and request)):
            continue
        if not pointer and _ABOUT.search(text):
            continue                              # "배포 금지 표시가 된 문서를 … 어떤 조치를 하라고 규정돼 있나요?"
        out.append(("CONFIDENTIAL", sent.start() + m.start(1), sent.start() + m.end(1), "medium"))
    return out
