"""Verified quotes (rag/quotes.py), gap marking in passages (rag/evidence.py) and candidate extraction (rag/choice.py):
pure parts, with real kiwipiepy. The model's own claims are never trusted: every check here is on text."""
from __future__ import annotations

from collections import Counter

from index.korean import terms
from index.records import Chunk
from rag import choice, quotes
from rag.evidence import GAP, Passage, select_evidence
from rag.records import Hit

EV = [Passage(1, "회의록.txt", None, "", "운영위원회 2025. 4. 30. 상정·의결\n재적 13명, 출석 8명\nWoven City 100억 달러"),
      Passage(2, "보고서.pdf", 3, "개요", "사업은 디지털정책과가 맡는다.\n위원 수는 15인 이내로 한다.")]


def verify(answer: str, question: str, passages=EV, given: str | None = None) -> quotes.Verdict:
    return quotes.verify(answer, passages, question, set(terms(question)), 0.5, {0: given} if given else None)


def test_a_quote_that_is_not_in_the_source_is_rejected():
    text = EV[1].text
    assert quotes.locate("사업은 디지털정책과가 맡는다", text) is not None
    # whitespace and NFC do not matter; a changed word, or a quote stitched across a gap, does
    s, e = quotes.locate("사업은  디지털 정책과가\n맡는다.", text)
    assert text[s:e].startswith("사업은") and text[s:e].endswith("맡는다")
    assert quotes.locate("사업은 디지털혁신과가 맡는다", text) is None
    assert quotes.locate("13명" + GAP + "8명", "재적 13명\n" + GAP + "\n출석 8명") is None
    # the model's own quote that is not in the passage is ignored: code finds the real supporting sentence
    v = verify("사업은 디지털정책과가 맡습니다[2].", "사업은 어느 과가 맡아?", given="사업은 스마트도시과가 맡는다.")
    assert v.verified and v.per_claim[0].n == 2 and "디지털정책과" in v.per_claim[0].text
    # and an answer no sentence supports is not verified, whatever the model quoted
    v = verify("사업은 스마트도시과가 맡습니다[2].", "사업은 어느 과가 맡아?", given="사업은 스마트도시과가 맡는다.")
    assert not v.verified and v.reason == "no_support"


def test_quote_offsets_point_at_the_quoted_words():
    v = verify("출석 위원은 8명입니다[1].", "출석 위원은 몇 명이야?")
    q = v.per_claim[0]
    assert v.verified and EV[0].text[q.start:q.end] == q.text == "재적 13명, 출석 8명"


def test_numbers_and_names_must_be_in_one_sentence():
    assert verify("2025년 4월 30일에 의결했습니다[1].", "언제 의결했어?").verified
    assert verify("재적의원은 13명입니다[1].", "재적의원은 몇 명?").verified
    assert not verify("월 임대료는 약 100만원입니다[1].", "임대료는 얼마야?").verified
    assert not verify("회의는 2024. 4. 10.에 열립니다.", "회의는 언제?").verified
    assert verify("위원은 15명 이내입니다[2].", "위원은 몇 명까지?").verified
    assert not verify("위원은 17명입니다[2].", "위원은 몇 명까지?").verified
    # a number from one sentence and a name from another do not make one supported claim
    assert not verify("디지털정책과 재적은 13명입니다.", "재적은 몇 명이야?").verified


def test_an_answer_whose_only_support_is_a_fictional_example_is_withheld():
    # the worked examples' people (prompts/examples.toml) are in no document: copying them is never verified
    ev = [Passage(1, "자료집.pdf", 1, "", "이세원 | 국토연구원 부연구위원\n권영상 좌장 | 서울대학교 교수")]
    q = "패널토론 좌장은 누가 맡았어?"
    assert verify("패널토론 좌장은 권영상 서울대학교 교수가 맡았습니다[1].", q, ev).verified
    assert not verify("좌장은 홍길동 가나대학교 교수입니다[1].", q, ev).verified
    assert not verify("좌장은 Hubert Beroche입니다[1].", q, ev).verified


def test_a_negative_claim_needs_a_negative_source():
    ev = [Passage(1, "지침.txt", None, "", "예시 앱은 위치 정보를 서버로 보내지 않는다.\n회의는 6월에 연다.")]
    assert verify("아니요. 위치 정보를 서버로 보내지 않습니다[1].", "예시 앱은 위치 정보를 서버로 보내?", ev).verified
    v = verify("회의 이후 일정은 없습니다[1].", "회의 이후 일정은 뭐야?", ev)
    assert not v.verified


