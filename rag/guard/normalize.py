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
