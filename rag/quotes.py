"""Verified quotes: code, not the model, decides which exact words of a cited passage support each claim of an answer.

An answer is split into claims (its sentences). For every claim that says something new (a name, a number or a
content morpheme the question does not already contain), one evidence sentence must hold all of its names and
numbers and at least `min_share` of its other new morphemes; that sentence, located in the passage text, is the
claim's quote. A quote the model copied itself (the quote-first strategy) counts only when it is found verbatim in
the passage after NFC and whitespace normalisation, and only when it in turn supports the claim. A negative claim
("… 규정은 없습니다") counts only when its quote itself states a negative: otherwise it is a refusal in disguise;
and a positive claim about what its quote negates ("… 등록할 수 있습니다" on "… 등록되지 않으며") is contradicted.

Nothing here trusts the model's markers: a claim's quote may come from another passage than the one it cited, and
the citation is then corrected.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from index import korean
from rag.evidence import GAP, Passage, Span

MARKER = re.compile(r"\[(\d{1,3})\]")
# words any answer may use about the evidence itself ("자료에 따르면 …", "… 확인됩니다"): not content
GENERIC = frozenset({"자료", "따르", "근거", "답변", "질문", "내용", "확인", "경우", "있", "없", "하", "되", "이",
                     "것", "수", "등", "관련", "대하", "위하", "통하", "말하", "보", "적", "나오", "명시", "기재"})
NAMES = frozenset({"NNP", "SL", "SH"})              # proper nouns, foreign words, Hanja: never invented
_DATE = re.compile(r"(\d{4})\s*(?:년|\.)\s*(\d{1,2})\s*(?:월|\.)\s*(\d{1,2})\s*(?:일|\.)?")
# a number with the magnitude word that changes its value (100만 ≠ 100억); other unit words are not compared
_NUMBER = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d+(?:\.\d+)?(?:\s*(?:만|억|천|조))?")
_NEGATIVE = re.compile(r"없(?:습니다|다|으며|고|는|음)|않(?:습니다|는다|았|고|으며|음)|아니(?:다|며|고|ㅂ니다)|아닙니다|"
                       r"아니요|미정|불가|금지|제외|해당\s*없")
# a claim ends after a full stop that follows a word, a closing bracket or a marker, never inside "2025. 4. 2."
_CLAIM_END = re.compile(r"(?<=[^\d\s.][.!?])\s+(?=\S)|\n+")
_STRIP = " \t\n\"'“”‘’「」『』<>()[]·-:"


def numbers(text: str, with_parts: bool = False) -> list[str]:
    """Numbers of a text, dates canonicalised to Y-M-D, thousands separators removed, magnitude words kept."""
    text = _DATE.sub(lambda m: f" {int(m[1])}-{int(m[2])}-{int(m[3])} ", text)
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    out = []
    for m in _NUMBER.finditer(text):
        tok = re.sub(r"\s+", "", m.group())
        out.append(tok)
        if with_parts and tok.count("-") == 2:                     # a full date also supports "2024년 3월", "26일"
            y, mo, d = tok.split("-")
            out += [y, mo, d, f"{y}-{mo}"]
    return out


def compact(text: str) -> tuple[str, list[int]]:
    """NFC text without whitespace, and for each kept character its offset in the NFC text."""
    t = unicodedata.normalize("NFC", text)
    keep = [(i, ch) for i, ch in enumerate(t) if not ch.isspace()]
    return "".join(ch for _, ch in keep), [i for i, _ in keep]


def locate(quote: str, text: str, min_chars: int = 4) -> tuple[int, int] | None:
    """Offsets in `text` of `quote` found verbatim (NFC, whitespace ignored, surrounding quote marks stripped),
    or None. A quote that crosses a gap line ("…") is not verbatim."""
    q, _ = compact(MARKER.sub("", quote).strip(_STRIP).rstrip("."))
    if len(q) < min_chars or GAP in q:
        return None
    t, pos = compact(text)
    i = t.find(q)
    if i < 0:
        return None
    start, end = pos[i], pos[i + len(q) - 1] + 1
    return (start, end) if GAP not in unicodedata.normalize("NFC", text)[start:end] else None


@dataclass
class Claim:
    text: str                    # the claim as written, markers included
    cited: list[int]             # its [n] markers, in order


@dataclass
class Quote:
    n: int                       # passage number
    start: int                   # offsets in that passage's text
    end: int
    text: str


@dataclass
class Verdict:
    verified: bool               # every claim with new content has a quote
    claims: list[Claim]
    per_claim: list[Quote | None]   # the quote of each claim (None: nothing new to support, or unverified)
    reason: str = ""             # why not: "no_support" | "negative_claim" | "empty" | "condition_unmet" |
    #                              "scattered_list"
    missing: list[int] = field(default_factory=list)   # claims that say a part of the question is not in the documents
    restates: bool = False       # no claim says anything the question does not (fine for 예/아니요, no answer to 누구?)
    echoes: list[int] = field(default_factory=list)    # claims that repeat a request of the asker's ("회신은 …로 부탁")

    @property
    def quotes(self) -> list[Quote]:
        out: list[Quote] = []
        for q in self.per_claim:
            if q is not None and not any((x.n, x.start, x.end) == (q.n, q.start, q.end) for x in out):
                out.append(q)
        return out


def claims(answer: str) -> list[Claim]:
    out = []
    for part in _CLAIM_END.split(answer.strip()):
        if part.strip():
            out.append(Claim(part.strip(), [int(n) for n in MARKER.findall(part)]))
    # a marker written after the last full stop belongs to the claim before it ("… 입니다. [1]")
    merged: list[Claim] = []
    for c in out:
        if merged and not MARKER.sub("", c.text).strip(_STRIP + "."):
            merged[-1].cited += c.cited
            merged[-1].text += " " + c.text
        else:
            merged.append(c)
    return merged


# an item number the answer writes to enumerate a list ("1. 총괄 기관 2. 전담 실행기관", "1) …", "(2) …"): not a fact
# to find in the quote, which may number its items ①, ② or not at all
_ITEM_MARK = r"\(?\d{1,2}[.)]"
_ITEM_NUMBER = re.compile(r"(?:^|(?<=[\s:,]))(?<!\d\.\s)(?<!\d\.)" + _ITEM_MARK + r"(?=\s+[^\d\s])")


# a clause ending joined to the next clause: "…11명이고 …", "…마련하며 …"
_CLAUSE_END = re.compile(r"(?<=[가-힣])(?:이고|이며|으며|하고|하며|되고|되며|했고|였고|었고)(?=\s+\S)")


def clauses(claim: Claim) -> list[Claim]:
    """A claim cut after each clause-joining ending, each part keeping the claim's markers; one part if none."""
    cuts = [m.end() for m in _CLAUSE_END.finditer(claim.text)]
    if not cuts:
        return [claim]
    bounds = [0] + cuts + [len(claim.text)]
    texts = [claim.text[a:b].strip() for a, b in zip(bounds, bounds[1:])]
    return [Claim(t, list(claim.cited)) for t in texts if t]


