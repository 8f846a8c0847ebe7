"""Candidate choice for factoid questions (누가/언제/어디/몇/얼마/어느 부서): the answer is picked, not written.

`factoid_type()` reads what a question asks for; `candidates()` takes every span of that type from the evidence
sentences with kiwipiepy (proper nouns with their title, number + unit, dates, organisation and place names by
their suffix). The assistant then ranks them by the model's likelihood (LlamaCppGenerator.score), the refusal
sentence among them, so a 1.5B model only has to recognise the answer it is shown, never to spell it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index import korean
from rag.evidence import Passage

_TYPES: list[tuple[str, re.Pattern]] = [
    ("date", re.compile(r"언제|며칠|몇\s*월|몇\s*년(?!\s*간)|날짜|일자|일시|시기|연도|몇\s*시")),
    ("person", re.compile(r"누가|누구|성명|이름|어떤\s*(?:의원|위원|사람)")),
    ("org", re.compile(r"어느\s*(?:부서|기관|과|국|위원회|곳)|어떤\s*(?:부서|기관|위원회)|부서|소관|담당\s*(?:기관|과)")),
    ("place", re.compile(r"어디|장소|위치")),
    ("number", re.compile(r"몇|얼마|규모|금액|예산|인원|비율|몇\s*명")),
]
_DATE = re.compile(r"\d{4}\s*(?:년|\.)\s*\d{1,2}\s*(?:월|\.)(?:\s*\d{1,2}\s*(?:일|\.)?)?(?:\s*\([월화수목금토일]\))?"
                   r"|\d{1,2}\s*월\s*\d{1,2}\s*일|\d{4}\s*년(?!\s*\d)|\d{1,2}:\d{2}(?:\s*~\s*\d{1,2}:\d{2})?")
_TITLES = frozenset({"의원", "위원장", "부위원장", "위원", "교수", "시장", "부시장", "과장", "팀장", "주무관", "국장", "실장",
                     "본부장", "대표", "원장", "소장", "좌장", "의장", "부의장", "박사", "연구원", "전문위원", "단장", "센터장"})
_ORG = ("과", "국", "실", "담당관", "위원회", "본부", "센터", "재단", "공사", "팀", "단", "청", "원", "처", "부", "기관", "협회",
        "대학교", "연구원", "의회", "공단", "사무소")
_PLACE = ("홀", "실", "층", "관", "청사", "센터", "강당", "광장", "시청", "회의실", "구", "동", "본관", "별관", "공원")
_NOUN = {"NNG", "NNP", "SL", "SH", "XSN", "XPN", "SN", "NNB", "NR"}


@dataclass
class Candidate:
    text: str                 # as written in the evidence
    n: int                    # passage number
    sentence: str             # the evidence sentence it was taken from
    rank: float               # that sentence's evidence score


_ASKED_UNIT = re.compile(r"(?:어느|어떤|무슨)?\s*(과|국|실|팀|위원회|본부|센터|기관|층|홀)(?:은|는|이|가|에서|의|를|을)?\s*"
                         r"(?:어디|이름|무엇|뭐|누구)")


def factoid_type(question: str) -> str | None:
    m = _ASKED_UNIT.search(question)
    if m:                                    # "총괄하는 과는 어디야?": the unit it names decides
        return "place" if m.group(1) in ("층", "홀") else "org"
    for kind, pat in _TYPES:
        if pat.search(question):
            return kind
    return None


def type_test(kind: str | None, question: str = ""):
    """A cheap test "does this sentence hold a value of the asked type that the question does not already give"
    (dates and numbers, by pattern) for evidence selection, or None for the other types."""
    pattern = _DATE if kind == "date" else re.compile(r"\d+") if kind == "number" else None
    if pattern is None:
        return None
    given = {re.sub(r"\s+", "", m.group()) for m in pattern.finditer(question)}
    if kind == "date":      # "2024년 1차 …": a year the question gives, even where _DATE reads no date
        given |= {re.sub(r"\s+", "", y) for y in re.findall(r"\d{4}\s*년", question)}
    return lambda text: any(re.sub(r"\s+", "", m.group()) not in given for m in pattern.finditer(text))


def _phrases(sentence: str) -> list[list]:
    """Runs of noun-like tokens, at most one space apart: the places a name, an organisation or a place can be."""
    runs: list[list] = []
    cur: list = []
    for tok in korean.tokenize(sentence):
        tag = tok.tag.split("-")[0]
        if tag in _NOUN and (not cur or tok.start - (cur[-1].start + cur[-1].len) <= 1):
            cur.append(tok)
        else:
            if cur:
                runs.append(cur)
            cur = [tok] if tag in _NOUN else []
    if cur:
        runs.append(cur)
    return runs


def _span(sentence: str, toks: list) -> str:
    return sentence[toks[0].start:toks[-1].start + toks[-1].len]


def _typed(kind: str, sentence: str) -> list[str]:
    out: list[str] = []
    if kind == "date":
        return [m.group().strip() for m in _DATE.finditer(sentence)]
    toks = korean.tokenize(sentence)
    if kind == "number":
        for i, t in enumerate(toks):
            if t.tag != "SN" or _DATE.match(sentence, t.start):
                continue
            first = toks[i - 1] if i and toks[i - 1].form == "제" else t
            last = t
            if i + 1 < len(toks) and toks[i + 1].tag in ("NNB", "NNG", "SW") and len(toks[i + 1].form) <= 3 \
                    and toks[i + 1].start - (t.start + t.len) <= 1:
                last = toks[i + 1]
            out.append(sentence[first.start:last.start + last.len])
        return out
    for run in _phrases(sentence):
        forms = [t.form for t in run]
        if kind == "person":
            for i, t in enumerate(run):
                if t.tag == "NNP" and 2 <= len(t.form) <= 4 and not t.form.endswith(_ORG):
                    end = i + 1 if i + 1 < len(run) and forms[i + 1] in _TITLES else i
                    out.append(_span(sentence, run[i:end + 1]))
    if kind in ("org", "place"):
        # word by word: kiwipiepy reads the 과 of "첨단산업과" as a particle, so names are found by their suffix
        suffixes = _ORG if kind == "org" else _PLACE
        words = [_WORD_TAIL.sub("", w) for w in sentence.split()]
        for i, w in enumerate(words):
            if _is_name(w, suffixes):
                out.append(w)
                if i and _is_name(words[i - 1], _ORG + _PLACE):
                    out.append(f"{words[i - 1]} {w}")          # "경제실 첨단산업과", "서울시청 본관"
    return out


# what follows a name inside a word: particles, footnote numbers, brackets ("경제실6)(기획경제위원회),")
_WORD_TAIL = re.compile(r"(?:\d+\)|[)(\]\[,.·:;「」『』“”‘’\"'])*(?:\(.*)?$|(?:에서|으로|에게|소관|와|과의|은|는|이|가|을|를|의|에|로|도)$")


def _is_name(word: str, suffixes: tuple[str, ...]) -> bool:
    word = _WORD_TAIL.sub("", word)
    return any(word.endswith(x) and len(word) > len(x) for x in suffixes) and word not in _TITLES \
        and bool(re.fullmatch(r"[가-힣A-Za-z0-9·]+", word))


def candidates(kind: str, passages: list[Passage], limit: int = 10, question: str = "") -> list[Candidate]:
    """Distinct spans of the asked type from the evidence sentences, best sentences first, at most `limit`; when
    the question names the unit it asks for ("총괄하는 과는 어디야?"), only spans ending in that unit, if any."""
    found: dict[str, Candidate] = {}
    for p in passages:
        for sp, sentence in p.sentences():
            for text in _typed(kind, sentence):
                key = re.sub(r"\s+", "", text)
                if key and (key not in found or found[key].rank < sp.score):
                    found[key] = Candidate(text, p.n, sentence, sp.score)
    out = sorted(found.values(), key=lambda c: -c.rank)
    m = _ASKED_UNIT.search(question)
    if m and kind in ("org", "place"):
        out = [c for c in out if c.text.endswith(m.group(1))] or out
    return out[:limit]
