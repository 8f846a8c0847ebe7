"""kiwipiepy in one place: sentence splitting and the morphemes BM25 indexes.

Tags kept for BM25 (chosen deliberately, see eval/reports/retrieval-korquad.md): common and proper nouns (NNG, NNP),
numerals and numbers (NR, SN), verb and adjective stems (VV, VA), roots (XR), foreign words (SL, lower-cased) and
Hanja (SH). Particles, endings, affixes and punctuation carry no topic and only add noise to BM25.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import re

# Two rules about how a line ends, used across ingest (one place each):
# ENDS_SENTENCE: the line may end a sentence (punctuation, or a Korean final ending, 임 as in "추진 예정임"), so a
# broken PDF line after it is not joined to it (index/normalize.py).
ENDS_SENTENCE = re.compile(r"(?:[.?!。．…:;]|[다요음함됨임])[\"'”’)\]」』]*$")
# READS_AS_SENTENCE: the line reads as a sentence, not a title or heading. Nouns like 개요, 필요, 다음, 포함 end
# headings too, so a bare final syllable is not enough: punctuation or a verb ending (index/loaders.py, chunking.py).
READS_AS_SENTENCE = re.compile(r"(?:[.?!。:;]|(?:니|한|했|된|있|없|이|였|았|었|겠|는|하)다)$")

BM25_TAGS = frozenset({"NNG", "NNP", "NR", "SN", "VV", "VA", "XR", "SL", "SH"})
_lock = threading.Lock()


@dataclass
class Sentence:
    text: str
    start: int
    end: int
    terms: list[str]          # BM25 morphemes of this sentence
    n_tokens: int             # all kiwipiepy tokens (the chunk budget unit)


_kiwi = None
_kiwi_load = threading.Lock()
_WARM_UP = "서울시는 민원을 7일 이내에 처리합니다. 개인정보는 보호됩니다."


def get_kiwi():
    """The shared Kiwi, loaded once and ready: kiwipiepy initializes part of its model at the first analysis (~2 s on
    2 cores, as long as the load itself), so one short analysis here moves that cost out of the first document's or
    question's time and into the load, which preload() overlaps with loading the embedder."""
    global _kiwi
    with _kiwi_load:
        if _kiwi is None:
            from kiwipiepy import Kiwi
            kiwi = Kiwi()
            kiwi.split_into_sents(_WARM_UP, return_tokens=True)
            _kiwi = kiwi
        return _kiwi


def preload() -> threading.Thread:
    """Load Kiwi in a background thread (kiwipiepy's C++ runs beside torch loading the embedder)."""
    t = threading.Thread(target=get_kiwi, name="kiwi-load", daemon=True)
    t.start()
    return t


def settings() -> dict:
    import kiwipiepy
    return {"tokenizer": "kiwipiepy", "version": kiwipiepy.__version__, "bm25_tags": sorted(BM25_TAGS)}


def _term(form: str, tag: str) -> str | None:
    tag = tag.split("-")[0]          # VV-R / VA-I carry a regularity suffix
    if tag not in BM25_TAGS:
        return None
    return form.lower() if tag == "SL" else form


def tokenize(text: str) -> list:
    """kiwipiepy tokens (form, tag, start, len) under the module lock: one Kiwi instance is shared by threads."""
    with _lock:
        return get_kiwi().tokenize(text)


def terms(text: str) -> list[str]:
    """BM25 morphemes of a text (queries and passages alike)."""
    return [t for t in (_term(tok.form, tok.tag) for tok in tokenize(text)) if t]


def tagged_terms(text: str) -> list[tuple[str, str]]:
    """BM25 morphemes with their kiwipiepy tag (regularity suffix removed), e.g. ("김철수", "NNP")."""
    return [(t, tok.tag.split("-")[0]) for tok in tokenize(text) if (t := _term(tok.form, tok.tag))]


def split_sentences(text: str) -> list[Sentence]:
    """Whole sentences with their morphemes, in one kiwipiepy pass."""
    if not text.strip():
        return []
    with _lock:
        sents = get_kiwi().split_into_sents(text, return_tokens=True)
    out = []
    for s in sents:
        toks = s.tokens or []
        out.append(Sentence(text=s.text.strip(), start=s.start, end=s.end,
                            terms=[t for t in (_term(k.form, k.tag) for k in toks) if t], n_tokens=len(toks)))
    return [s for s in out if s.text]


_NUMBERING = re.compile(r"^\s*(?:제?\s*\d+\s*[장절조항]|[0-9IVX]+[.)]|[가-하][.)]|[□■○●◦▪\-*])\s*")


def topic(heading: str) -> str:
    """A section heading as the topic of a question: its numbering ("3. ", "가. ", "제2장 ", "□ ") left out."""
    return " ".join(_NUMBERING.sub("", heading or "").split()).strip(" .:·")


def final_consonant(word: str) -> bool | None:
    """Whether the word's last syllable has a final consonant (받침); None when it does not end in a Hangul syllable."""
    last = word[-1:] if word else ""
    if not ("\uac00" <= last <= "\ud7a3"):
        return None
    return (ord(last) - 0xAC00) % 28 != 0


def topic_particle(word: str) -> str:
    """The topic particle after `word`: 은 after a final consonant, 는 after a vowel, 은(는) after anything else."""
    fc = final_consonant(word)
    return "은(는)" if fc is None else "은" if fc else "는"
