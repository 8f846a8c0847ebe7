"""The online path, question → cited answer, in one readable function chain:

    rewrite follow-up (short LLM call) → retrieve (BM25 ∥ dense → fuse) → select evidence (budget)
    → refuse early if the evidence is clearly insufficient → prompt (prompts/) → stream from the generator
    → citations ([n] → passages, dangling markers dropped) → refusal detection → output guard

`Assistant.stream()` yields events so the UI and the CLI can show tokens as they come; `Assistant.ask()` collects them.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from index import korean
from rag import guard
from rag.config import Config
from rag.evidence import Evidence, Passage, document_frequencies, select_evidence
from rag.generate import Stats
from rag.prompting import Prompts, load_prompts
from rag.records import Answer, Citation
from rag.retrieve import Retriever

_MARKER = re.compile(r"\[(\d{1,3})\]")
_FOLLOWUP = re.compile(r"(^|\s)(그럼|그러면|그건|그것|그거|그게|그|이|해당|거기|저기|위|앞의|앞서|방금|그분|그 사람|이 사업|그 사업)"
                       r"(\s|$|은|는|을|를|이|가|에|의|도)")


@dataclass
class Event:
    kind: str                    # "rewritten" | "evidence" | "token" | "done"
    data: object = None


@dataclass
class Collected:
    """What a whole stream of events carried, for callers that do not show tokens as they come."""
    answer: Answer | None = None
    evidence: Evidence | None = None
    tokens: list[str] = field(default_factory=list)
    rewritten: str | None = None


def collect(events: Iterator[Event]) -> Collected:
    out = Collected()
    for ev in events:
        if ev.kind == "done":
            out.answer = ev.data
        elif ev.kind == "evidence":
            out.evidence = ev.data
        elif ev.kind == "token":
            out.tokens.append(ev.data)
        elif ev.kind == "rewritten":
            out.rewritten = ev.data
    return out


@dataclass
class Turn:
    question: str
    answer: str


def location(p: Passage) -> str:
    parts = []
    if p.page:
        parts.append(f"{p.page}쪽")
    if p.section:
        parts.append(p.section)
    return (", " + ", ".join(parts)) if parts else ""


def display_source(source: str) -> str:
    return source.rsplit("/", 1)[-1]


def _user_turn(prompts: Prompts, question: str, items: list[str]) -> dict[str, str]:
    return {"role": "user", "content": prompts.answer.format(evidence="\n\n".join(items), question=question)}


def static_messages(prompts: Prompts) -> list[dict[str, str]]:
    """The byte-identical prefix of every request: the system prompt, then the worked examples as earlier turns."""
    msgs = [{"role": "system", "content": prompts.system}]
    for ex in prompts.examples:
        items = [prompts.evidence_item.format(n=i, source=e["source"], location=e["location"], text=e["text"])
                 for i, e in enumerate(ex.evidence, 1)]
        msgs += [_user_turn(prompts, ex.question, items), {"role": "assistant", "content": ex.answer}]
    return msgs


def build_messages(prompts: Prompts, question: str, passages: list[Passage]) -> list[dict[str, str]]:
    items = [prompts.evidence_item.format(n=p.n, source=display_source(p.source), location=location(p), text=p.text)
             for p in passages]
    return static_messages(prompts) + [_user_turn(prompts, question, items)]


def map_citations(text: str, passages: list[Passage], prompts: Prompts) -> tuple[str, list[Citation], list[str]]:
    """Keep markers that point to a passage, drop the others (with a warning); citations in order of first use."""
    by_n = {p.n: p for p in passages}
    warnings: list[str] = []
    used: list[int] = []

    def repl(m: re.Match) -> str:
        n = int(m.group(1))
        if n in by_n:
            if n not in used:
                used.append(n)
            return m.group(0)
        warnings.append(prompts.msg("warn_dropped_citation", n=n))
        return ""

    cleaned = _MARKER.sub(repl, text)
    cleaned = re.sub(r"[ \t]+([.,])", r"\1", cleaned).strip()
    cites = [Citation(n, by_n[n].source, by_n[n].page, by_n[n].text, by_n[n].section) for n in used]
    return cleaned, cites, warnings


def passage_terms(p: Passage) -> set[str]:
    """A passage's morphemes: from the index (stored at ingest), or computed for a passage made by hand."""
    return p.terms or set(korean.terms(p.text))


def attribute(text: str, passages: list[Passage], min_share: float = 0.5) -> Passage | None:
    """The passage that holds most of the answer's content morphemes, when it holds at least `min_share` of them."""
    terms = set(korean.terms(text))
    if not terms or not passages:
        return None
    best = max(passages, key=lambda p: len(terms & passage_terms(p)))
    return best if len(terms & passage_terms(best)) / len(terms) >= min_share else None


