"""Normalized views of a text with a map back to the original: NFKC, zero-width characters out, look-alike letters
mapped, split jamo composed; and a compact view without separators (for injection phrases)."""
from __future__ import annotations

import re
import unicodedata

# ---------------------------------------------------------------------------------------------
# normalization with an index map back to the original text
# ---------------------------------------------------------------------------------------------
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u2061\u2062\u2063\u2064")
# Cyrillic / Greek letters that look like Latin ones (used to dodge English keyword filters)
_CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ո": "n", "ν": "v", "ο": "o", "α": "a", "ι": "i",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "І": "I", "Ο": "O", "Α": "A", "Ε": "E", "Ι": "I", "Ν": "N", "Τ": "T",
})
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−﹣"})

# Hangul jamo tables (compatibility jamo are the working alphabet)
_CONS = "ㄱㄲㄳㄴㄵㄶㄷㄸㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅃㅄㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_LEADS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_TAILS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"   # index 0 = no final
_VV = {("ㅗ", "ㅏ"): "ㅘ", ("ㅗ", "ㅐ"): "ㅙ", ("ㅗ", "ㅣ"): "ㅚ", ("ㅜ", "ㅓ"): "ㅝ", ("ㅜ", "ㅔ"): "ㅞ",
       ("ㅜ", "ㅣ"): "ㅟ", ("ㅡ", "ㅣ"): "ㅢ"}
_TT = {("ㄱ", "ㅅ"): "ㄳ", ("ㄴ", "ㅈ"): "ㄵ", ("ㄴ", "ㅎ"): "ㄶ", ("ㄹ", "ㄱ"): "ㄺ", ("ㄹ", "ㅁ"): "ㄻ",
       ("ㄹ", "ㅂ"): "ㄼ", ("ㄹ", "ㅅ"): "ㄽ", ("ㄹ", "ㅌ"): "ㄾ", ("ㄹ", "ㅍ"): "ㄿ", ("ㄹ", "ㅎ"): "ㅀ",
       ("ㅂ", "ㅅ"): "ㅄ"}
# conjoining (U+1100..) -> compatibility jamo
_CONJ = {}
_CONJ.update({chr(0x1100 + i): c for i, c in enumerate(_LEADS)})
_CONJ.update({chr(0x1161 + i): c for i, c in enumerate(_VOWELS)})
_CONJ.update({chr(0x11A7 + i): c for i, c in enumerate(_TAILS) if i})


def _is_vowel(c: str) -> bool:
    return len(c) == 1 and c in _VOWELS


def _is_cons(c: str) -> bool:
    return len(c) == 1 and c in _CONS


def _compose(chars: list[str], spans: list[tuple[int, int]]) -> tuple[list[str], list[tuple[int, int]]]:
    """Compose runs of jamo (and a syllable followed by a loose final) into Hangul syllables."""
    out: list[str] = []
    osp: list[tuple[int, int]] = []
    n = len(chars)
    i = 0

    def vowel_at(k: int) -> bool:
        return k < n and _is_vowel(chars[k])

    def take_tail(j: int) -> tuple[str, int]:
        """Final consonant(s) starting at j, not stealing the lead of a following syllable."""
        if j < n and chars[j] in _TAILS[1:] and not vowel_at(j + 1):
            t = chars[j]
            j += 1
            if j < n and (t, chars[j]) in _TT and not vowel_at(j + 1):
                t = _TT[(t, chars[j])]
                j += 1
            return t, j
        return "", j

    while i < n:
        c = chars[i]
        if c in _LEADS and vowel_at(i + 1):
            v = chars[i + 1]
            j = i + 2
            if j < n and (v, chars[j]) in _VV:
                v = _VV[(v, chars[j])]
                j += 1
            t, j = take_tail(j)
            out.append(chr(0xAC00 + (_LEADS.index(c) * 21 + _VOWELS.index(v)) * 28 + _TAILS.index(t or " ")))
            osp.append((spans[i][0], spans[j - 1][1]))
            i = j
            continue
        if "가" <= c <= "힣" and (ord(c) - 0xAC00) % 28 == 0 and i + 1 < n and _is_cons(chars[i + 1]):
            t, j = take_tail(i + 1)
            if t:
                out.append(chr(ord(c) + _TAILS.index(t)))
                osp.append((spans[i][0], spans[j - 1][1]))
                i = j
                continue
        out.append(c)
        osp.append(spans[i])
        i += 1
    return out, osp


class _View:
    """A normalized copy of the text with, for each character, its span in the original."""

    def __init__(self, chars: list[str], spans: list[tuple[int, int]]):
        self.text = "".join(chars)
        self.spans = spans

    def orig(self, s: int, e: int) -> tuple[int, int]:
        return self.spans[s][0], self.spans[e - 1][1]


