"""The question's conditions (rag/conditions.py) and what a quote must carry (rag/quotes.py): the pure parts with
kiwipiepy, and the whole path with the real GGUF and embedder over the seed documents."""
from __future__ import annotations

import pytest

from conftest import ROOT, SEED
from rag import conditions
from rag.answer import fragment, loop_start
from rag.evidence import Passage
from rag.prompting import load_prompts
from rag.quotes import thin, verify

LEX = conditions.load_lexicon(ROOT / "prompts")
PROMPTS = load_prompts(ROOT / "prompts")
needs_seed = pytest.mark.skipif(not SEED.is_dir(), reason="seed corpus (../shared) absent")


def kinds(question: str) -> dict[str, str]:
    return {c.text: c.kind for c in conditions.extract(question, LEX)}


def ctx(sentence: str, *, lines: str = "", passage: str = "", chunk: str = "", section: str = "",
        headers: str = "") -> conditions.Context:
    return conditions.Context(sentence, lines or sentence, passage or sentence, chunk, section, headers)


# ------------------------------------------------------------------------------------------------ extraction

def test_ordinals_years_roles_and_names_are_taken_from_the_question():
    got = kinds("2024년 제2차 서울스마트도시위원회 회의 위원장은 누구였어?")
    assert got.get("제2차") == "ordinal" and got.get("2024년") == "year" and got.get("위원장") == "role"
    busan = [c for c in conditions.extract("부산시의 AI 특별위원회 위원은 몇 명이야?", LEX) if c.kind == "name"]
    assert busan and busan[0].text == "부산시" and "부산" in busan[0].forms
    assert kinds("그 계획의 3대 전략을 모두 알려 주세요").get("3대") == "ordinal"
    # how many items are asked for is not a word the passage must hold; an ordinal in words is
    assert not kinds("추진 과제 세 가지가 뭐야?")
    sixth = conditions.extract("뉴욕 전략의 여섯 번째 전략은 뭐야?", LEX)
    assert [c.kind for c in sixth if c.text == "여섯 번째"] == ["ordinal"]
    assert conditions.holds(sixth[0], "⑥ 시민 참여") and not conditions.holds(sixth[0], "⑤ 공평한 기회")


def test_the_longest_role_wins_and_a_number_is_not_read_inside_another():
    got = kinds("특별위원회 부위원장은 누구야?")
    assert "부위원장" in got and "위원장" not in got
    c = conditions.extract("제2차 회의는 언제야?", LEX)[0]
    assert not conditions.holds(c, "제12차 회의 2024. 3. 26.") and conditions.holds(c, "제 2 차 회의는 4월")
    assert not [x for x in conditions.extract("자율주행차 2,000대는 언제 도입돼?", LEX) if x.text.startswith("000")]


def test_articles_versions_circled_numbers_and_titles_are_conditions_but_a_word_like_3차원_is_not():
    got = kinds("서울 전체를 3차원 가상공간에 옮긴 플랫폼 이름은? 3차례 회의에서 나왔나?")
    assert not [t for t, k in got.items() if k == "ordinal"]                 # 3차원 (3D) and 3차례 (3 times)
    art = conditions.extract("조례 개정안 안 제9조 내용?", LEX)
    assert [(c.text, c.kind) for c in art] == [("제9조", "ordinal")]
    assert conditions.holds(art[0], "안 제9조(사업)") and not conditions.holds(art[0], "안 제19조(사업)")
    assert not [c for c in conditions.extract("예산 9조 원은 어디에?", LEX) if c.kind == "ordinal"]   # an amount
    ver = [c for c in conditions.extract("법제정비 로드맵 3.0은 언제 발표됐어?", LEX) if c.kind == "ordinal"]
    assert [c.text for c in ver] == ["3.0"] and not conditions.holds(ver[0], "로드맵 2.0 발표")
    assert not [c for c in conditions.extract("예산이 2.5% 늘었나?", LEX) if c.kind == "ordinal"]   # a share
    four = [c for c in conditions.extract("주제발표 ④는 누가 했어?", LEX) if c.kind == "ordinal"]
    assert four and conditions.holds(four[0], "주제발표 ④ Laura") and not conditions.holds(four[0], "주제발표 ② 발표")
    assert kinds("컨퍼런스에서 도시공간본부장은 무슨 발표를 했어?").get("본부장") == "role"
    assert kinds("행사 사회(MC)는 누가 봤어?").get("MC") == "role"
    assert "청장" not in kinds("청장년 일자리 사업은?")                      # not a title inside another word
    # a counted ordinal comes with the noun it counts: "5대 원칙" is not met by "5대 핵심 전략", "7대 전략" is by "7대 핵심 전략"
    five = [c for c in conditions.extract("스마트도시 기본계획의 5대 원칙은 무엇입니까?", LEX) if c.kind == "ordinal"][0]
    assert not conditions.holds(five, "5대 핵심 전략으로 채택") and conditions.holds(five, "5대 기본 원칙: 공평")
    seven = [c for c in conditions.extract("AI산업 육성 7대 전략은?", LEX) if c.kind == "ordinal"][0]
    assert conditions.holds(seven, "7대 핵심 전략") and not conditions.holds(seven, "17대 전략")