def new_content(claim: str, q_terms: set[str], fallback: bool = True) -> tuple[set[str], set[str], list[str]]:
    """(names, other content morphemes, numbers) of a claim that the question does not already contain. With
    `fallback`, a claim that only restates the question gets all its content morphemes instead (they need a quote)."""
    body = MARKER.sub("", claim)
    q = set(q_terms) | GENERIC
    # kiwipiepy keeps a sentence's full stop on a foreign word that ends it ("… TXT, MD." → "md."): not content
    tagged = [(t.rstrip("."), tag) for t, tag in korean.tagged_terms(body)]
    tagged = [(t, tag) for t, tag in tagged if t and t not in q and not t[0].isdigit()]
    names = {t for t, tag in tagged if tag in NAMES}
    words = {t for t, tag in tagged if tag not in NAMES}
    nums = numbers(_ITEM_NUMBER.sub(" ", body))
    if not (names or words or nums) and fallback:
        # a claim that only restates the question ("… 서버로 보내지 않습니다" to "… 서버로 보내?") still needs a
        # sentence that says it: all its content morphemes count
        words = {t for t, _ in korean.tagged_terms(body) if t not in GENERIC and not t[0].isdigit()}
    return names, words, nums


def _holds(term: str, terms: set[str], compact_text: str) -> bool:
    return term in terms or term.lower() in compact_text


def sentence_support(names: set[str], words: set[str], nums: list[str], sentence: str, terms: set[str],
                     question: str) -> float:
    """Share of a claim's new content one sentence holds; 0.0 when a name or a number is missing from it."""
    c = compact(sentence)[0].lower()
    if any(not _holds(t, terms, c) for t in names):
        return 0.0
    allowed = set(numbers(sentence + " " + question, with_parts=True))
    if any(x not in allowed for x in nums):
        return 0.0
    content = names | words
    if not content:
        return 1.0 if nums else 0.0
    return sum(_holds(t, terms, c) for t in content) / len(content)


