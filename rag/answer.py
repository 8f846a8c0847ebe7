"""The online path, question → cited answer, in one readable function chain:

    rewrite follow-up (short LLM call) → retrieve (BM25 ∥ dense → fuse) → select evidence (budget)
    → refuse early if the evidence is clearly insufficient → answer by one strategy (free generation, quote first,
    or candidate choice for factoid questions) → refusal detection → verified quotes (rag/quotes.py: every claim
    needs exact supporting words of a passage, else the answer is withheld or replaced by a labelled quotation)
    → citations ([n] → passages with their quotes) → output guard

`Assistant.stream()` yields events so the UI and the CLI can show tokens as they come; `Assistant.ask()` collects them.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from index import korean
from rag import expand, choice, conditions, guard, quotes
from rag.access import LOCAL, Viewer
from rag.config import Config
from rag.evidence import Evidence, Passage, select_evidence
from rag.generate import Stats
from rag.prompting import Prompts, load_prompts
from rag.records import Answer, Citation
from rag.retrieve import Retriever

_MARKER = quotes.MARKER
QUESTION_MARGIN = 32          # tokens kept free beside a question (rewritten questions, template differences)
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


def example_answer(prompts: Prompts, ex, style: str) -> str:
    """A worked example's answer as the strategy writes it: "quote" puts the copied sentence first."""
    if style != "quote":
        return ex.answer
    return prompts.msg("quote_format", quote=ex.quote or prompts.messages["quote_none"], answer=ex.answer)


def static_messages(prompts: Prompts, style: str = "free") -> list[dict[str, str]]:
    """The byte-identical prefix of every request: the system prompt, then the worked examples as earlier turns."""
    system = prompts.system + ("\n" + prompts.quote_rule if style == "quote" else "")
    msgs = [{"role": "system", "content": system}]
    for ex in prompts.examples:
        items = [prompts.evidence_item.format(n=i, source=e["source"], location=e["location"], text=e["text"])
                 for i, e in enumerate(ex.evidence, 1)]
        msgs += [_user_turn(prompts, ex.question, items), {"role": "assistant", "content": example_answer(prompts, ex, style)}]
    return msgs


def build_messages(prompts: Prompts, question: str, passages: list[Passage], style: str = "free"
                   ) -> list[dict[str, str]]:
    items = [prompts.evidence_item.format(n=p.n, source=display_source(p.source), location=location(p), text=p.text)
             for p in passages]
    return static_messages(prompts, style) + [_user_turn(prompts, question, items)]


_QUOTE_FIRST = re.compile(r"^\s*근거\s*[:：]\s*(?P<quote>.*?)\s*\n+\s*답\s*[:：]\s*(?P<answer>.+)$", re.S)


def split_quote_first(raw: str) -> tuple[str | None, str]:
    """(the model's quote, its answer) from a quote-first reply; (None, raw) when it did not keep the format."""
    m = _QUOTE_FIRST.match(raw)
    if not m:
        return None, raw
    return m.group("quote").strip(), m.group("answer").strip()


def is_refusal(text: str, prompts: Prompts) -> bool:
    t = re.sub(r"\s+", " ", text)
    return any(v in t for v in [prompts.messages["refusal"].rstrip(".")] + list(prompts.messages["refusal_variants"]))


_NUM = re.compile(r"\d+")
LOOP_MIN = 12                 # a stretch of at least this many characters written twice in a row is a loop