# ------------------------------------------------------------------------------------------------ checking

def test_an_ordinal_the_quote_context_lacks_is_unmet_and_one_it_holds_is_met():
    conds = conditions.extract("2024년 제2차 스마트도시위원회 회의는 언제 열렸어?", LEX)
    conditions.check(conds, [ctx("일 시 : 2024. 3. 26.(화)", passage="2024년 제1차 스마트도시위원회 회의록\n일 시 : "
                                                                    "2024. 3. 26.(화)")])
    by = {c.text: c for c in conds}
    assert by["제2차"].met is False and by["2024년"].met is True and by["2024년"].where == "sentence"
    assert conditions.unmet(conds) == [by["제2차"]]


def test_a_role_must_stand_next_to_the_quote_not_anywhere_in_the_passage():
    conds = conditions.extract("특별위원회 위원장은 누구야?", LEX)
    far = ctx("제안자 : 2025. 2. 27. 서상열 의원", passage="위원장은 본회의에서 선임한다.\n…\n제안자 : 2025. 2. 27. 서상열 의원")
    conditions.check(conds, [far])
    assert [c.text for c in conditions.unmet(conds)] == ["위원장"]
    conditions.check(conds, [ctx("위원장 서상열", lines="위원장 서상열\n부위원장 김민수")])
    assert not conditions.unmet(conds)


def test_an_abbreviation_meets_the_name_it_stands_for():
    conds = [c for c in conditions.extract("과기정통부가 발표한 계획은?", LEX) if c.kind == "name"]
    assert conds, "kiwipiepy should tag 과기정통부 as a proper noun"
    conditions.check(conds, [ctx("과학기술정보통신부는 2024년 계획을 발표했다.")])
    assert all(c.met for c in conds)


# ------------------------------------------------------------------------------------------------ quotes

def test_a_one_word_quote_is_not_support():
    assert thin("김길영", {"김길영"}) and thin("있음.", {"있"}) and thin("17", set())
    assert not thin("위원장 김길영 의원이 개회를 선언했다.", {"위원장", "김길영", "의원", "개회", "선언"})
    lone = [Passage(1, "회의록.txt", None, "", "김길영")]
    assert not verify("발언자는 김길영입니다[1].", lone, "발언자는 누구야?", {"발언자", "누구"}).verified
    assert not verify("발언자는 김길영입니다[1].", lone, "발언자는 누구야?", {"발언자", "누구"},
                      given_quotes={0: "김길영"}).verified
    # the same name with the line next to it (a table cell and its label) is support, quoted as both lines
    row = [Passage(1, "회의록.txt", None, "", "발언자 명단\n김길영")]
    v = verify("발언자는 김길영입니다[1].", row, "발언자는 누구야?", {"발언자", "누구"})
    assert v.verified and "발언자 명단" in v.quotes[0].text and "김길영" in v.quotes[0].text


# ------------------------------------------------------------------------------------------------ well-formed text

def test_a_loop_is_found_whatever_the_piece_boundaries():
    unit = "재무건전성 관리 강화를 위해 '22~'26년 "
    text = "서울시는 중기 계획을 " + unit * 3
    for end in range(len(text) - 5, len(text) + 1):
        cut = loop_start(text[:end])
        assert cut is not None and text[:end][:cut].count("재무건전성") == 1
    assert loop_start("위원회는 2024. 3. 26. 열렸고, 위원회는 2024. 4. 2. 다시 열렸습니다.") is None
    assert fragment("가.") and fragment("[1].") and not fragment("13명입니다.")


# ------------------------------------------------------------------------------------------------ the whole path

@needs_seed
def test_a_place_no_document_mentions_is_named_as_missing(seed_assistant):
    a = seed_assistant.ask("부산시 AI 경쟁력 강화 특별위원회 위원 수는 몇 명이야?")
    assert a.refused and not a.verified and not a.citations
    assert a.text == PROMPTS.msg("condition_absent", names="'부산시'")
    assert {"text": "부산시", "kind": "name", "met": False, "where": "absent"} in a.conditions
    assert a.timings["prompt_tokens"] == 0               # said at once, before the model