# words any answer may use about the evidence itself ("자료에 따르면 …", "… 확인됩니다"): not content
_GENERIC = frozenset({"자료", "따르", "근거", "답변", "질문", "내용", "확인", "경우", "있", "없", "하", "되", "이",
                      "것", "수", "등", "관련", "대하", "위하", "통하", "말하", "보"})


_NAMES = frozenset({"NNP", "SL", "SH"})              # proper nouns, foreign words, Hanja: never invented


def support(answer: str, question: str, passages: list[Passage], q_terms: set[str] | None = None) -> float:
    """Share of the answer's new content (morphemes not already in the question) that the evidence contains, 0.0 when
    a new name is missing from it. A small model that invents an address, or copies a name from the worked examples,
    writes morphemes the evidence does not contain. Numbers are checked by unsupported_numbers()."""
    ev_text = " ".join(p.text for p in passages)
    ev = set().union(*(passage_terms(p) for p in passages))
    ev_compact = re.sub(r"\s+", "", ev_text).lower()
    q = set(korean.terms(question) if q_terms is None else q_terms) | _GENERIC
    new = {(t, tag) for t, tag in korean.tagged_terms(_MARKER.sub("", answer)) if t not in q and not t[0].isdigit()}

    def found(t: str) -> bool:
        return t in ev or t.lower() in ev_compact

    if any(tag in _NAMES and not found(t) for t, tag in new):
        return 0.0
    words = {t for t, _ in new}
    if len(words) < 3:                                # too little new content to judge ("오후", "입니다")
        return 1.0
    return sum(found(t) for t in words) / len(words)


_DATE = re.compile(r"(\d{4})\s*(?:년|\.)\s*(\d{1,2})\s*(?:월|\.)\s*(\d{1,2})\s*(?:일|\.)?")
# a number with the magnitude word that changes its value (100만 ≠ 100억); other unit words are not compared, so
# "15명" is supported by "15인 이내" and "2555입니다" by "의안 번호 2555"
_NUMBER = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d+(?:\.\d+)?(?:\s*(?:만|억|천|조))?")


def _numbers(text: str, with_parts: bool = False) -> list[str]:
    text = _DATE.sub(lambda m: f" {int(m[1])}-{int(m[2])}-{int(m[3])} ", text)
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)                  # 2,000 → 2000
    out = []
    for m in _NUMBER.finditer(text):
        tok = re.sub(r"\s+", "", m.group())
        out.append(tok)
        if with_parts and tok.count("-") == 2:                     # a full date also supports "2024년 3월", "26일"
            y, mo, d = tok.split("-")
            out += [y, mo, d, f"{y}-{mo}"]
    return out


def unsupported_numbers(answer: str, passages: list[Passage], question: str = "") -> list[str]:
    """Numbers (dates canonicalized, magnitude words kept) in the answer that neither the evidence nor the question
    contains: the typical invention of a small model asked for an amount, a date or a count that is not there."""
    allowed = set(_numbers(" ".join(p.text for p in passages) + " " + question, with_parts=True))
    return [x for x in _numbers(_MARKER.sub("", answer)) if x not in allowed]


def is_refusal(text: str, prompts: Prompts) -> bool:
    t = re.sub(r"\s+", " ", text)
    return any(v in t for v in [prompts.messages["refusal"].rstrip(".")] + list(prompts.messages["refusal_variants"]))


_NUM = re.compile(r"\d+")


def valid_rewrite(out: str, question: str, history: list[Turn]) -> bool:
    """A rewrite must keep the question's own content, invent no numbers and stay a single short question."""
    if not 4 <= len(out) <= len(question) + sum(len(t.question) for t in history[-2:]) + 20 or "\n" in out:
        return False
    q_terms = set(korean.terms(question)) - {"그", "그럼", "그러면"}
    kept = len(q_terms & set(korean.terms(out))) / max(len(q_terms), 1)
    allowed = set(_NUM.findall(question + " ".join(t.question for t in history)))
    return kept >= 0.6 and set(_NUM.findall(out)) <= allowed


_CONNECTIVE = re.compile(r"^\s*(?:그럼|그러면|그리고|그래서|그런데)\s*,?\s*")
# "그 특위는", "해당 사업의" (the noun is replaced, its particle kept) or a bare "거기", "그곳에서"
_DEMONSTRATIVE = re.compile(r"(?:^|\s)(?:(?:그|이|해당|저)\s+\S+?|거기|여기|그곳|이곳)"
                            r"(은|는|이|가|을|를|에서|에게|에|도|와|과|로|으로)?(?=[\s?]|$)")