def test_a_positive_claim_on_what_its_quote_negates_is_contradicted():
    ev = [Passage(1, "자주묻는질문.html", None, "", "암호가 걸린 HWP 문서는 내용을 읽을 수 없어 등록되지 않습니다.\n"
                                                  "PDF 문서는 바로 등록됩니다.")]
    v = verify("네, 암호가 걸린 HWP 문서도 등록할 수 있습니다[1].", "암호가 걸린 HWP 문서도 등록할 수 있나요?", ev)
    assert not v.verified and v.reason == "contradicted"
    assert verify("아니요, 암호가 걸린 HWP 문서는 등록되지 않습니다[1].", "암호가 걸린 HWP 문서도 등록할 수 있나요?",
                  ev).verified
    assert verify("PDF 문서는 바로 등록됩니다[1].", "PDF 문서도 등록돼?", ev).verified
    # a negation of something else in the quote is no contradiction ("소수 의견 : 없음" beside the numbers)
    ev = [Passage(1, "회의록.txt", None, "", "재적의원 13명, 출석위원 8명, 찬성 8명. 소수 의견의 요지 : 없음.")]
    assert verify("출석한 위원은 8명입니다[1].", "출석위원은 몇 명이야?", ev).verified


def test_a_list_of_foreign_words_ending_a_sentence_is_supported():
    """kiwipiepy keeps the full stop on a foreign word ending a sentence ("MD." → "md."): not a new word."""
    ev = [Passage(1, "자주묻는질문.html", None, "", "도우미가 읽을 수 있는 문서 형식은 HWP, HWPX, PDF, DOCX, HTML, TXT, MD입니다.")]
    v = verify("HWP, HWPX, PDF, DOCX, HTML, TXT, MD[1].", "도우미가 읽을 수 있는 문서 형식은 무엇인가요?", ev)
    assert v.verified, v.reason
    assert not verify("HWP, PDF, XLSX[1].", "도우미가 읽을 수 있는 문서 형식은 무엇인가요?", ev).verified


def test_a_numbered_list_answer_is_supported_by_a_circled_list_or_by_one_item_a_line():
    circled = [Passage(1, "brief.txt", 3, "", "거버넌스를 구성하는 조직은 ① 총괄 기관, ② 전담 실행기관, ③ 민관 자문·윤리협의체, "
                                             "④ 연구개발 센터로 구성된다.")]
    answer = "1. 총괄 기관 2. 전담 실행기관 3. 민관 자문·윤리협의체 4. 연구개발 센터[1]"
    assert quotes.verify(answer, circled, "거버넌스를 구성하는 조직 네 가지는?", {"거버넌스", "구성", "조직"}).verified
    lines = [Passage(1, "plan.txt", 2, "", "추진 과제\n가. 데이터 개방 확대\n나. 공공 AI 서비스 도입\n"
                                          "다. 직원 AI 교육 강화\n라. 민간 협력 체계 구축")]
    v = quotes.verify("추진 과제는 데이터 개방 확대, 공공 AI 서비스 도입, 직원 AI 교육 강화, 민간 협력 체계 구축입니다[1].",
                      lines, "추진 과제는 무엇이 있어?", {"추진", "과제"})
    assert v.verified and "데이터 개방" in v.quotes[0].text and "민간 협력" in v.quotes[0].text
    # an item the passage does not hold is still unsupported, and a real number still has to be in the quote
    assert not quotes.verify("추진 과제는 데이터 개방 확대, 드론 택시 도입, 직원 AI 교육 강화, 민간 협력 체계 구축, 해외 "
                             "사무소 개설입니다[1].", lines, "추진 과제는 무엇이 있어?", {"추진", "과제"}).verified
    assert not quotes.verify("조직은 12개 기관입니다[1].", circled, "조직은 몇 개야?", {"조직"}).verified


def test_a_list_assembled_from_sentences_far_apart_is_not_verified():
    # evidence: two passages, the first with a gap ("…") between sentences that are not neighbours in the document
    far = [Passage(1, "plan.txt", 4, "", f"공평한 기회 조성을 핵심 전략으로 채택했다. {GAP} 외부와의 파트너십을 넓힌다. {GAP} "
                                         "AI 혁신 TF를 구성했다."),
           Passage(2, "plan.txt", 9, "", "데이터 개방을 확대한다.")]
    q, terms = "기본계획의 원칙은 무엇입니까?", {"기본", "계획", "원칙"}
    answer = "1. 공평한 기회 조성[1]\n2. 외부와의 파트너십[1]\n3. AI 혁신 TF 구성[1]"
    v = quotes.verify(answer, far, q, terms)
    assert not v.verified and v.reason == "scattered_list"
    assert not quotes.verify("1. 공평한 기회 조성[1]\n2. 외부와의 파트너십[1]\n3. 데이터 개방 확대[2]", far, q, terms).verified
    # the same items as one run of neighbouring lines are a list the document holds
    near = [Passage(1, "plan.txt", 4, "", "기본 원칙\n1. 공평한 기회 조성\n2. 외부와의 파트너십\n3. AI 혁신 TF 구성")]
    assert quotes.verify(answer, near, q, terms).verified