@needs_seed
def test_an_ordinal_the_evidence_lacks_is_not_answered_as_verified(seed_assistant):
    from rag.answer import collect
    for strategy in ("free", "choice"):        # free generation, and candidate choice (conditions filter candidates)
        a = collect(seed_assistant.stream("2024년 제2차 서울스마트도시위원회 회의는 언제 열렸어?",
                                          strategy=strategy)).answer
        assert not a.verified and a.refused, strategy
        ordinal = [c for c in a.conditions if c["text"] == "제2차"]
        assert ordinal and ordinal[0]["met"] is not True
        if a.unverified_reason == "condition_unmet":     # a quote was found: the honest partial answer
            assert "'제2차'" in a.text and a.extractive and a.citations
            assert a.text.startswith(PROMPTS.msg("condition_unmet", names="'제2차'"))
    # the same question about the meeting that exists still gets its verified answer or the plain refusal
    b = seed_assistant.ask("2024년 제1차 서울스마트도시위원회 회의는 언제 열렸어?")
    assert b.verified or b.text == PROMPTS.messages["refusal"]
    if b.verified:
        assert all(c["met"] for c in b.conditions) and "26" in b.text


def test_a_two_part_answer_that_names_its_missing_part_keeps_the_verified_part():
    ps = [Passage(1, "안내문.txt", None, "", "예시 토론회 개최 계획\n일시 : 2099. 6. 3.(목) 14:00\n주제 : 가상 가로등")]
    q = "예시 토론회는 언제 어디에서 열려?"
    answer = "예시 토론회는 2099. 6. 3. 14:00에 열립니다[1]. 장소는 자료에 없습니다."
    v = verify(answer, ps, q, {"예시", "토론회", "열리"}, missing=lambda t: "자료에 없" in t)
    assert v.verified and v.missing == [1] and v.quotes and "2099. 6. 3." in v.quotes[0].text
    # without that reading, the claim of absence needs a quote that negates, and the answer is withheld
    assert not verify(answer, ps, q, {"예시", "토론회", "열리"}).verified
    # an answer that only says something is missing verifies nothing
    assert not verify("장소는 자료에 없습니다.", ps, q, {"예시"}, missing=lambda t: "자료에 없" in t).verified


# ------------------------------------------------------------------------------------------------ tables as rows

TABLE_MD = """# 사업 목록

| 연번 | 사업명 | 주관부서 | 추진부서 |
|---|---|---|---|
| 1 | 가상 안부 확인 서비스 | 복지정책실 | 안심돌봄복지과 |
| 2 | 가상 피해촬영물 삭제 지원 | 여성가족정책실 | 양성평등담당관 |
| 3 | 가상 민원 분석 | 시민소통기획관 | 민원담당관 |
"""


def test_a_table_row_is_one_record_with_its_column_headers():
    from index.chunking import units
    us = units("연번 | 사업명 | 주관부서\n1 | 가상 안부 확인 | 복지정책실\n2 | 가상 민원 분석 | 민원담당관\n\n본문입니다.")
    assert [u.row for u in us] == [False, True, True, False]
    assert us[1].text == "연번: 1 · 사업명: 가상 안부 확인 · 주관부서: 복지정책실"
    # a first row of numbers is not a header: the rows stay as they are
    assert not any(u.row for u in units("1 | 2 | 3\n4 | 5 | 6"))


def test_a_cited_table_row_carries_its_headers(tmp_path, base_cfg, embedder):
    from dataclasses import replace

    from index.store import update_index
    from rag.evidence import select_evidence
    from rag.retrieve import Retriever
    from rag.runtime import open_index, pii_screen
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "사업목록.md").write_text(TABLE_MD, encoding="utf-8")
    model, path = embedder
    rep = update_index(tmp_path / "index", [tmp_path / "docs"], model, path, chunk_tokens=base_cfg.chunk_tokens,
                       overlap=base_cfg.chunk_overlap_sentences, screen=pii_screen(base_cfg.document_pii))
    assert rep.ok
    cfg = replace(base_cfg, index_dir=tmp_path / "index")
    r = Retriever(open_index(cfg, model, path), model, cfg.fusion, cfg.fusion_weight_bm25, cfg.candidates)
    q = "가상 피해촬영물 삭제 지원 사업의 추진부서는 어디야?"
    terms = r.bm25_terms(q)
    df, n = r.index.document_frequencies()
    ev = select_evidence(q, r.search(q, 4, terms), 600, df, n, q_terms=terms)
    v = verify("가상 피해촬영물 삭제 지원 사업의 추진부서는 양성평등담당관입니다[1].", ev.passages, q, set(terms))
    assert v.verified
    quote = v.quotes[0].text
    assert "사업명: 가상 피해촬영물 삭제 지원" in quote and "추진부서: 양성평등담당관" in quote
    assert "주관부서: 여성가족정책실" in quote and "안심돌봄복지과" not in quote      # its own row, whole, alone
    conds = conditions.extract(q, LEX)
    conditions.check(conds, [ctx(quote)])
    assert [c.text for c in conds if c.kind == "role"] == ["추진부서"] and not conditions.unmet(conds)