_PARTICLE_PAIRS = {"은": "는", "는": "는", "이": "가", "가": "가", "을": "를", "를": "를", "과": "와", "와": "와",
                   "으로": "로", "로": "로"}          # the form after a vowel; the other one after a final consonant


def _particle(word: str, particle: str) -> str:
    """The particle form that fits the word's last syllable (사람 + 는 → 사람은)."""
    if particle not in _PARTICLE_PAIRS or not word or not "가" <= word[-1] <= "힣":
        return particle
    after_vowel = _PARTICLE_PAIRS[particle]
    if (ord(word[-1]) - 0xAC00) % 28 == 0:
        return after_vowel
    return {"는": "은", "가": "이", "를": "을", "와": "과", "로": "으로"}[after_vowel]
# attribute nouns that end a previous question's subject but are not its topic ("… 위원장 이름이 뭐야?")
_ATTRIBUTE = frozenset({"이름", "날짜", "일자", "시기", "장소", "예산", "규모", "번호", "기간", "명칭", "목적", "내용"})


def topic(question: str) -> str:
    """The subject phrase of a question, as written: everything before its first topic or subject particle, without
    trailing attribute nouns. "AI 경쟁력 강화 특별위원회는 위원을 몇 명까지 …" → "AI 경쟁력 강화 특별위원회"."""
    toks = korean.tokenize(question)
    # a topic/subject particle right after a noun ("여는" of "AI로 여는" is not one)
    end = next((t.start for prev, t in zip(toks, toks[1:]) if t.tag in ("JX", "JKS")
                and prev.tag.startswith(("NN", "NR", "SL", "SN", "SH", "XSN", "XR"))), None)
    if end is None:
        end = next((t.start for t in toks if t.tag.startswith(("J", "E", "V", "MAG", "NP"))), len(question))
    words = question[:end].split()
    while words and words[-1] in _ATTRIBUTE:
        words.pop()
    return " ".join(words)


def carry_over(question: str, history: list[Turn]) -> str:
    """Fallback without the LLM: the previous question's subject put where the follow-up points back to it.
    "그럼 그 특위 활동기간은?" after "AI 경쟁력 강화 특별위원회는 …?" → "AI 경쟁력 강화 특별위원회 활동기간은?"."""
    q = _CONNECTIVE.sub("", question).strip()
    subject = topic(history[-1].question) if history else ""
    if not subject:
        return q or question
    m = _DEMONSTRATIVE.search(q)
    if m:
        particle = _particle(subject, m.group(1)) if m.group(1) else ""
        return (q[:m.start()] + (" " if m.start() else "") + subject + particle + q[m.end():]).strip()
    return f"{subject} {q}"


def looks_like_followup(question: str) -> bool:
    return bool(_FOLLOWUP.search(question)) or len(question.replace(" ", "")) <= 8


