"""Chunking keeps whole sentences and whole table rows, carries page and heading, overlaps by one sentence."""
from __future__ import annotations

from index.chunking import chunk_document, units
from index.korean import split_sentences, terms
from index.records import Document, Section

TEXT = ("Ⅰ. 추진 배경\n"
        "서울시는 2024. 3. 26. 스마트도시위원회를 열었다. 위원회는 제1544호 안건을 심의했다. "
        "총사업비는 1,234억원이며 대상 면적은 605.23km²이다.\n"
        "사업명 | 담당 부서 | 예산(억원)\n"
        "공공 와이파이 확충 | 디지털도시국 정보통신과 | 120\n"
        "AI 민원 상담 | 시민소통기획관 | 45\n"
        "Ⅱ. 향후 계획\n" + "시민 의견을 모아 계획을 보완한다. " * 30)


def test_sentences_and_numbers_stay_intact():
    sents = [s.text for s in split_sentences("회의는 2024. 3. 26. 열렸다. 의안은 제1544호이다. 면적은 605.23km²이다.")]
    assert len(sents) == 3 and "2024. 3. 26." in sents[0] and "제1544호" in sents[1] and "605.23km²" in sents[2]


def test_bm25_terms_are_content_morphemes():
    t = terms("서울시는 스마트도시위원회를 열었다")
    assert "서울시" in t or "서울" in t
    assert "는" not in t and "를" not in t and "다" not in t


def test_table_rows_are_atomic_units_with_their_heading():
    us = units(TEXT)
    rows = [u for u in us if " | " in u.text or u.row]
    # the header row as written, then each row as one record with the column names carried in
    assert [r.text for r in rows] == ["사업명 | 담당 부서 | 예산(억원)",
                                      "사업명: 공공 와이파이 확충 · 담당 부서: 디지털도시국 정보통신과 · 예산(억원): 120",
                                      "사업명: AI 민원 상담 · 담당 부서: 시민소통기획관 · 예산(억원): 45"]
    assert all(r.heading == "Ⅰ. 추진 배경" for r in rows)


def test_chunks_pack_whole_units_with_overlap_and_keep_page_and_heading():
    doc = Document("x/보고서.pdf", "보고서", [Section(TEXT, page=7)], "pdf")
    cwt = chunk_document(doc, "abc", budget=40, overlap=1)
    assert len(cwt) > 3
    whole = set(u.text for u in units(TEXT))
    for c in cwt:
        assert c.chunk.page == 7 and c.chunk.id.startswith("abc:") and c.chunk.source == "x/보고서.pdf"
        for line in c.chunk.text.split("\n"):
            assert line in whole                   # never a fragment of a sentence or a row
        assert c.terms
    # consecutive chunks share exactly their boundary unit
    a, b = cwt[0].chunk.text.split("\n"), cwt[1].chunk.text.split("\n")
    assert a[-1] == b[0]
    assert cwt[-1].chunk.section == "Ⅱ. 향후 계획"
