"""Evidence under a budget: the item of a long PDF list that answers, not the whole list; sentences kiwipiepy cut
before their particle re-joined; layout debris dropped; passages numbered and within the budget."""
from __future__ import annotations

from collections import Counter

from index.chunking import chunk_document, chunk_units, units
from index.chunking import fine_units as _fine_units
from index.korean import terms
from index.records import Chunk, Document, Section
from rag.evidence import select_evidence
from rag.records import Hit


def fine_units(text: str, heading: str, max_chars: int):
    return _fine_units(units(text, heading), max_chars)

# the shape of a PDF text layer: a numbered list and bullets run together into one "sentence"
LIST = ("7개 핵심 과제 (1) 인재 양성 AI 핵심 인재 연간 1만 명 양성 (2) 인프라 조성 「서울 AI 테크시티」조성, 인프라 10배 "
        "확대 (3) 투자 확대 서울 Vision 2030 펀드 인공지능 대전환 신설 (4) 산업간 융복합 첨단·전략산업과의 융복합 "
        "• 글로벌화 글로벌 기업·대학·연구기관과의 협력 및 유치 • 시민확산 AI로 도시의 일상을 변화, 글로벌 AI 행사 개최")


def test_a_long_list_is_split_at_its_markers():
    us = fine_units(LIST, "", 120)
    texts = [u.text for u in us]
    assert len(us) >= 5 and all(len(t) <= 120 for t in texts)
    assert "(3) 투자 확대 서울 Vision 2030 펀드 인공지능 대전환 신설" in texts
    assert any(t.startswith("• 글로벌화") for t in texts)
    assert all(u.terms for u in us)
    # short units pass through untouched
    assert [u.text for u in fine_units("회의는 3월에 열렸다.", "", 120)] == ["회의는 3월에 열렸다."]


def test_words_are_never_cut_and_debris_is_dropped():
    long_sentence = "가나다라마 " * 60
    us = fine_units(long_sentence.strip(), "", 50)
    assert all(len(u.text) <= 50 for u in us)
    assert " ".join(u.text for u in us) == long_sentence.strip()
    assert [u.text for u in fine_units("○\n다.\n사업을 추진한다.", "", 120)] == ["사업을 추진한다."]


def _hits(*texts: str) -> list[Hit]:
    return [Hit(Chunk(f"c{i}", f"doc{i}.txt", t, ordinal=i), 1.0 - i / 10) for i, t in enumerate(texts)]


def test_the_answering_item_fits_a_small_budget():
    filler = "서울시는 다양한 인공지능 정책을 추진하고 있으며 여러 부서가 함께 참여하고 있다. " * 6
    hits = _hits(filler + LIST, "회의는 2024. 3. 26. 서울시청에서 열렸다. 참석위원은 11명이다.")
    df = Counter()
    for h in hits:
        df.update(set(terms(h.chunk.text)))
    ev = select_evidence("7대 핵심과제에서 '투자 확대' 과제로 뭐가 적혀 있어?", hits, 200, df, len(hits))
    text = "\n".join(p.text for p in ev.passages)
    assert "Vision 2030 펀드" in text
    assert len(text) <= 200 + 10
    assert [p.n for p in ev.passages] == list(range(1, len(ev.passages) + 1))


def test_units_are_stored_at_ingest_as_spans_of_the_chunk_text():
    """Ingest stores each chunk's evidence units (spans and morphemes), so a question needs no kiwipiepy pass over
    its hits: the spans are in order, do not overlap, hold the unit's own words, the long list is split, and
    separate paragraphs are separate units."""
    doc = Document("d.txt", "d", [Section(LIST + "\n\n회의는 3월에 열렸다.\n\n○\n\n2025. 3.\n\n사업을 추진한다.", None, "")])
    for cwt in chunk_document(doc, "k", 200, 1):
        c = cwt.chunk
        assert c.units
        ends = [0]
        for start, end, morphemes in c.units:
            assert start >= ends[-1] and end > start and morphemes
            ends.append(end)
        texts = [t for t, _ in chunk_units(c)]
        assert "(3) 투자 확대 서울 Vision 2030 펀드 인공지능 대전환 신설" in texts
        assert "○" not in texts and all(morphemes for _, morphemes in chunk_units(c))
        assert all(t == " ".join(c.text[s:e].split()) for t, (s, e, _) in zip(texts, c.units))
        # the section's own paragraphs stay apart: re-splitting the joined chunk text would run the list's last item
        # and the next paragraph together into one "sentence"
        assert "회의는 3월에 열렸다." in texts and "사업을 추진한다." in texts
        assert not any("개최 회의는" in t for t in texts)


