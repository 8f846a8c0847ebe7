"""민감정보 (개인정보 보호법 제23조, 시행령 제18조) said of an identifiable person, by category and lexicon.

A sentence carries SENSITIVE when three things hold in it:
  1. a term of a sensitive category: health (conditions, treatments, medications, clinic departments, disability),
     criminal history, beliefs (religion, party, union, conscience), sex life, genetic and biometric data — from
     prompts/sensitive.toml, a data file the city can extend (its [source] says where the words come from), plus a
     few shapes no word list holds (징역 8개월, 벌금 300만 원, 장애 2급);
  2. an identifiable person: a name the person detector finds, a name with a title before or after it (오세린 주무관,
     청원경찰 탁정민, 압둘라 하산 주무관), a pointer at one person (해당 직원, 우리 팀 현수빈 씨, 옆자리, 그분, 본인),
     or the writer themself (저는, 제가, 제 동생);
  3. the term is not the topic of policy talk: not followed by 예방, 정책, 사업, 센터, 예산, 통계, 기준 …, and a clinic
     department is not someone's specialty (정신건강의학과 전문의).
Questions about the category itself ("민감정보 처리 제한 조항이 뭐야?") name no person and pass.
"""
from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path

LEXICON = Path(__file__).resolve().parents[2] / "prompts" / "sensitive.toml"
CATEGORIES = ("health", "criminal", "belief", "sex_life", "genetic_biometric")

# shapes that no word list holds
_SHAPES = {
    "criminal": [r"징역\s?\d+\s?(?:년|개월)", r"금고\s?\d+\s?(?:년|개월)", r"벌금\s?\d[\d,]*\s?만?\s?원",
                 r"집행\s?유예\s?\d+\s?년", r"[가-힣]{1,8}죄로", r"[가-힣]{1,8}\s?혐의로\s?(?:입건|기소|구속|조사)"],
    "health": [r"장애\s?\d\s?(?:급|등급)", r"(?:심한|심하지\s?않은)\s?장애", r"[가-힣]{1,6}암\s?\d\s?기"],
    "belief": [r"[가-힣]{1,8}당\s?(?:[가-힣]{1,8}\s)?(?:당원|입당|가입|탈당|후원\s?회원|지지자|위원장|운영위원|자문위원|"
               r"대변인|청년위원|대의원|후보(?:를|의)?\s?지지)", r"[가-힣]{0,10}노조\s?(?:가입|탈퇴|조합원|지부장|위원장)"],
}

_SURNAME = r"[김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국봉태형가동피]"
_TITLE = (r"주무관|사무관|실무관|서기관|주사보?|서기보?|팀장|과장|국장|실장|계장|대리|차장|부장|위원장?|교수|선생님?|강사|"
          r"원장|소장|센터장|이사|대표|씨|님|군|양|후보자?|기간제|공무직|인턴|청원경찰|지원자|응시자")
_NAME = r"(?:" + _SURNAME + r"[가-힣]{1,2}|[A-Z○O]{1,3}|" + _SURNAME + r"[○O*]{1,2})"
# a name of another script or form (압둘라 하산): only before an official's title
_OTHER_NAME = r"[가-힣A-Za-z]{2,6}\s[가-힣A-Za-z]{2,6}\s?(?:주무관|사무관|실무관|서기관)"
_BEFORE_NAME = (r"청원경찰|후보자?|응모자|지원자|응시자|신청자|신청인|민원인|공무원|교육생|내담자|상담자|수검자|참여자|의뢰인|"
                r"조합원|당원|위원|직원|주무관|사무관|상담인|대상자|임용\s?후보자|신규\s?임용자|성명\s?[:：]|이름\s?[:：]")
