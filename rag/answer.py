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


def build_messages(prompts: Prompts, question: str, passages: list[Passage]) -> list[dict[str, str]]:
    items = [prompts.evidence_item.format(n=p.n, source=display_source(p.source), location=location(p), text=p.text)
             for p in passages]
    user = prompts.answer.format(evidence="\n\n".join(items), question=question)
    return [{"role": "system", "content": prompts.system}, {"role": "user", "content": user}]


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


def attribute(text: str, passages: list[Passage], min_share: float = 0.5) -> Passage | None:
    """The passage that holds most of the answer's content morphemes, when it holds at least `min_share` of them."""
    terms = set(korean.terms(text))
    if not terms or not passages:
        return None
    best = max(passages, key=lambda p: len(terms & set(korean.terms(p.text))))
    return best if len(terms & set(korean.terms(best.text))) / len(terms) >= min_share else None


# words any answer may use about the evidence itself ("자료에 따르면 …", "… 확인됩니다"): not content
_GENERIC = frozenset({"자료", "따르", "근거", "답변", "질문", "내용", "확인", "경우", "있", "없", "하", "되", "이",
                      "것", "수", "등", "관련", "대하", "위하", "통하", "말하", "보"})


def support(answer: str, question: str, passages: list[Passage]) -> float:
    """Share of the answer's new content (morphemes and numbers not already in the question) found in the evidence.
    A small model that invents an address or an amount writes morphemes the evidence does not contain."""
    new = {t for t in set(korean.terms(_MARKER.sub("", answer))) - set(korean.terms(question)) - _GENERIC
           if not t[0].isdigit()}                 # numbers are checked by unsupported_numbers()
    if len(new) < 3:                              # too little new content to judge ("오후", "입니다")
        return 1.0
    ev = set(korean.terms(" ".join(p.text for p in passages)))
    return len(new & ev) / len(new)


_DATE = re.compile(r"(\d{4})\s*(?:년|\.)\s*(\d{1,2})\s*(?:월|\.)\s*(\d{1,2})\s*(?:일|\.)?")
_NUM_UNIT = re.compile(r"\d[\d,]*(?:\.\d+)?\s*(?:[가-힣%]|km|㎢)?")


def _canon_numbers(text: str) -> str:
    text = _DATE.sub(lambda m: f"{int(m[1])}-{int(m[2])}-{int(m[3])}", text)
    return re.sub(r"\s+", "", text).replace(",", "")


def unsupported_numbers(answer: str, passages: list[Passage]) -> list[str]:
    """Numbers (with their unit syllable, dates canonicalized) in the answer that the evidence does not contain:
    the typical invention of a small model asked for an amount, a date or a count that is not there."""
    ans = _canon_numbers(_MARKER.sub("", answer))
    ev = _canon_numbers(" ".join(p.text for p in passages))
    found = re.findall(r"\d{4}-\d{1,2}-\d{1,2}|" + _NUM_UNIT.pattern, ans)
    return [x for x in found if x not in ev]


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


def carry_over(question: str, history: list[Turn]) -> str:
    """Fallback without the LLM: the previous question's nouns in front of the follow-up."""
    prev = [t for t in korean.nouns(history[-1].question) if t not in question] if history else []
    return (" ".join(dict.fromkeys(prev)) + " " + question).strip()


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
        """Load kiwipiepy and the embedder's first batch, and prefill the static system prompt into the KV cache."""
        self.retriever.search("서울시 정책", 1)
        list(self.generator.stream([{"role": "system", "content": self.prompts.system},
                                    {"role": "user", "content": "안녕하세요"}], max_tokens=1))

    # ------------------------------------------------------------------ steps
    def rewrite(self, question: str, history: list[Turn]) -> str | None:
        """A follow-up becomes a standalone question (short LLM call on the last turns); None when not needed."""
        if not history or not looks_like_followup(question):
            return None
        lines = []
        for t in history[-2:]:
            lines.append(self.prompts.msg("history_user", text=t.question))
            lines.append(self.prompts.msg("history_assistant", text=_MARKER.sub("", t.answer)[:300]))
        prompt = self.prompts.rewrite.format(history="\n".join(lines), question=question)
        # the system message comes first here too, so the KV cache of that static prefix survives this call
        messages = [{"role": "system", "content": self.prompts.system}, {"role": "user", "content": prompt}]
        out = "".join(self.generator.stream(messages, max_tokens=60, temperature=0.0, stop=["\n"]))
        out = out.strip().strip('"').strip()
        return out if valid_rewrite(out, question, history) else carry_over(question, history)

    def evidence(self, question: str, hits) -> Evidence:
        df, n = self._df
        return select_evidence(question, hits, self.cfg.evidence_chars, df, n, is_injection=guard.is_injection)

    def insufficient(self, ev: Evidence, hits) -> bool:
        """Clearly nothing to answer from: no passage, or no question morpheme and a weak dense match."""
        if not ev.passages:
            return True
        best_dense = max((h.raw.get("dense", 0.0) for h in hits), default=0.0)
        return ev.coverage < self.cfg.min_evidence_coverage and best_dense < self.cfg.min_dense_score

    # ------------------------------------------------------------------ the path
    def stream(self, question: str, history: list[Turn] | None = None,
               cancel: threading.Event | None = None) -> Iterator[Event]:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        rewritten = self.rewrite(question, history or [])
        timings["rewrite_ms"] = (time.perf_counter() - t0) * 1000
        if rewritten:
            yield Event("rewritten", rewritten)
        query = rewritten or question
        t1 = time.perf_counter()
        hits = self.retriever.search(query, self.cfg.top_k)
        ev = self.evidence(query, hits)
        timings["retrieval_ms"] = (time.perf_counter() - t1) * 1000
        yield Event("evidence", ev)
        warnings = [self.prompts.msg("warn_injection_in_evidence", source=display_source(src))
                    for src in dict.fromkeys(src for src, _ in ev.dropped_injection)]
        stats = Stats()
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
            if not refused and (support(raw, query, ev.passages) < self.cfg.min_support
                                or unsupported_numbers(raw, ev.passages)):
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
            timings.setdefault("ttft_ms", (time.perf_counter() - t0) * 1000)
            timings.update(queue_wait_ms=stats.queue_wait_ms, generate_ms=stats.total_ms,
                           prompt_tokens=stats.prompt_tokens, completion_tokens=stats.completion_tokens)
        pii = sorted({f.type for part in [text] + [c.text for c in cites] for f in guard.scan(part)
                      if f.severity != "low" and f.type not in ("INJECTION", "CONFIDENTIAL")})
        if pii:
            warnings.append(self.prompts.msg("warn_pii_in_answer", types=", ".join(guard.TYPE_LABELS.get(t, t)
                                                                                    for t in pii)))
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        yield Event("done", Answer(question=question, text=text, citations=cites, refused=refused,
                                   warnings=warnings, timings=timings, rewritten_question=rewritten))

    def ask(self, question: str, history: list[Turn] | None = None,
            cancel: threading.Event | None = None) -> Answer:
        answer = None
        for ev in self.stream(question, history, cancel):
            if ev.kind == "done":
                answer = ev.data
        return answer
