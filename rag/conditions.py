"""The question's conditions, checked in code: what the cited passage must say besides the answer itself.

A verified quote proves that a sentence exists, not that it answers the question asked. "제2차 회의는 언제?" answered
with the date of the 제1차 meeting, "위원장은 누구?" with the member who proposed the committee, "부산의 AI 예산은?" with
Seoul's figure: each quote is real, each answer is wrong. So the question's conditions are taken out of it with
kiwipiepy and regular expressions, and each must be met in the cited passage's own context:

    kind       from the question                               met where (nearest first)
    ordinal    제2차, 3호, 제330회, 1단계, 3대 (전략), 여섯 번째   quote sentence, its passage, its chunk, its section
    year       2024년, '24년                                    the same
    name       proper nouns (kiwipiepy NNP): 부산, 서상열          quote sentence, its lines, its passage, its section
    role       위원장, 발의자, 배석, 추진부서 (prompts/conditions.toml)   the quote sentence or the lines next to it
    unit       the asked quantity's unit: 몇 가구, 몇 명, 몇 %        a number with that unit in the quote or its lines

A name that no chunk the asker may see holds is "absent": the answer says so at once, naming it. A condition that is
in the documents but not next to the answer is "unmet": the answer is not shown as verified; the nearest evidence is
shown as evidence, with the unmet condition named. Abbreviations (prompts/abbreviations.toml) count as the same name.
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from index import korean

# ordinal or counted unit after a number: 제2차, 3호, 제330회, 2단계, 3대 전략, 5개 과제
# (not a word that only starts like one: 3차원, 3차례, 2차로, 4대강, 5기압)
_ORDINAL = re.compile(r"(?<![\d,.])((?<![가-힣])제\s*)?(\d{1,4})\s*(차|호|회|기|단계|대|번째|번|분기|권역)"
                      r"(?!원|례|로|선|량|압|강|관|업)")
# an article, paragraph, chapter of a law or plan: 제9조, 제3항, 제2장 (only with 제: "9조 원" is an amount)
_ARTICLE = re.compile(r"(?<![가-힣])제\s*(\d{1,3})\s*(조|항|장|절|관|편)(?:\s*의\s*(\d{1,2}))?")
# a version of a named plan or document: 로드맵 3.0, 2.0 버전, v2.1
_VERSION = re.compile(r"(?<![\d.,])(?:[vV]\s*)?(\d{1,2}\.\d{1,2})(?![\d.]|\s*(?:%|퍼센트|배|억|만|조|천|명|개|km|㎢))")
# a numbered part written after its name: 전략4, 과제 2, CHAPTER 04
_NUMBERED = re.compile(r"(전략|과제|목표|분야|chapter|part)\s*0*(\d{1,2})(?!\d)", re.I)
# the asked quantity and its unit: "몇 가구", "몇 명", "몇 %" — the answer's number must carry that unit
_UNITS = ("가구", "명", "개소", "개국", "개월", "개", "건", "곳", "대", "회", "차례", "년", "일", "시간", "분", "km", "㎢", "%",
          "퍼센트", "배", "종", "층", "석", "표", "권", "편", "호", "위")
_ASKED_UNIT = re.compile(r"몇\s*(" + "|".join(_UNITS) + r")")
# units written either way in documents (15인 이내 answers 몇 명)
_SAME_UNIT = {"명": ("명", "인"), "개": ("개", "개소", "곳"), "곳": ("곳", "개소", "개"), "개소": ("개소", "곳", "개"),
              "회": ("회", "차"), "차례": ("차례", "회", "번"), "%": ("%", "퍼센트"), "퍼센트": ("%", "퍼센트"),
              "km": ("km", "킬로미터"), "㎢": ("㎢", "km²", "km2")}
# an ordinal said in words: "여섯 번째 전략", "두 번째 주제발표" (documents number items 6번째, ⑥)
_WORD_ORDINALS = {"첫": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10}
_WORD_ORDINAL = re.compile(r"(?<![가-힣])(" + "|".join(_WORD_ORDINALS) + r")\s*번째")
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"   # also a numbered item in a question: 주제발표 ④
# 2024년, '24년, and a year naming a plan or edition without 년 ("2040 서울도시기본계획", "2019 국가 AI 전략계획")
_YEAR = re.compile(r"(?<!\d)(?:(\d{4})\s*년|'(\d{2})\s*년|((?:19|20)\d{2})(?=\s+[가-힣A-Za-z]))")
# proper nouns that are not conditions: the assistant's own frame, pronoun-like words kiwipiepy tags NNP
_NOT_NAMES = frozenset({"AI", "ai"})
_PLACE_SUFFIX = re.compile(r"(?:특별자치시|특별자치도|광역시|특별시|시|도|군|구)$")


@dataclass
class Condition:
    text: str                      # as the question writes it: "제2차", "부산", "위원장"
    kind: str                      # "ordinal" | "year" | "name" | "role" | "unit"
    forms: tuple[str, ...]         # compact forms, any of which meets it
    head: str = ""                 # the noun a counted ordinal qualifies ("5대 원칙" → 원칙): it must follow the number
    met: bool | None = None        # None: not checked (no answer to check)
    where: str = ""                # "sentence" | "lines" | "passage" | "chunk" | "section" | "headers" | "absent" |
    #                                "said_missing" (the answer says the documents lack it) | "" (unmet)

    def to_json(self) -> dict:
        return {"text": self.text, "kind": self.kind, "met": self.met, "where": self.where}


@dataclass
class Lexicon:
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)     # role → its forms
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)   # a name → other forms of it


def load_lexicon(prompts_dir: Path) -> Lexicon:
    """Roles from prompts/conditions.toml and name aliases from prompts/abbreviations.toml (both optional)."""
    from rag.expand import load_abbreviations
    roles: dict[str, tuple[str, ...]] = {}
    f = Path(prompts_dir) / "conditions.toml"
    if f.is_file():
        try:
            raw = tomllib.loads(f.read_text(encoding="utf-8")).get("roles", {})
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{f}: 읽을 수 없습니다 / cannot read: {e}") from None
        for role, forms in raw.items():
            forms = [forms] if isinstance(forms, str) else forms
            if not role.strip() or not isinstance(forms, list) or not all(isinstance(x, str) and x.strip()
                                                                          for x in forms):
                raise ValueError(f"{f}: '{role}' — 역할과 그 형태는 비어 있지 않은 글자여야 합니다 / "
                                 f"a role and its forms must be non-empty strings")
            roles[role.strip()] = tuple(dict.fromkeys([_compact(role)] + [_compact(x) for x in forms]))
    aliases: dict[str, set[str]] = {}
    for short, fulls in load_abbreviations(Path(prompts_dir) / "abbreviations.toml").items():
        group = [_compact(x) for x in [short, *fulls]]
        for x in group:
            aliases.setdefault(x, set()).update(group)
    return Lexicon(roles, {k: tuple(sorted(v)) for k, v in aliases.items()})


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text)).lower()


def _number_form(n: str, unit: str) -> str:
    return f"{int(n)}{unit}"


def extract(question: str, lexicon: Lexicon) -> list[Condition]:
    """The conditions of a question, each once, in the order the question states them."""
    out: list[Condition] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()

    def add(text: str, kind: str, forms: tuple[str, ...], head: str = "") -> None:
        if (kind, forms) not in seen:
            seen.add((kind, forms))
            out.append(Condition(text.strip(), kind, forms, head))

    q = unicodedata.normalize("NFC", question)
    compact_q = _compact(q)
    for m in _ORDINAL.finditer(q):
        unit = "가지" if m.group(3) == "가지" else m.group(3)
        head = ""
        if unit == "대":                # "5대 원칙" is not met by "5대 핵심 전략": the noun it counts comes with it
            nouns = [f for f, tag in korean.tagged_terms(q[m.end():m.end() + 20]) if tag in ("NNG", "NNP")]
            head = _compact(nouns[0]) if nouns else ""
        add(m.group(0), "ordinal", (_number_form(m.group(2), unit),), head)
    for m in _WORD_ORDINAL.finditer(q):
        n = _WORD_ORDINALS[m.group(1)]
        add(m.group(0), "ordinal", (f"{n}번째", _compact(m.group(0)), _CIRCLED[n - 1]))
    for m in _ARTICLE.finditer(q):
        form = f"제{int(m.group(1))}{m.group(2)}" + (f"의{int(m.group(3))}" if m.group(3) else "")
        add(m.group(0), "ordinal", (form,))
    for m in _VERSION.finditer(q):
        add(m.group(0), "ordinal", (m.group(1),))
    for ch in dict.fromkeys(c for c in q if c in _CIRCLED):
        n = _CIRCLED.index(ch) + 1
        add(ch, "ordinal", (ch, f"({n})", f"{n}번째"))
    for m in _NUMBERED.finditer(q):
        add(m.group(0), "ordinal", (f"{_compact(m.group(1))}{int(m.group(2))}", f"{_compact(m.group(1))}0{int(m.group(2))}"))
    for m in _ASKED_UNIT.finditer(q):
        add(m.group(0), "unit", _SAME_UNIT.get(m.group(1), (m.group(1),)))
    for m in _YEAR.finditer(q):
        y = m.group(1) or m.group(3) or ("20" + m.group(2))
        add(m.group(0), "year", (y, f"'{y[2:]}", f"’{y[2:]}"))
    for form, tag in korean.tagged_terms(q):
        if tag == "NNP" and form not in _NOT_NAMES and len(form) >= 2:
            c = _compact(form)
            stem = _PLACE_SUFFIX.sub("", c)             # 부산시 → 부산, 서울특별시 → 서울
            forms = lexicon.aliases.get(c, (c,)) + ((stem,) if len(stem) >= 2 and stem != c else ())
            # a name kiwipiepy cut out of a known abbreviation ("과기" of "과기정통부") stands for that whole group
            for key, group in lexicon.aliases.items():
                if c in key and key != c and key in compact_q:
                    forms += group
            add(form, "name", tuple(dict.fromkeys(forms)))
    taken: list[tuple[int, int]] = []
    for role in sorted(lexicon.roles, key=len, reverse=True):   # 부위원장 before 위원장
        # within a word of the question, never across a space ("구축 사업" does not hold 축사)
        for m in re.finditer(re.escape(role), q):
            if not any(s < m.end() and m.start() < e for s, e in taken):
                taken.append((m.start(), m.end()))
                add(role, "role", lexicon.roles[role])
    return out


def _has(form: str, compact_text: str) -> bool:
    """A form in a compact text; a number-led form not inside a longer number ("2차" is not in "12차")."""
    if form[:1].isdigit():
        return re.search(rf"(?<!\d){re.escape(form)}", compact_text) is not None
    if form[:1] in "'’":
        return form in compact_text
    return form in compact_text


def holds(c: Condition, text: str) -> bool:
    t = _compact(text)
    if c.kind == "unit":                 # a number written with the asked unit: "11명", "1,200가구", "3.5%"
        return any(re.search(r"\d(?:[\d,.]*\d)?(?:만|억|천|백)?" + re.escape(f), t) for f in c.forms)
    if c.kind == "year":
        return any(re.search(rf"(?<!\d){re.escape(f)}(?!\d)", t) for f in c.forms if f[:1].isdigit()) or \
            any(f in t for f in c.forms if not f[:1].isdigit())
    if c.head:                           # the counted noun within a few characters after the number: 5대 (핵심) 원칙
        return any(re.search(rf"(?<!\d){re.escape(f)}.{{0,8}}?{re.escape(c.head)}", t) for f in c.forms)
    return any(_has(f, t) for f in c.forms)


@dataclass
class Context:
    """The places around one quote where a condition may be met, nearest first."""
    sentence: str
    lines: str                     # the quote with the sentences next to it in its passage
    passage: str
    chunk: str                     # the chunks its passage came from
    section: str
    headers: str = ""              # the header-like lines of its chunks (a table's column names: 연번 사업명 … 주관부서)


# where each kind of condition may be met, nearest first: a role or the asked unit beside the quote (a role may also be
# a column name of the quote's table); a name in the quote's own passage or section (a chunk also holds unrelated
# neighbours: "광주" two lines below a figure about Seoul); an ordinal or a year also in the quote's chunk, which holds
# the heading lines a passage may leave out ("2024년 제1차 … 회의록")
LEVELS = {"role": ("sentence", "lines", "headers"), "unit": ("sentence", "lines"),
          "name": ("sentence", "lines", "passage", "section"),
          "ordinal": ("sentence", "lines", "passage", "chunk", "section"),
          "year": ("sentence", "lines", "passage", "chunk", "section")}


def check(conds: list[Condition], contexts: list[Context]) -> list[Condition]:
    """Mark each condition met or not in the quotes' contexts, at the levels LEVELS allows for its kind."""
    for c in conds:
        if c.where == "absent":
            continue
        levels = LEVELS[c.kind]
        c.met, c.where = False, ""
        for level in levels:
            if level == "headers":                # a column name: a whole word of a header line
                hit = any(_compact(w) in c.forms for ctx in contexts for w in ctx.headers.split())
            else:
                hit = any(holds(c, getattr(ctx, level)) for ctx in contexts)
            if hit:
                c.met, c.where = True, level
                break
    return conds


_SENTENCE_END = re.compile(r"(?:다|요|음|함|임|됨|니다|습니다)[.!?]?$|[.!?]$")


def header_lines(text: str) -> str:
    """Lines that read as column names, not sentences: 3 to 12 words, no sentence ending, not only numbers."""
    out = []
    for line in text.splitlines():
        words = line.split()
        if 3 <= len(words) <= 12 and not _SENTENCE_END.search(line.strip()) and not re.fullmatch(r"[\d\s.,]+", line):
            out.append(line)
    return "\n".join(out)


def unmet(conds: list[Condition]) -> list[Condition]:
    return [c for c in conds if c.met is False]