_AFTER = r"(?=[은는이가의을를과와도께에,\s.)(:]|$)"          # a particle, a space or punctuation after the title
_PERSON = re.compile(
    r"(?<![가-힣])" + _NAME + r"\s?(?:" + _TITLE + r")님?" + _AFTER + "|"                # 오세린 주무관은, 마준혁 씨가
    # 청원경찰 탁정민: a full three-syllable name after the role ("공무원 노조", "대상자 선정" are not names)
    r"(?<![가-힣])(?:" + _BEFORE_NAME + r")(?:\s|(?<=[:：])|(?<=[:：])\s)(?:" + _SURNAME + r"[가-힣]{2})(?:\(\d{1,3}\))?(?=[은는이가의을를과와도,\s(]|$)|"
    + _OTHER_NAME + "|"
    r"(?:해당|그|이|저|옆자리|옆\s?팀|우리\s?(?:과|팀|부서|실|국|센터)의?)\s?(?:직원|주무관|사무관|분|사람|동료|친구|"
    r"주민|학생|근로자|공무원|민원인|신청인|대상자|지원자|후보자?|팀원|과장|팀장|위원)|"
    r"(?<![가-힣])(?:저는|제가|저도|저희\s?(?:아이|애|남편|아내|부모님|어머니|아버지)|제\s(?:동생|형|누나|언니|오빠|"
    r"아내|남편|아이|아들|딸|어머니|아버지|부모님|가족|친구|동료)|본인(?:은|이|의|도))|"
    r"(?:민원인|신청인|신청자|신고인|피해자|가해자|피의자|청구인|진정인|당사자|면담\s?대상자|상담\s?대상자)(?=[은는이가의께])")
# policy talk about the category, right after the term: not a person's status
_TOPIC_AFTER = re.compile(r"^\s?(?:환자\s?(?:수|비율|지원|관리)|피해자?\s?(?:지원|보호|전담|통합|상담소)|예방|정책|사업|대책|관리\s?(?:사업|계획|지침|체계)|"
                          r"지원\s?(?:사업|센터|정책|제도|체계|예산)|센터|예산|통계|캠페인|교육|인식|검진\s?사업|연구|"
                          r"조사|의\s?날|주간|유병률|발생률|치료제\s?개발|관련\s?(?:법|규정|정책|조항|기준)|기준|판정\s?기준|"
                          r"제도|법|조례|규정|지침|매뉴얼|현황|실태|단체|협회|시설|병원|학회|전문의|전문가|의사|교수|"
                          r"간호사|상담사|담당|업무|과\b|팀\b)")
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?\n]|$)")


# what may follow a two-syllable term: a particle, a copula, or the end of the word ("게이라는" yes, "게이오" no)
_SHORT_NEXT = r"(?![가-힣])|(?=[이가은는을를의로으와과라인였에도만자적임])"


def _term_pattern(term: str) -> str:
    t = re.escape(term.strip()).replace(r"\ ", r"\s?")
    if re.fullmatch(r"[A-Za-z0-9\\.\-]+", t):
        return r"(?<![A-Za-z])" + t + r"(?![A-Za-z])"
    if re.fullmatch(r"[가-힣]{2}", term.strip()):
        return t + r"(?:" + _SHORT_NEXT + r")"
    return t


# which [grammar] list says that a term of a category is someone's (lists in prompts/sensitive.toml), and words any
# category may use for that ("… 이라는 사실", "… 결과가 나왔", "… 데이터를 이관")
_PREDICATES = {"health": ("health_predicates",), "criminal": ("record_predicates",),
               "belief": ("membership_predicates",), "sex_life": ("membership_predicates", "health_predicates"),
               "genetic_biometric": ("health_predicates",)}
_ANY_PREDICATE = ("사실", "이라는", "라는", "임을", "이라고", "라고", "이며", "이고", "이어서", "이라서", "라서", "이었", "였", "이에요",
                  "예요", "입니다", "이래", "래", "이시", "결과", "데이터", "정보", "나왔", "변이", "검사", "템플릿", "등록된",
                  "관계", "때문에", "로 인해", "으로 인해", "이 있", "가 있", "이 없", "가 없")