_COMPACT_DROP = re.compile(r"[\s._\-*·•|~'\"`^+=/\\,:;]")


def _views(text: str) -> tuple[_View, _View]:
    """(normal view, compact view without whitespace/separators) of the text."""
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if ch in _ZERO_WIDTH:
            continue
        if ch in _CONJ:
            chars.append(_CONJ[ch])
            spans.append((i, i + 1))
            continue
        if ("가" <= ch <= "힣") or ch.isascii() or ("ㄱ" <= ch <= "ㅣ"):
            norm = ch
        else:
            norm = unicodedata.normalize("NFKC", ch.translate(_CONFUSABLES)).translate(_DASHES)
            if len(norm) == 1 and norm in _CONJ:          # NFKC turns ㄱ (U+3131) into U+1100
                norm = ch if "ㄱ" <= ch <= "ㅣ" else _CONJ[norm]
        for c in norm:
            chars.append(_CONJ.get(c, c))
            spans.append((i, i + 1))
    normal = _View(*_compose(chars, spans))
    keep = [k for k, c in enumerate(chars) if not _COMPACT_DROP.match(c)]
    compact = _View(*_compose([chars[k] for k in keep], [spans[k] for k in keep]))
    return normal, compact


def normalize(text: str) -> str:
    """The normalized view the detectors read (exposed for tests and debugging)."""
    return _views(text)[0].text


# ---------------------------------------------------------------------------------------------
# digits written out: Korean digit words (공일공 구팔칠육 …) and one digit per space (0 1 0 - 9 8 7 6 …)
# ---------------------------------------------------------------------------------------------
_KO_DIGITS = {"공": "0", "영": "0", "빵": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5", "육": "6",
              "륙": "6", "칠": "7", "팔": "8", "구": "9"}
_KO_RUN = re.compile("[" + "".join(_KO_DIGITS) + "]{3,}")
_KO_JOIN = re.compile(r"[ \t]*(?:-|에|다시|[ \t])[ \t]*")
_SPACED = re.compile(r"(?<![0-9A-Za-z])\d(?:(?:[ \t]|[ \t]?[-.][ \t]?)\d){5,}(?![0-9])")


def _ko_chains(text: str) -> list[list[tuple[int, int]]]:
    """Runs of Korean digit words long enough to be a number someone dictated: one run of six or more syllables,
    or runs of three or more joined by a space, '-', 에 or 다시 adding up to nine or more. Each chain is a list of
    (start, end) runs. "일이삼사 단계", "삼사일", "사오십 명" stay words."""
    chains = []
    pos = 0
    while True:
        m = _KO_RUN.search(text, pos)
        if not m:
            return chains
        if m.start() and "가" <= text[m.start() - 1] <= "힣":          # inside a word: 이사오, 공공일자리
            pos = m.end()
            continue
        chain = [(m.start(), m.end())]
        end = m.end()
        while True:
            j = _KO_JOIN.match(text, end)
            nxt = _KO_RUN.match(text, j.end()) if j and j.end() > end else None
            if not nxt:
                break
            chain.append((nxt.start(), nxt.end()))
            end = nxt.end()
        total = sum(e - s for s, e in chain)
        if (len(chain) == 1 and total >= 6) or (len(chain) > 1 and total >= 9):
            chains.append(chain)
        pos = end
    return chains


def digit_view(view: _View) -> _View | None:
    """The normal view with dictated digits written as digits ("공일공 구팔칠육 오사삼이" → "010-9876-5432",
    "9 0 0 1 0 1 - 1 2 …" → "900101-12…"), so the number detectors see them; None when there are none."""
    text = view.text
    edits: list[tuple[int, int, list[tuple[str, tuple[int, int]]]]] = []
    for chain in _ko_chains(text):
        out: list[tuple[str, tuple[int, int]]] = []
        for k, (s, e) in enumerate(chain):
            if k:
                gap = (chain[k - 1][1], s)
                out.append(("-", (view.spans[gap[0]][0], view.spans[gap[1] - 1][1])))
            out += [(_KO_DIGITS[text[i]], view.spans[i]) for i in range(s, e)]
        edits.append((chain[0][0], chain[-1][1], out))
    for m in _SPACED.finditer(text):
        if any(s < m.end() and m.start() < e for s, e, _ in edits):
            continue
        edits.append((m.start(), m.end(), [(c, view.spans[i]) for i, c in enumerate(text[m.start():m.end()],
                                                                                       m.start())
                                           if not c.isspace()]))
    if not edits:
        return None
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for s, e, out in sorted(edits):
        chars += list(text[pos:s])
        spans += view.spans[pos:s]
        chars += [c for c, _ in out]
        spans += [sp for _, sp in out]
        pos = e
    chars += list(text[pos:])
    spans += view.spans[pos:]
    return _View(chars, spans)