def is_negative(text: str) -> bool:
    return bool(_NEGATIVE.search(MARKER.sub("", text)))


# a word the quote negates: "등록되지 않", "읽을 수 없", "제출하지 못" → 등록, 읽을, 제출
_NEGATED = re.compile(r"([가-힣]{2,}?)(?:하|되|할|될|하게|되게)?\s*(?:지\s*(?:않|못|말)|수\s*(?:없|가\s*없))")


def contradicts(claim: str, quote: str) -> bool:
    """A positive claim about what its quote negates ("네, … 등록할 수 있습니다" on "… 등록되지 않으며"): the words
    match, the meaning is the opposite. Only a word the quote negates, used in the claim as a verb, counts."""
    if is_negative(claim):
        return False
    body = MARKER.sub("", claim)
    return any(re.search(re.escape(m.group(1)) + r"(?:하|되|할|될|한|된|합|됩|해|돼)", body)
               for m in _NEGATED.finditer(quote))


THIN_CHARS = 6            # a quote shorter than this (without spaces), or with fewer than two morphemes, carries nothing


def thin(text: str, terms: set[str]) -> bool:
    """A bare name, a bare number or a fragment ("있음.", "김길영", "17"): too little to support a claim on its own.
    It can still support one together with the line next to it (a table cell and its row or heading)."""
    return len(compact(MARKER.sub("", text).strip(_STRIP))[0]) < THIN_CHARS or len(terms) < 2


# a list answer ("1. 총괄 기관 2. 전담 실행기관 …") joins items its passage writes one per line: up to this many
# neighbouring lines may support one claim, taken only when they support more of it than any sentence or pair
LIST_LINES = 6
# ... and such a run must hold this share of the claim's content: one invented item among four real ones fails
LIST_SHARE = 0.8


def _candidates(p: Passage, widths: range = range(1, 3)) -> list[tuple[Span, str]]:
    """A passage's sentences that are not thin (width 1) and each run of `width` neighbouring sentences with no gap
    between them (width 2: a claim may join two lines of a table; a thin line counts only with its neighbour)."""
    sents = p.sentences()
    out = [(sp, text) for sp, text in sents if not thin(text, sp.terms)] if 1 in widths else []
    for w in (w for w in widths if w > 1):
        for run in (sents[i:i + w] for i in range(len(sents) - w + 1)):
            if all(GAP not in p.text[a.end:b.start] for (a, _), (b, _) in zip(run, run[1:])):
                start, end = run[0][0].start, run[-1][0].end
                out.append((Span(start, end, set().union(*(sp.terms for sp, _ in run))), p.text[start:end]))
    return out


def quote_for(claim: Claim, passages: list[Passage], question: str, q_terms: set[str],
              min_share: float = 0.5, given: str | None = None) -> Quote | None:
    """The best-supporting quote for one claim: the model's own quote when it is verbatim and supports the claim,
    else the best evidence sentence (or pair) of the cited passages, else of any passage."""
    names, words, nums = new_content(claim.text, q_terms)
    by_n = {p.n: p for p in passages}
    if given:
        for p in [by_n[n] for n in claim.cited if n in by_n] + passages:
            loc = locate(given, p.text)
            if loc is None:
                continue
            # the quote shown is the whole evidence sentence(s) the copied words lie in, so it reads as written
            around = [sp for sp in p.spans if sp.start < loc[1] and loc[0] < sp.end]
            s, e = (min(sp.start for sp in around), max(sp.end for sp in around)) if around else loc
            text = p.text[s:e]
            terms = set(korean.terms(text))
            if not thin(text, terms) and sentence_support(names, words, nums, text, terms, question) >= min_share:
                return Quote(p.n, s, e, text)
            break                                   # found, but it does not support the claim: search below
    cited = [by_n[n] for n in dict.fromkeys(claim.cited) if n in by_n]
    for pool in (cited, [p for p in passages if p not in cited]):
        best = _best(pool, range(1, 3), names, words, nums, question, min_share)
        if best is None or best[0] < 1.0:
            # a run of lines (a list written one item a line) only where it supports more of the claim
            longer = _best(pool, range(3, LIST_LINES + 1), names, words, nums, question, max(min_share, LIST_SHARE))
            if longer is not None and (best is None or longer[0] > best[0]):
                best = longer
        if best is not None:
            return best[2]
    return None