def loop_start(text: str, min_len: int = LOOP_MIN) -> int | None:
    """Where the second copy begins when a text ends with a stretch written twice in a row ("… 강화를 위해 '22~'26년
    … 강화를 위해 '22~'26년"), else None. A periodic text ends so at every length, so checking after each streamed
    piece finds a loop whatever the pieces' boundaries."""
    n = len(text)
    for size in range(min_len, n // 2 + 1):
        unit = text[n - size:]
        if text[n - 2 * size:n - size] == unit and sum(ch.isalnum() for ch in unit) >= min_len // 2:
            start = n - 2 * size                # back to where the repetition begins: one whole copy is kept
            while start > 0 and text[start - 1] == text[start - 1 + size]:
                start -= 1
            return start + size
    return None


_WH = re.compile(r"누구|누가|무엇|뭐|뭔|무슨|언제|어디|어느|몇|얼마|어떤|어떻게|왜|이름|명칭|(?:건|것은|거)\s*\??\s*$")


def asks_what(question: str) -> bool:
    """A question that asks for something (who, what, when, which, how many), not a yes/no question."""
    return bool(_WH.search(question))


def fragment(text: str) -> bool:
    """A piece of text with fewer than two letters: a stray syllable or marker the model wrote before its answer."""
    return sum(ch.isalnum() for ch in text) < 2


class _Halt:
    """A cancel signal the answer step can raise itself (a loop) besides the caller's (a closed page)."""

    def __init__(self, outer: threading.Event | None):
        self.outer, self.own = outer, threading.Event()

    def set(self) -> None:
        self.own.set()

    def is_set(self) -> bool:
        return self.own.is_set() or (self.outer is not None and self.outer.is_set())


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
# a pronoun standing for the previous subject, with its particle written apart or contracted into it (그건 = 그거 + 는)
_PRONOUN = re.compile(r"(?:^|(?<=\s))(그건|이건|저건|그게|이게|저게|그걸|이걸|저걸|그거|그것|이거|이것|저거|저것|걔|얘|그분|이분)"
                      r"(은|는|이|가|을|를|의|도|에서|에|와|과|로|으로)?(?=[\s?]|$)")
_CONTRACTED = {"그건": "는", "이건": "는", "저건": "는", "그게": "가", "이게": "가", "저게": "가", "그걸": "를", "이걸": "를",
               "저걸": "를"}
_PARTICLE_PAIRS = {"은": "는", "는": "는", "이": "가", "가": "가", "을": "를", "를": "를", "과": "와", "와": "와",
                   "으로": "로", "로": "로"}          # the form after a vowel; the other one after a final consonant


def _particle(word: str, particle: str) -> str:
    """The particle form that fits the word's last syllable (사람 + 는 → 사람은)."""
    fc = korean.final_consonant(word)
    if particle not in _PARTICLE_PAIRS or fc is None:
        return particle
    after_vowel = _PARTICLE_PAIRS[particle]
    if not fc:
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
    m = _PRONOUN.search(q)                    # "그건 누가 점검해?" → "감사 기록은 누가 점검해?", not "감사 기록 그건 …"
    if m:
        said = m.group(2) or _CONTRACTED.get(m.group(1), "")
        particle = _particle(subject, said) if said else ""
        return (q[:m.start()] + (" " if m.start() else "") + subject + particle + q[m.end():]).strip()
    return f"{subject} {q}"


_POINTER_NP = frozenset({"그거", "그것", "이거", "이것", "저거", "저것", "거기", "여기", "저기", "그곳", "이곳", "저곳",
                         "걔", "얘", "쟤", "그분", "이분", "그쪽", "이쪽"})
_BACK = frozenset({"위", "앞", "방금", "아까", "앞서"})          # "위에서 두 번째", "앞의 답", "방금 말한"
_CONNECTIVES = frozenset({"그럼", "그러면", "그리고", "그래서", "그런데", "근데", "그러니까"})
_PREDICATE = ("VV", "VA", "VX", "VCP", "VCN", "XSV", "XSA")


def looks_like_followup(question: str, history: list[Turn] | None = None) -> bool:
    """Whether the question leans on the previous turn, read from kiwipiepy's analysis rather than its length:
    a connective first (그럼, 그리고), a pointer (그거, 거기, 걔, 위에서; 그·저·해당 + noun; 이 + a noun the previous
    turn named), an additive 도 on its one subject ("싱가포르도 알려줘"), no predicate at all ("예산은?") or a clause
    left open ("200쪽이면?"). A short
    question with its own predicate ("PDF 지원돼?") stands alone, and so does 이 + a noun the previous turn never
    named ("이 도우미는 …"): it points at what is in front of the asker."""
    toks = [t for t in korean.tokenize(question) if t.tag not in ("SF", "SP", "SS", "SE", "SO", "SW")]
    if not toks:
        return False
    if toks[0].form in _CONNECTIVES and toks[0].tag.startswith("MA"):
        return True
    before = " ".join(f"{t.question} {t.answer}" for t in (history or [])[-1:])
    named = set(korean.terms(before))
    nouns = [t for t in toks if t.tag.startswith(("NN", "SL", "SH", "SN"))]
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t.tag == "NP" and t.form in _POINTER_NP:
            return True
        if t.form in _BACK and nxt is not None and nxt.tag.startswith("J"):
            return True
        if t.tag == "MM" and nxt is not None and nxt.tag.startswith("NN"):
            if t.form in ("그", "저") or (t.form == "이" and set(korean.terms(nxt.form) or [nxt.form]) <= named):
                return True
        if t.form == "해당" and t.tag.startswith("NN") and i == 0 and nxt is not None and nxt.tag.startswith("NN"):
            return True
        if t.form == "도" and t.tag == "JX" and i > 0 and toks[i - 1].tag in ("NNP", "NNG", "SL") and len(nouns) == 1:
            return True
    # no predicate ("예산은?"), or a clause left open by a connective ending ("200쪽이면?"): it continues the last turn
    return not any(t.tag in _PREDICATE for t in toks) or toks[-1].tag == "EC"


@dataclass
class Assistant:
    cfg: Config
    retriever: Retriever
    generator: object
    prompts: Prompts = None
    _df: object = field(default=None, repr=False)
    _budget: int | None = field(default=None, repr=False)
    lexicon: conditions.Lexicon = None

    def __post_init__(self) -> None:
        if self.prompts is None:
            self.prompts = load_prompts(self.cfg.prompts_dir)
        if self.lexicon is None:
            self.lexicon = conditions.load_lexicon(self.cfg.prompts_dir)
        self._df = self.retriever.index.document_frequencies()

    def warm_up(self) -> None:
        """Load kiwipiepy and the embedder's first batch, and prefill the static prefix (system prompt and worked
        examples) into the KV cache."""
        self.retriever.search("서울시 정책", 1)
        style = self.cfg.open_strategy if self.cfg.answer_strategy == "choice" else self.cfg.answer_strategy
        list(self.generator.stream(static_messages(self.prompts, style) + [{"role": "user", "content": "안녕하세요"}],
                                   max_tokens=1))

    # ------------------------------------------------------------------ limits
    def question_budget(self) -> int | None:
        """How many tokens a question may have so that its answer prompt fits the context window: n_ctx minus the
        answer (max_tokens), the static prefix (system prompt with the quote rule, worked examples) and a full evidence
        budget, all measured with the model's own template and tokenizer. The evidence is top_k passages of the
        worked examples' own Korean text, evidence_chars plus one chunk long (the first sentence may overshoot the
        budget), under 40-character file names. None when the generator has no local tokenizer (an external server:
        it reports an overflow itself)."""
        if self._budget is None:
            tokens = getattr(self.generator, "prompt_tokens", None)
            n_ctx = getattr(self.generator, "n_ctx", None)
            if tokens is None or not n_ctx:
                return None
            text = " ".join(e["text"] for ex in self.prompts.examples for e in ex.evidence) or "서울시 정책 문서입니다."
            k = max(self.cfg.top_k, 1)
            per = (self.cfg.evidence_chars + 2 * self.cfg.chunk_tokens) // k + 1
            text = (text * (per // max(len(text), 1) + 1))[:per]
            filler = [Passage(i, "가" * 36 + ".hwpx", 999, "", text) for i in range(1, k + 1)]
            used = len(tokens(build_messages(self.prompts, "", filler, "quote")))
            self._budget = max(n_ctx - self.cfg.max_tokens - used - QUESTION_MARGIN, 0)
        return self._budget

    def question_tokens(self, question: str) -> int:
        """The question's length in the model's tokens (UTF-8 bytes, an upper bound, without a local tokenizer)."""
        llm = getattr(self.generator, "llm", None)
        if llm is None:
            return len(question.encode("utf-8"))
        return len(llm.tokenize(question.encode("utf-8"), add_bos=False, special=False))

    def too_long(self, question: str) -> tuple[int, int] | None:
        """(the question's tokens, the budget) when it cannot fit the context window, else None. Cheap for ordinary
        questions: a question with no more UTF-8 bytes than the budget has no more tokens either."""
        budget = self.question_budget()
        # no budget at all (n_ctx cannot hold the prompt without a question) is a configuration fault, not this
        # question's: the generator reports it
        if not budget or len(question.encode("utf-8")) <= budget:
            return None
        n = self.question_tokens(question)
        return (n, budget) if n > budget else None

    # ------------------------------------------------------------------ steps
    def rewrite(self, question: str, history: list[Turn]) -> str | None:
        """A follow-up becomes a standalone question; None when not needed. When it points back explicitly
        ("그 특위는", "거기") and the previous question has a subject, that subject takes the pointer's place without
        the LLM: on the seed QA follow-ups the 1.5B model answered instead of rewriting in 13 of 14 cases and cost
        ~3 s of TTFT each time. Otherwise a short LLM call on the last turns, validated, else the same fallback."""
        if not history or not looks_like_followup(question, history):
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
        out = out if valid_rewrite(out, question, history) else carry_over(question, history)
        return None if "".join(out.split()) == "".join(question.split()) else out

    def evidence(self, question: str, hits, budget: int | None = None, q_terms: list[str] | None = None,
                 aliases=()) -> Evidence:
        df, n = self._df
        return select_evidence(question, hits, budget or self.cfg.evidence_chars, df, n,
                               is_injection=guard.is_injection, q_terms=q_terms, aliases=aliases,
                               holds_answer_type=choice.type_test(choice.factoid_type(question), question))

    def insufficient(self, ev: Evidence, hits) -> bool:
        """Clearly nothing to answer from: no passage, or no question morpheme and a weak dense match."""
        if not ev.passages:
            return True
        best_dense = max((h.raw.get("dense", 0.0) for h in hits), default=0.0)
        return ev.coverage < self.cfg.min_evidence_coverage and best_dense < self.cfg.min_dense_score

    # ------------------------------------------------------------------ the path
    def stream(self, question: str, history: list[Turn] | None = None,
               cancel: threading.Event | None = None, *, evidence_chars: int | None = None,
               strategy: str | None = None, viewer: Viewer = LOCAL) -> Iterator[Event]:
        """The whole path for one question; `evidence_chars` overrides the configured evidence budget and `strategy`
        the answer strategy for this call ("free", "quote", "choice", "choice+quote": choice with quote-first for
        the questions that are not factoid). `viewer`: who asks — retrieval sees only the chunks they may see
        (rag/access.py), so nothing after it can show a forbidden one."""
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        rewritten = self.rewrite(question, history or [])
        timings["rewrite_ms"] = (time.perf_counter() - t0) * 1000
        if rewritten:
            yield Event("rewritten", rewritten)
        query = rewritten or question
        t1 = time.perf_counter()
        own, pairs = self.retriever.query_terms(query)    # the one kiwipiepy pass over the question
        q_terms = own + expand.alias_terms(pairs)
        hits, found = self.retriever.search_many([query], self.cfg.top_k, [q_terms], viewer)[0]
        ev = self.evidence(query, hits, evidence_chars, own, pairs)
        timings["retrieval_ms"] = (time.perf_counter() - t1) * 1000
        yield Event("evidence", ev)
        conds = self.conditions(query, viewer)
        absent = [c for c in conds if c.where == "absent"]
        warnings = [self.prompts.msg("warn_injection_in_evidence", source=display_source(src))
                    for src in dict.fromkeys(src for src, _ in ev.dropped_injection)]
        stats = Stats()
        truncated = False
        verdict = None
        requested, strategy = strategy, ""
        draft_text = ""
        extractive = False
        repairs: list[dict] = []
        if absent or self.insufficient(ev, hits):
            text, refused, cites = self.refusal(absent), True, []
            timings.update(ttft_ms=0.0, prompt_tokens=0, prefill_tokens=0, completion_tokens=0)
        else:
            main, _, open_style = (requested or self.cfg.answer_strategy).partition("+")
            open_style = open_style or self.cfg.open_strategy
            strategy, kind = self.route(query, main, open_style)
            draft = None
            if strategy == "choice":
                draft = self.choose(query, kind, ev, stats, open_style, conds)
                if draft is None:                     # no candidate of the asked type: the open strategy answers
                    strategy = open_style
                else:
                    timings["ttft_ms"] = (time.perf_counter() - t0) * 1000
                    yield Event("token", draft[0])
            if draft is None:
                draft = yield from self.generate(query, ev, strategy, stats, cancel, t0, timings)
            raw, given = draft
            draft_text = raw
            refused = is_refusal(raw, self.prompts) or not raw
            if not refused:
                verdict = quotes.verify(raw, ev.passages, query, set(q_terms), self.cfg.min_support,
                                        {0: given} if given else None, lambda t: is_refusal(t, self.prompts))
                if verdict.verified and verdict.restates and asks_what(query):
                    # "위원장이 … 한 건?" answered "네, 위원장이 … 한 건[1].": the question back, not an answer
                    verdict.verified, verdict.reason = False, "restates_question"
                if verdict.verified:
                    conditions.check(conds, self.contexts(verdict, ev, hits))
                    # a condition the answer itself says the documents lack ("제2차 회의는 자료에 없습니다.") is
                    # not claimed by it: the partial answer stands, the condition stays unmet and says so
                    said = " ".join(verdict.claims[i].text for i in verdict.missing)
                    for c in conditions.unmet(conds):
                        if said and conditions.holds(c, said):
                            c.where = "said_missing"
                    unmet = [c for c in conditions.unmet(conds) if c.where != "said_missing"]
                    if unmet:
                        verdict.verified, verdict.reason = False, "condition_unmet"
            if refused:
                text, cites = self.refusal(absent), []
            elif verdict.reason == "condition_unmet":
                refused = True
                text, cites = self.related_only(unmet, verdict, ev)
                extractive = bool(cites)
            elif not verdict.verified and self.cfg.unverified == "extract" and ev.top_sentence() is not None:
                text, cites = self.extract(ev)
                extractive = True
                warnings.append(self.prompts.msg("warn_extractive"))
            elif not verdict.verified:
                refused = True
                text, cites = self.prompts.messages["refusal"], []
                warnings.append(self.prompts.msg("warn_unsupported"))
            else:
                text, cites, repairs = self.cite(verdict, ev.passages)
            truncated = stats.finish_reason == "length"
            if truncated and not refused:
                warnings.append(self.prompts.msg("warn_truncated", max_tokens=self.cfg.max_tokens))
            timings.setdefault("ttft_ms", (time.perf_counter() - t0) * 1000)
            timings.update(queue_wait_ms=stats.queue_wait_ms, generate_ms=stats.total_ms, cancelled=stats.cancelled,
                           prompt_tokens=stats.prompt_tokens, prefill_tokens=stats.prefill_tokens,
                           completion_tokens=stats.completion_tokens)
            if stats.choice_margin is not None:
                timings["choice_margin"] = stats.choice_margin
        pii = guard.personal_types([f for part in [text] + [c.text for c in cites] for f in guard.scan(part)])
        if pii:
            warnings.append(self.prompts.msg("warn_pii_in_answer", types=", ".join(guard.TYPE_LABELS.get(t, t)
                                                                                    for t in pii)))
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        yield Event("done", Answer(question=question, text=text, citations=cites, refused=refused,
                                   warnings=warnings, timings=timings, rewritten_question=rewritten,
                                   truncated=truncated, strategy=strategy, verified=bool(cites) and not extractive,
                                   extractive=extractive,
                                   unverified_reason=(verdict.reason if verdict and not verdict.verified else ""),
                                   draft=draft_text, user=viewer.name,
                                   withheld=found["withheld"], conditions=[c.to_json() for c in conds],
                                   repairs=repairs))

    # ------------------------------------------------------------------ conditions of the question
    def conditions(self, query: str, viewer: Viewer) -> list[conditions.Condition]:
        """The question's conditions (rag/conditions.py); a name no chunk this viewer may see holds is marked
        absent at once (the check reads only the viewer's own part of the index)."""
        conds = conditions.extract(query, self.lexicon)
        for c in conds:
            if c.kind == "name" and not any(self.name_visible(f, viewer) for f in c.forms):
                c.met, c.where = False, "absent"
        return conds

    def name_visible(self, form: str, viewer: Viewer) -> bool:
        """Whether a chunk this viewer may see holds the name. kiwipiepy may cut a compound name differently inside a
        document ("서울시교육청의" → 서울시 + 교육청) than alone in a question (서울시교육청): a name that is not a
        morpheme of the index counts as held when it splits into two that are."""
        if self.retriever.visible(korean.terms(form), viewer):
            return True
        return any(self.retriever.visible([form[:i], form[i:]], viewer) for i in range(2, len(form) - 1))

    def refusal(self, absent: list[conditions.Condition]) -> str:
        """The plain refusal, or one that names what the documents do not mention at all."""
        if not absent:
            return self.prompts.messages["refusal"]
        return self.prompts.msg("condition_absent", names=", ".join(f"'{c.text}'" for c in absent))

    @staticmethod
    def contexts(verdict: quotes.Verdict, ev: Evidence, hits) -> list[conditions.Context]:
        """Where each quote stands: its sentence, the lines next to it, its passage, its chunks, its section and the
        header lines of its chunks."""
        by_n = {p.n: p for p in ev.passages}
        chunks = {h.chunk.id: h.chunk for h in hits}
        out = []
        for q in verdict.quotes:
            p = by_n[q.n]
            idx = [i for i, sp in enumerate(p.spans) if sp.start < q.end and q.start < sp.end]
            lo, hi = (max(min(idx) - 1, 0), min(max(idx) + 1, len(p.spans) - 1)) if idx else (None, None)
            lines = p.text[p.spans[lo].start:p.spans[hi].end] if idx else q.text
            own = [chunks[i] for i in p.chunk_ids if i in chunks]
            chunk_text = "\n".join(c.text for c in own)
            out.append(conditions.Context(q.text, lines, p.text, chunk_text,
                                          " ".join([p.section] + [c.section for c in own]),
                                          conditions.header_lines(chunk_text)))
        return out

    def related_only(self, missing: list[conditions.Condition], verdict: quotes.Verdict, ev: Evidence
                     ) -> tuple[str, list[Citation]]:
        """A verified quote that does not meet a condition of the question: no answer; the unmet conditions are named
        and the nearest evidence (the first quote) is shown as evidence, not as the answer."""
        names = ", ".join(f"'{c.text}'" for c in missing)
        q = verdict.quotes[0] if verdict.quotes else None
        if q is None:
            return self.prompts.msg("condition_unmet", names=names), []
        p = {p.n: p for p in ev.passages}[q.n]
        text = self.prompts.msg("condition_unmet", names=names) + " " + \
            self.prompts.msg("related_evidence", quote=q.text.strip(), n=q.n)
        return text, [Citation(p.n, p.source, p.page, p.text, p.section_at(q.start), quote=q.text,
                                    quotes=[(q.start, q.end)])]

    # ------------------------------------------------------------------ answer strategies
    def route(self, question: str, main: str, open_style: str) -> tuple[str, str | None]:
        """(strategy, factoid type): candidate choice only for a factoid question and a generator that can score."""
        if main == "choice":
            kind = choice.factoid_type(question)
            if kind is not None and hasattr(self.generator, "score"):
                return "choice", kind
            return open_style, None
        return main, None

    def generate(self, query: str, ev: Evidence, style: str, stats: Stats, cancel, t0: float, timings: dict):
        """Free or quote-first generation, streamed; returns (answer text, the model's own quote or None). In the
        quote-first reply only the part after "답:" is streamed."""
        messages = build_messages(self.prompts, query, ev.passages, style)
        pieces: list[str] = []
        shown = 0
        halt = _Halt(cancel)
        for piece in self.generator.stream(messages, max_tokens=self.cfg.max_tokens,
                                           temperature=self.cfg.temperature, cancel=halt, stats=stats):
            if halt.own.is_set():               # stopped for a loop: the last pieces before it stops are dropped
                continue
            pieces.append(piece)
            sofar = "".join(pieces)
            cut = loop_start(sofar)
            if cut is not None:                 # the model repeats itself: stop it, keep the text before the repeat
                halt.set()
                timings["looped"] = True
                pieces = [sofar[:cut]]
                continue
            if style == "quote":
                m = re.search(r"\n\s*답\s*[:：]\s*", sofar)
                if not m:
                    continue
                visible = sofar[m.end():]
            else:
                visible = sofar
            if len(visible) > shown:
                if not shown:
                    timings["ttft_ms"] = (time.perf_counter() - t0) * 1000
                yield Event("token", visible[shown:])
                shown = len(visible)
        if halt.own.is_set() and not (cancel is not None and cancel.is_set()):
            stats.cancelled, stats.finish_reason = False, "loop"
        raw = "".join(pieces).strip()
        if style == "quote":
            given, raw = split_quote_first(raw)
            return raw, (None if given is None or is_refusal(given, self.prompts) else _MARKER.sub("", given))
        return raw, None

    def choose(self, query: str, kind: str, ev: Evidence, stats: Stats, style: str,
               conds: list[conditions.Condition] = ()) -> tuple[str, None] | None:
        """Candidate choice: spans of the asked type from the evidence and the refusal, ranked by the model's
        log-likelihood after the question (shared prompt prefix kept in the KV cache). The refusal wins, or the best
        candidate leads the next by less than choice_min_margin: refuse. None when the evidence has no candidate.
        The question's conditions filter the candidates first: one whose sentence and passage do not meet them all
        is not offered to the model (no candidate left: refuse)."""
        cands = choice.candidates(kind, ev.passages, question=query)
        if not cands:
            return None
        if conds:
            by_n = {p.n: p for p in ev.passages}
            cands = [c for c in cands if not conditions.unmet(conditions.check(
                [replace(x) for x in conds],
                [conditions.Context(c.sentence, c.sentence, by_n[c.n].text, by_n[c.n].text, by_n[c.n].section)]))]
            if not cands:
                return self.prompts.messages["refusal"], None
        refusal = self.prompts.messages["refusal"]
        messages = build_messages(self.prompts, query + "\n" + self.prompts.choice, ev.passages, style)
        scored = self.generator.score(messages, self.prompts.messages["choice_prefix"],
                                      [" " + c.text for c in cands] + [" " + refusal], stats)
        ranked = sorted(zip(cands + [None], scored), key=lambda x: -x[1][0])
        best, (lp, _) = ranked[0]
        margin = lp - ranked[1][1][0] if len(ranked) > 1 else float("inf")
        stats.choice_margin = round(margin, 3) if margin != float("inf") else None
        if best is None or margin < self.cfg.choice_min_margin:
            return refusal, None
        return self.prompts.msg("choice_answer", answer=best.text.rstrip(". "), n=best.n), None

    def extract(self, ev: Evidence) -> tuple[str, list[Citation]]:
        """The best evidence sentence itself, labelled as a quotation: what is shown when no answer is verified."""
        p, sp = ev.top_sentence()
        quote = p.text[sp.start:sp.end]
        return (self.prompts.msg("extractive_answer", quote=quote, n=p.n),
                [Citation(p.n, p.source, p.page, p.text, p.section_at(sp.start), quote=quote,
                          quotes=[(sp.start, sp.end)])])

    @staticmethod
    def cite(verdict: quotes.Verdict, passages: list[Passage]) -> tuple[str, list[Citation], list[dict]]:
        """The answer rebuilt claim by claim: each cites the passage holding its verified quote (a wrong marker is
        corrected, recorded as a repair for the audit log, a marker to a passage without a quote is dropped);
        citations carry their quotes."""
        repairs: list[dict] = []
        by_n = {p.n: p for p in passages}
        parts = []
        for i, (c, q) in enumerate(zip(verdict.claims, verdict.per_claim)):
            if i in verdict.echoes:
                continue                        # the asker's own request said back is not part of the answer
            body = re.sub(r"[ \t]+([.,!?])", r"\1", _MARKER.sub("", c.text)).strip()
            if q is None and fragment(body):
                continue                        # "가[1]." before the first sentence: not a sentence, not shown
            if q is None:
                ns = []
            else:
                ns = [q.n]
                if c.cited and q.n not in c.cited:
                    repairs.append({"kind": "citation_moved", "from": c.cited[0], "to": q.n})
            marks = "".join(f"[{n}]" for n in ns)
            parts.append(body[:-1] + marks + body[-1] if marks and body.endswith((".", "!", "?")) else body + marks)
        text = " ".join(parts)
        cites = []
        for n in dict.fromkeys(q.n for q in verdict.quotes):
            p = by_n[n]
            spans = [(q.start, q.end) for q in verdict.quotes if q.n == n]
            cites.append(Citation(n, p.source, p.page, p.text, p.section_at(spans[0][0]),
                                  quote=" … ".join(p.text[s:e] for s, e in spans), quotes=spans))
        return text, cites, repairs

    def ask(self, question: str, history: list[Turn] | None = None,
            cancel: threading.Event | None = None, viewer: Viewer = LOCAL) -> Answer:
        return collect(self.stream(question, history, cancel, viewer=viewer)).answer