def test_two_facts_joined_in_one_sentence_are_checked_clause_by_clause():
    ps = [Passage(1, "minutes.txt", 1, "", "참석위원 : 11명 (위원장 포함)"),
          Passage(2, "minutes.txt", 2, "", "배석 공무원 : 18명 (디지털정책관 등)")]
    q, terms = "참석위원은 몇 명이고 배석자는 몇 명이었어요?", {"참석", "위원", "배석자", "배석"}
    v = quotes.verify("참석위원은 11명이고 배석자는 18명이었어요[1].", ps, q, terms)
    assert v.verified and [c.text for c in v.claims] == ["참석위원은 11명이고", "배석자는 18명이었어요[1]."]
    assert [x.n for x in v.per_claim] == [1, 2]
    assert not quotes.verify("참석위원은 11명이고 배석자는 25명이었어요[1].", ps, q, terms).verified


def test_a_wrong_marker_is_corrected_and_the_claim_split_keeps_dates_whole():
    cs = quotes.claims("회의는 2025. 4. 30.에 의결했습니다[2]. 담당은 디지털정책과입니다 [1].")
    assert [c.cited for c in cs] == [[2], [1]] and "2025. 4. 30." in cs[0].text
    v = verify("담당은 디지털정책과입니다[1].", "담당 부서는 어디야?")
    assert v.verified and v.per_claim[0].n == 2          # the supporting sentence is in [2], not in [1]


def _hits(*texts: str) -> list[Hit]:
    return [Hit(Chunk(f"c{i}", "doc.txt", t, ordinal=i), 1.0 - i / 10) for i, t in enumerate(texts)]


def test_a_passage_marks_every_gap_between_sentences_that_are_not_neighbours():
    chunk = ("일 시 : 2024. 3. 26.(화) 14:00~16:00\n장 소 : 서울시청 본관 8층 다목적홀\n주 관 : 디지털정책과\n"
             "참석자는 위원 11명이다.\n회의는 안건 두 건을 의결했다.\n다음 회의는 6월에 열린다.")
    hits = _hits(chunk)
    df = Counter(set(terms(chunk)))
    ev = select_evidence("디지털정책과 주관 다음 회의는 6월에 열려?", hits, 32, df, 1, neighbours=0)
    p = ev.passages[0]
    lines = p.text.split("\n")
    assert GAP in lines and lines[0] != GAP and lines[-1] != GAP
    # every shown sentence is a span of the passage, in document order, and no gap stands between neighbours
    texts = [t for _, t in p.sentences()]
    assert texts == [line for line in lines if line != GAP]
    assert [chunk.index(t) for t in texts] == sorted(chunk.index(t) for t in texts)
    top = ev.top_sentence()
    assert top is not None and top[0] is p


def test_candidates_of_the_asked_type_come_from_the_evidence():
    ev = [Passage(1, "보고서.hwp", None, "", "제안일자 및 제안자 : 2025. 02. 27. 서상열 의원\n재적의원 13명, 출석위원 8명\n"
                                          "글로벌 AI 추진 계획을 총괄하는 첨단산업과 소관의 경제실\n장소 : 서울시청 본관 8층 다목적홀")]
    assert choice.factoid_type("결의안은 언제 제안됐어?") == "date"
    assert choice.factoid_type("누가 발의했어?") == "person"
    assert choice.factoid_type("출석위원은 몇 명이야?") == "number"
    assert choice.factoid_type("회의는 어디서 열렸어?") == "place"
    assert choice.factoid_type("AI 특위는 본회의에 뭘 내야 돼?") is None
    texts = lambda kind, q="": [c.text for c in choice.candidates(kind, ev, question=q)]  # noqa: E731
    assert "2025. 02. 27." in texts("date")
    assert any(t.startswith("서상열") for t in texts("person"))
    assert {"13명", "8명"} <= set(texts("number"))
    # the question names the unit it wants ("과"): only candidates ending in it
    assert texts("org", "추진 계획을 총괄하는 과는 어디야?") == ["첨단산업과"]
    assert any("다목적홀" in t for t in texts("place"))