@dataclass
class Assistant:
    cfg: Config
    retriever: Retriever
    generator: object
    prompts: Prompts = None
    _df: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.prompts is None:
            self.prompts = load_prompts(self.cfg.prompts_dir)
        self._df = document_frequencies(self.retriever.index.terms)

    def warm_up(self) -> None:
        """Load kiwipiepy and the embedder's first batch, and prefill the static prefix (system prompt and worked
        examples) into the KV cache."""
        self.retriever.search("서울시 정책", 1)
        list(self.generator.stream(static_messages(self.prompts) + [{"role": "user", "content": "안녕하세요"}],
                                   max_tokens=1))

    # ------------------------------------------------------------------ steps
    def rewrite(self, question: str, history: list[Turn]) -> str | None:
        """A follow-up becomes a standalone question; None when not needed. When it points back explicitly
        ("그 특위는", "거기") and the previous question has a subject, that subject takes the pointer's place without
        the LLM: on the seed QA follow-ups the 1.5B model answered instead of rewriting in 13 of 14 cases and cost
        ~3 s of TTFT each time. Otherwise a short LLM call on the last turns, validated, else the same fallback."""
        if not history or not looks_like_followup(question):
            return None
        if _DEMONSTRATIVE.search(_CONNECTIVE.sub("", question)) and topic(history[-1].question):
            return carry_over(question, history)
        lines = []
        for t in history[-2:]:
            lines.append(self.prompts.msg("history_user", text=t.question))
            lines.append(self.prompts.msg("history_assistant", text=_MARKER.sub("", t.answer)[:300]))
        prompt = self.prompts.rewrite.format(history="\n".join(lines), question=question)
        # the static prefix comes first here too, so its KV cache survives this call
        messages = static_messages(self.prompts) + [{"role": "user", "content": prompt}]
        out = "".join(self.generator.stream(messages, max_tokens=60, temperature=0.0, stop=["\n"]))
        out = out.strip().strip('"').strip()
        return out if valid_rewrite(out, question, history) else carry_over(question, history)

    def evidence(self, question: str, hits, budget: int | None = None, q_terms: list[str] | None = None) -> Evidence:
        df, n = self._df
        return select_evidence(question, hits, budget or self.cfg.evidence_chars, df, n,
                               is_injection=guard.is_injection, q_terms=q_terms)

    def insufficient(self, ev: Evidence, hits) -> bool:
        """Clearly nothing to answer from: no passage, or no question morpheme and a weak dense match."""
        if not ev.passages:
            return True
        best_dense = max((h.raw.get("dense", 0.0) for h in hits), default=0.0)
        return ev.coverage < self.cfg.min_evidence_coverage and best_dense < self.cfg.min_dense_score

    # ------------------------------------------------------------------ the path
    def stream(self, question: str, history: list[Turn] | None = None,
               cancel: threading.Event | None = None, *, evidence_chars: int | None = None) -> Iterator[Event]:
        """The whole path for one question; `evidence_chars` overrides the configured evidence budget for this call."""
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        rewritten = self.rewrite(question, history or [])
        timings["rewrite_ms"] = (time.perf_counter() - t0) * 1000
        if rewritten:
            yield Event("rewritten", rewritten)
        query = rewritten or question
        t1 = time.perf_counter()
        q_terms = korean.terms(query)                 # the one kiwipiepy pass over the question
        hits = self.retriever.search(query, self.cfg.top_k, q_terms)
        ev = self.evidence(query, hits, evidence_chars, q_terms)
        timings["retrieval_ms"] = (time.perf_counter() - t1) * 1000
        yield Event("evidence", ev)
        warnings = [self.prompts.msg("warn_injection_in_evidence", source=display_source(src))
                    for src in dict.fromkeys(src for src, _ in ev.dropped_injection)]
        stats = Stats()
        truncated = False
        if self.insufficient(ev, hits):
            text, refused, cites = self.prompts.messages["refusal"], True, []
            timings.update(ttft_ms=0.0, prompt_tokens=0, completion_tokens=0)
        else:
            messages = build_messages(self.prompts, query, ev.passages)
            pieces = []
            for piece in self.generator.stream(messages, max_tokens=self.cfg.max_tokens,
                                               temperature=self.cfg.temperature, cancel=cancel, stats=stats):
                if not pieces:
                    timings["ttft_ms"] = (time.perf_counter() - t0) * 1000
                pieces.append(piece)
                yield Event("token", piece)
            raw = "".join(pieces).strip()
            refused = is_refusal(raw, self.prompts) or not raw
            if not refused and (support(raw, query, ev.passages, set(q_terms)) < self.cfg.min_support
                                or unsupported_numbers(raw, ev.passages, query)):
                refused = True
                warnings.append(self.prompts.msg("warn_unsupported"))
            if refused:
                text, cites = self.prompts.messages["refusal"], []
            else:
                text, cites, dropped = map_citations(raw, ev.passages, self.prompts)
                warnings += dropped
                if not cites:
                    # the model cited nothing: attach the passage the answer demonstrably comes from, and say so
                    best = attribute(text, ev.passages)
                    if best is not None:
                        cites = [Citation(best.n, best.source, best.page, best.text, best.section)]
                        text = f"{text} [{best.n}]"
                        warnings.append(self.prompts.msg("warn_auto_citation", n=best.n))
                    else:
                        warnings.append(self.prompts.msg("warn_no_citation"))
            truncated = stats.finish_reason == "length"
            if truncated and not refused:
                warnings.append(self.prompts.msg("warn_truncated", max_tokens=self.cfg.max_tokens))
            timings.setdefault("ttft_ms", (time.perf_counter() - t0) * 1000)
            timings.update(queue_wait_ms=stats.queue_wait_ms, generate_ms=stats.total_ms,
                           prompt_tokens=stats.prompt_tokens, completion_tokens=stats.completion_tokens)
        pii = guard.personal_types([f for part in [text] + [c.text for c in cites] for f in guard.scan(part)])
        if pii:
            warnings.append(self.prompts.msg("warn_pii_in_answer", types=", ".join(guard.TYPE_LABELS.get(t, t)
                                                                                    for t in pii)))
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        yield Event("done", Answer(question=question, text=text, citations=cites, refused=refused,
                                   warnings=warnings, timings=timings, rewritten_question=rewritten,
                                   truncated=truncated))

    def ask(self, question: str, history: list[Turn] | None = None,
            cancel: threading.Event | None = None) -> Answer:
        return collect(self.stream(question, history, cancel)).answer