def test_the_asked_unit_must_come_with_a_number():
    conds = [c for c in conditions.extract("스마트 안부 확인 서비스 대상은 몇 가구야?", LEX) if c.kind == "unit"]
    assert conds and conds[0].forms == ("가구",)
    assert conditions.holds(conds[0], "고립위험가구 1,200가구를 대상으로") and \
        not conditions.holds(conds[0], "사회적 고립위험가구의 안부를 확인")
    people = [c for c in conditions.extract("위원은 몇 명까지 둘 수 있어?", LEX) if c.kind == "unit"]
    assert conditions.holds(people[0], "위원 수는 15인 이내로 하고")
    pct = conditions.extract("성장률은 몇 퍼센트야?", LEX)
    assert any(c.kind == "unit" and conditions.holds(c, "연 7% 성장") for c in pct)


def test_the_question_said_back_is_no_answer_to_a_wh_question():
    from rag.answer import asks_what
    ps = [Passage(1, "회의록.txt", None, "", "위원장은 스마트도시 기본계획에 사이버보안이 꼭 들어가야 한다고 말했다.")]
    q = "위원장이 스마트도시 기본계획에 꼭 들어가야 한다고 한 건?"
    terms = {"위원장", "스마트", "도시", "기본", "계획", "들어가", "하"}
    v = verify("네, 위원장이 스마트도시 기본계획에 꼭 들어가야 한다고 했습니다[1].", ps, q, terms)
    assert v.restates and asks_what(q)
    assert not verify("위원장은 사이버보안이 꼭 들어가야 한다고 했습니다[1].", ps, q, terms).restates
    assert not asks_what("예시 민원 앱은 위치 정보를 서버로 보내?")          # a yes/no question may say it back


def test_a_role_may_be_a_column_name_of_the_quoted_table_but_not_part_of_a_word():
    conds = [c for c in conditions.extract("빅데이터 플랫폼 사업의 주관부서는 어디야?", LEX) if c.kind == "role"]
    conditions.check(conds, [ctx("12 빅데이터 플랫폼 구축 디지털정책관 빅데이터담당관",
                                 headers="연번 사업명 사업 개요 주관부서 추진부서")])
    assert conds[0].met and conds[0].where == "headers"
    director = [c for c in conditions.extract("연구원 원장 이름 알려줘.", LEX) if c.kind == "role"]
    conditions.check(director, [ctx("이세원 | 국토연구원 부연구위원", headers="한국도시부동산학회장 국토연구원장단")])
    assert director[0].met is False


def test_the_askers_own_request_said_back_is_left_out_not_a_reason_to_withhold():
    ps = [Passage(1, "안내.md", None, "", "도우미가 읽는 형식은 HWP, HWPX, PDF, DOCX입니다.")]
    q = "도우미는 어떤 파일 형식을 읽을 수 있나요? 회신은 [전화번호]로 부탁드립니다"
    v = verify("읽을 수 있는 형식은 HWP, HWPX, PDF, DOCX입니다[1]. 회신은 [전화번호]로 부탁드립니다.", ps, q,
               {"도우미", "파일", "형식", "읽", "회신", "전화", "번호", "부탁"})
    assert v.verified and v.echoes == [1]
    short = "도우미는 어떤 파일 형식을 읽을 수 있나요? 회신은 [전화번호]로"        # the request, said back with a verb
    v = verify("형식은 HWP, HWPX, PDF, DOCX입니다[1]. 회신은 [전화번호]로 보내 주세요.", ps, short, {"도우미", "형식"})
    assert v.verified and v.echoes == [1]
    # a claim that is not the asker's words still needs its quote
    assert not verify("읽을 수 있는 형식은 HWP입니다[1]. 결과는 메일로 보냅니다.", ps, q, {"도우미", "형식"}).verified
