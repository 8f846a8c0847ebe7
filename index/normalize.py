"""Clean extracted text before it is split into sentences: one pure function, `normalize_text`.

What it repairs, in this order (each step is a small function below):
1. NFC (never NFKC: "605.23km²" and "①" must stay as they are), line ends unified to "\n".
2. Control and format characters removed (zero-width space/joiner, BOM, soft hyphen, bidi marks) and so is U+FFFD
   (a glyph an earlier extraction could not decode); tabs become spaces.
3. Spaced-out syllables joined: "서 울 특 별 시" -> "서울특별시", "검   토   보   고" -> "검토보고", only for a run of
   >= 3 single Hangul syllables, and not when every syllable is a common one-syllable word ("및 그 외"). Where the
   gaps differ ("서 울 특 별 시  의 회"), the narrower ones are inside words, the wider ones between them.
4. Horizontal whitespace collapsed (NBSP and ideographic space included), lines stripped.
5. Text written with a blank line after every line (a common PDF-to-text export) gets its single blank lines back as
   plain line breaks; two or more blank lines still separate paragraphs.
6. Lines broken mid-sentence joined with a space, when the first line does not end a sentence (punctuation or
   다/요/음/함/됨/임), is no table row and is long enough (12 characters; 30 after a number or "□", where a short line
   is a heading), and the next line starts like a continuation, not like a list item, heading or table row.
Numbers, dates ("2024. 3. 26."), bill numbers (제1544호) and units (1,234억원) pass through untouched: no step
touches digits or the punctuation around them.
"""
from __future__ import annotations

import re
import unicodedata

from index.korean import ENDS_SENTENCE

# A line starting like this is a list item of its own: bullets, notes ("※", "*"), quotes, table pipes.
_BULLET = r"[○●◦∙·•‣▪▫❍➢➤▶▷►※*\-–—+>|]"
# ... or a numbered item or heading: "□", "1.", "1)", "(1)", "가.", "①", "Ⅰ.", "제3조", markdown "#".
_NUMBERED = (
    r"[□■◎◇◆#]"
    r"|[①-⑳㉠-㉻㈀-㈜⑴-⒇⒜-⒵]"
    r"|\(?\d{1,2}[.)](?!\d)"
    r"|\(\d{1,2}\)"
    r"|\(?[가-하][.)]"
    r"|\([가-하]\)"
    r"|[IVXⅠ-Ⅻⅰ-ⅻ]{1,4}\."
    r"|제\s?\d+\s?[편장절관조항호목]"
    r"|[A-Za-z][.)]\s"
)
_ITEM_START = re.compile(f"^(?:{_BULLET}|{_NUMBERED})")
_NUMBERED_START = re.compile(f"^(?:{_NUMBERED})")
_CONTINUES = re.compile(r"^[가-힣A-Za-z0-9(\"'“‘「『\[]")
_TABLE_ROW = " | "
# Shorter lines are taken for titles or headings and never joined to the next one; wrapped lines are longer.
MIN_JOIN_CHARS = 12
MIN_JOIN_CHARS_NUMBERED = 30      # a wrapped numbered item is a nearly full line; a short numbered line is a heading

# Syllables that are words on their own; a spaced run made only of these is ordinary text ("및 그 외", "이 중 한 명").
_ONE_SYLLABLE_WORDS = frozenset(
    "및 그 이 저 각 수 등 것 때 중 안 못 더 또 즉 왜 좀 잘 꼭 한 두 세 네 제 총 약 전 후 위 외 내 간 뿐 데 줄 바 곳 "
    "번 건 년 월 일 원 분 초 회 차 개 명 장 권 대 점 말 속 새 옛 곧 늘 참 꽤 나 너 뒤 앞 옆 밖 겉 첫 온 딴".split())
_SPACED_RUN = re.compile(r"(?<![가-힣])[가-힣](?:[ \u00a0]+[가-힣])+(?![가-힣])")

# Control (Cc) and format (Cf) characters, U+FFFD; "\n" stays, tabs and other spacing controls become spaces.
_SPACING_CONTROLS = re.compile(r"[\t\v\f\x1c-\x1f\x85]")
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ufffd\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")


def normalize_text(text: str) -> str:
    """Clean one document's (or section's) extracted text; see the module docstring for the steps."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _drop_invisible(text)
    lines = [_collapse_spaces(_join_spaced_syllables(line)) for line in text.split("\n")]
    lines = _undouble_spacing(lines)
    lines = _join_broken_lines(lines)
    return _squeeze_blank_lines(lines)


def _drop_invisible(text: str) -> str:
    return _INVISIBLE.sub("", _SPACING_CONTROLS.sub(" ", text))


def _join_spaced_syllables(line: str) -> str:
    """Join a letter-spaced run. Where its gaps differ, gaps up to the smallest width that leaves no lone syllable
    are inside words and wider ones separate them ("서 울 특 별 시  의 회" -> "서울특별시 의회")."""
    def repl(m: re.Match[str]) -> str:
        run = m.group(0)
        syllables = run.split()
        if len(syllables) < 3 or all(s in _ONE_SYLLABLE_WORDS for s in syllables):
            return run
        gaps = [len(g) for g in re.findall(r"[ \u00a0]+", run)]
        for inside in sorted(set(gaps)):
            words = [syllables[0]]
            for gap, syllable in zip(gaps, syllables[1:]):
                if gap <= inside:
                    words[-1] += syllable
                else:
                    words.append(syllable)
            if all(len(w) > 1 for w in words):
                return " ".join(words)
        return run                                   # not reached: the widest threshold makes one word
    return _SPACED_RUN.sub(repl, line)


def _collapse_spaces(line: str) -> str:
    return re.sub(r"[^\S\n]+", " ", line).strip()


def _undouble_spacing(lines: list[str]) -> list[str]:
    """Drop single blank lines when nearly every line is followed by exactly one blank line."""
    n = len(lines)
    text_lines = [i for i in range(n) if lines[i]]
    if len(text_lines) < 6:
        return lines
    single_gap = sum(1 for i in text_lines if i + 2 < n and not lines[i + 1] and lines[i + 2])
    adjacent = sum(1 for i in text_lines if i + 1 < n and lines[i + 1])
    if single_gap < 0.6 * len(text_lines) or adjacent > 0.1 * len(text_lines):
        return lines
    out = []
    for i, line in enumerate(lines):
        if not line and 0 < i < n - 1 and lines[i - 1] and lines[i + 1]:
            continue
        out.append(line)
    return out


def _is_table_row(line: str) -> bool:
    return _TABLE_ROW in line


def should_join(prev: str, nxt: str) -> bool:
    """True when `nxt` continues the sentence that `prev` (a stripped, non-empty line) broke off."""
    if not prev or not nxt or _is_table_row(prev) or _is_table_row(nxt) or prev.startswith("#"):
        return False
    if ENDS_SENTENCE.search(prev) or _ITEM_START.match(nxt) or not _CONTINUES.match(nxt):
        return False
    min_chars = MIN_JOIN_CHARS_NUMBERED if _NUMBERED_START.match(prev) else MIN_JOIN_CHARS
    return len(prev) >= min_chars


def _join_broken_lines(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and out[-1] and should_join(out[-1], line):
            out[-1] = out[-1] + " " + line
        else:
            out.append(line)
    return out


def _squeeze_blank_lines(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