def _best(pool: list[Passage], widths: range, names: set[str], words: set[str], nums: list[str], question: str,
          min_share: float) -> tuple[float, int, Quote] | None:
    """The candidate of these widths that supports most of the claim (the shorter one at a tie), at least min_share."""
    best: tuple[float, int, Quote] | None = None
    for p in pool:
        for sp, text in _candidates(p, widths):
            share = sentence_support(names, words, nums, text, sp.terms, question)
            if share >= min_share and (best is None or (share, -len(text)) > (best[0], best[1])):
                best = (share, -len(text), Quote(p.n, sp.start, sp.end, text))
    return best


# a claim written as a list item: "1. …", "2) …", "- …", "• …"
_ITEM_CLAIM = re.compile(r"^\s*(?:" + _ITEM_MARK + r"|[-•·▪○◦])\s+")


def scattered_list(cs: list[Claim], per: list[Quote | None], passages: list[Passage]) -> bool:
    """An answer of three or more list items whose quotes are not one list in the evidence: each item a real sentence,
    the list assembled from unrelated ones ("5대 원칙은: 1. …[1] 2. …[1]" from sentences far apart). A list the
    documents hold is one run of neighbouring lines (or one sentence) of one passage."""
    items = [q for c, q in zip(cs, per) if q is not None and _ITEM_CLAIM.match(MARKER.sub("", c.text))]
    if len(items) < 3:
        return False
    if len({q.n for q in items}) > 1:
        return True
    p = next(p for p in passages if p.n == items[0].n)
    return GAP in p.text[min(q.start for q in items):max(q.end for q in items)]


def verify(answer: str, passages: list[Passage], question: str, q_terms: set[str], min_share: float = 0.5,
           given_quotes: dict[int, str] | None = None, missing=None) -> Verdict:
    """Check every claim of an answer against the evidence. `given_quotes`: claim index → the model's own quote.
    `missing(text)`: whether a claim only says that a part of the question is not in the documents ("장소는 자료에
    없습니다."); such a claim asserts no fact, needs no quote and is kept (Verdict.missing), as long as another claim of
    the answer is verified."""
    cs = claims(answer)
    per: list[Quote | None] = []
    said_missing: list[int] = []
    echoes: list[int] = []
    requests = [compact(x)[0].rstrip(".") for x in re.split(r"(?<=[.!?])\s+|\n+", question)
                if x.strip() and not x.strip().endswith("?")]
    i = -1
    while i + 1 < len(cs):
        i += 1
        c = cs[i]
        given = (given_quotes or {}).get(i)
        if missing is not None and len(cs) > 1 and missing(MARKER.sub("", c.text)):
            said_missing.append(i)
            per.append(None)
            continue
        body = compact(MARKER.sub("", c.text).strip(_STRIP))[0].rstrip(".")
        if len(cs) > 1 and body and any(body == r or (len(body) >= 6 and body in r) or
                                        (len(r) >= 6 and r in body and len(body) - len(r) <= 12) for r in requests):
            echoes.append(i)                        # "회신은 [전화번호]로 부탁드립니다": the asker's own request said back
            per.append(None)
            continue
        names, words, nums = new_content(c.text, q_terms)
        if not (names or words or nums) and not given:
            per.append(None)                        # "예." / "맞습니다.": nothing new to support
            continue
        q = quote_for(c, passages, question, q_terms, min_share, given)
        if q is None and not given:
            parts = clauses(c)
            # "참석위원은 11명이고 배석자는 18명이었어요[1]": two facts in one sentence, each from its own line; every
            # clause then needs a quote of its own
            if len(parts) > 1 and all(quote_for(x, passages, question, q_terms, min_share) for x in parts
                                      if any(new_content(x.text, q_terms))):
                cs[i:i + 1] = parts
                i -= 1
                continue
        if q is None:
            return Verdict(False, cs, per + [None] * (len(cs) - len(per)), "no_support")
        if is_negative(c.text) and not is_negative(q.text):
            return Verdict(False, cs, per + [None] * (len(cs) - len(per)), "negative_claim")
        if contradicts(c.text, q.text):
            return Verdict(False, cs, per + [None] * (len(cs) - len(per)), "contradicted")
        per.append(q)
    if not any(per):
        return Verdict(False, cs, per, "empty" if not cs else "no_support")
    if scattered_list(cs, per, passages):
        return Verdict(False, cs, per, "scattered_list")
    restates = not any(any(new_content(c.text, q_terms, fallback=False)) for c, q in zip(cs, per) if q is not None)
    return Verdict(True, cs, per, missing=said_missing, restates=restates, echoes=echoes)