def test_a_title_repeated_through_the_document_does_not_crowd_out_the_line_that_answers():
    """Minutes repeat the committee's name in many lines; the question repeats it too. Those words say which
    document, not which line: the date line that answers "회의는 언제 열렸어?" must be the top sentence."""
    from rag import choice
    title = "2024년 제1차 서울스마트도시위원회 회의록"
    q = "2024년 1차 서울스마트도시위원회 회의는 언제 열렸어?"
    minutes = "\n\n".join([title, "서울특별시 디지털정책관", "< 회의개요 >", "◆ 일 시 : 2024. 3. 26.(화) 14:00~16:00",
                            "◆ 장 소 : 서울시청 6층 기획상황실", "서울스마트도시위원회 위원 구성 현황을 보고드리겠습니다.",
                            "2024년 서울 스마트도시 시행계획을 보고드리겠습니다.",
                            "2024년 제1차 서울시 스마트도시위원회에 참석해 주신 모든 분들께 감사드립니다.",
                            "이상으로 2024년 제1차 서울스마트도시위원회를 종료하겠습니다."])
    chunks = [c.chunk for c in chunk_document(Document("minutes.txt", "m", [Section(minutes, None, "")]), "m", 40, 0)]
    chunks += [c.chunk for c in chunk_document(Document("other.txt", "o", [Section("서울 스마트도시 정책 세미나가 "
                                                                                  "열렸다.", None, "")]), "o", 40, 0)]
    assert len(chunks) >= 3
    hits = [Hit(c, 1.0 - i / 10) for i, c in enumerate(chunks)]
    df = Counter()
    for h in hits:
        df.update(set(terms(h.chunk.text)))
    test = choice.type_test(choice.factoid_type(q), q)

    def top(**kw) -> str:
        ev = select_evidence(q, hits, 160, df, 40, q_terms=set(terms(q)), holds_answer_type=test, **kw)
        p, span = ev.top_sentence()
        return p.text[span.start:span.end]

    assert "2024. 3. 26." in top()
    assert "2024. 3. 26." not in top(topic_discount=0.0, doc_weight=0.0)     # what the per-sentence score did


def test_an_abbreviation_in_the_question_finds_the_full_form_in_the_documents():
    from pathlib import Path
    from rag import expand
    table = expand.load_abbreviations(Path(__file__).parents[1] / "prompts" / "abbreviations.toml")
    q = "특위 활동기간은?"
    pairs = expand.aliases(q, terms(q), table)
    assert (("특위",), ("특별", "위원회")) in pairs
    assert set(expand.alias_terms(pairs)) >= {"특별", "위원회"}
    assert expand.aliases("MAIL 서버 안내", terms("MAIL 서버 안내"), table) == []      # "AI" only as a word
    assert expand.aliases("인공지능 정책", terms("인공지능 정책"), table) == [(("인공", "지능"), ("ai",))]
    hits = [Hit(Chunk("c0", "a.txt", "특별위원회의 활동기간은 1년으로 한다.\n회의는 매월 연다.", ordinal=0), 1.0)]
    df = Counter(set(terms(hits[0].chunk.text)))
    plain = select_evidence(q, hits, 200, df, 10, q_terms=set(terms(q)))
    expanded = select_evidence(q, hits, 200, df, 10, q_terms=set(terms(q)), aliases=pairs)
    assert expanded.coverage > plain.coverage          # the full form counts as the question's 특위


def test_abbreviation_table_errors_name_the_entry(tmp_path):
    import pytest
    from rag import expand
    bad = tmp_path / "abbreviations.toml"
    bad.write_text('[abbreviations]\n"특위" = ""\n', encoding="utf-8")
    with pytest.raises(ValueError, match="특위"):
        expand.load_abbreviations(bad)
    assert expand.load_abbreviations(tmp_path / "missing.toml") == {}