# categories whose words are also public talk about public people (a politician's party, a believer's church): a
# predicate must say the term is someone's; health, criminal, genetic terms said of a named person are enough
NEED_PREDICATE = ("belief",)
# a belief term that already says it is someone's: 불교 신자, 당원, 조합원, 신도회장
_MEMBER = re.compile(r"신자|신도|교인|불자|당원|조합원|회원|간부|지부장|위원장|스님|목사|신부님|무슬림")
_BELIEF_ACTS = ("예배", "미사", "법회", "기도", "성경", "예불", "라마단", "금식", "출가", "환속", "세례", "지지하", "지지한",
                "지지를", "게시", "성향", "쪽이라", "편이라")
WINDOW = 24                    # characters after a term in which its predicate must stand


@functools.lru_cache(maxsize=4)
def _patterns(path: str = str(LEXICON)) -> tuple[tuple[str, re.Pattern, re.Pattern, re.Pattern | None], ...]:
    """Per category: the lexicon terms (longest first), the shapes above, and the predicates a term needs."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8")) if Path(path).is_file() else {}
    grammar = data.get("grammar") or {}
    out = []
    for cat in CATEGORIES:
        terms: set[str] = set()
        for key, value in (data.get(cat) or {}).items():
            if isinstance(value, list):
                terms.update(v for v in value if isinstance(v, str) and len(v.strip()) >= 2)
        preds = set(_ANY_PREDICATE)
        if cat == "belief":
            preds.update(_BELIEF_ACTS)
        for name in _PREDICATES[cat]:
            preds.update(v for v in grammar.get(name, []) if isinstance(v, str) and v.strip())
        words = [_term_pattern(t) for t in sorted(terms, key=len, reverse=True)]
        shapes = _SHAPES.get(cat, [])
        out.append((cat, re.compile("(" + "|".join(words) + ")", re.I) if words else re.compile(r"(?!x)x"),
                    re.compile("|".join(_term_pattern(x) for x in sorted(preds, key=len, reverse=True)))
                    if cat in NEED_PREDICATE else None,
                    re.compile("(" + "|".join(shapes) + ")") if shapes else None))
    return tuple(out)


def find(t: str, people: list[tuple[int, int]] = ()) -> list[tuple[str, int, int, str]]:
    """SENSITIVE candidates (type, start, end, severity) in the normalized text: a category term in a sentence that
    names or points at one person (or holds one of `people`, names the person detector found), unless the term is
    the topic of policy talk."""
    pats = _patterns()
    out = []
    for sent in _SENTENCE.finditer(t):
        text = sent.group()
        named = any(sent.start() <= s < sent.end() for s, _ in people)
        if not text.strip() or not (named or _PERSON.search(text)):
            continue
        for _, words, preds, shapes in pats:
            for m in words.finditer(t, sent.start(), sent.end()):
                after = t[m.end():min(sent.end(), m.end() + WINDOW)]
                # the term is someone's only when a predicate says so ("… 진단을 받", "… 신자로", "… 선고받은")
                if _TOPIC_AFTER.match(after) or (preds is not None and not preds.search(after)
                                                 and not _MEMBER.search(m.group(1))):
                    continue
                out.append(("SENSITIVE", m.start(1), m.end(1), "high"))
            if shapes is not None:                # 징역 8개월, 장애 2급: the shape says it is someone's
                for m in shapes.finditer(t, sent.start(), sent.end()):
                    if not _TOPIC_AFTER.match(t[m.end():sent.end()]):
                        out.append(("SENSITIVE", m.start(1), m.end(1), "high"))
    return _merged(out, t)


def _merged(cands: list[tuple[str, int, int, str]], t: str, gap: int = 3) -> list[tuple[str, int, int, str]]:
    """One finding per statement: terms a particle apart ("공황장애로 통원 치료") become one span."""
    out: list[tuple[str, int, int, str]] = []
    for c in sorted(cands, key=lambda c: (c[1], -c[2])):
        if out and c[1] - out[-1][2] <= gap and "\n" not in t[out[-1][2]:c[1]]:
            out[-1] = (out[-1][0], out[-1][1], max(out[-1][2], c[2]), out[-1][3])
        else:
            out.append(c)
    return out
