"""The desk features of issue 32 below the browser: the copy text, [n] links, refusals that help, the section of a
quoted sentence, repair notes kept out of the answer, feedback ids kept with stored turns, the export files and the
document list within what a viewer may see. Browser tests of the same: tests/test_ui_desk.py."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("gradio")

from index.korean import topic, topic_particle  # noqa: E402
from rag import catalog, conversations  # noqa: E402
from rag.access import ANONYMOUS, LOCAL, Viewer  # noqa: E402
from rag.evidence import Evidence, Passage, Span  # noqa: E402
from rag.records import Answer, Citation  # noqa: E402
from ui import app as ui  # noqa: E402
from ui import export  # noqa: E402

T = ui.load_texts()


def verified_answer() -> Answer:
    return Answer("q", "보고서는 매년 3월에 냅니다[1]. 담당은 정책과입니다[2].",
                  [Citation(1, "/d/계획.pdf", 3, "…", "2. 추진 일정", quote="매년 3월에\n보고서를 냅니다", quotes=[(0, 1)]),
                   Citation(2, "/d/조직.hwp", None, "…", "", quote="정책과가 담당한다")],
                  refused=False, verified=True)


def test_copy_text_is_the_answer_then_numbered_sources_without_markup():
    text = ui.copy_text(verified_answer(), T)
    lines = text.split("\n")
    assert lines[0] == "보고서는 매년 3월에 냅니다[1]. 담당은 정책과입니다[2]."
    assert lines[1] == "" and lines[2] == T["copy_sources"]
    assert lines[3] == "[1] 계획.pdf, 3쪽, 2. 추진 일정 — “매년 3월에 보고서를 냅니다”"
    assert lines[4] == "[2] 조직.hwp — “정책과가 담당한다”"
    assert "<" not in text and "&" not in text


def test_answer_markup_links_only_cited_numbers_and_carries_the_copy_text_hidden_in_one_block():
    a = verified_answer()
    a.text += " 그리고 [7]."
    md = ui.answer_markdown(T, "AI", a.text, answer=a)
    assert md.count('class="cite-ref cite-ref-') == 2 and "[7]" in md and "cite-ref-7" not in md
    hidden = md[md.index('<div class="copy-text" hidden>'):]
    assert "\n" not in hidden and "&#10;" in hidden, "a blank line would end the HTML block inside the Markdown"


def test_a_refusal_shows_the_nearest_passages_a_rephrasing_in_their_words_and_what_else_to_do():
    p = Passage(1, "/d/안내.md", None, "3. 자료 등록 절차", "문서를 올리면 색인합니다.")
    refused = Answer("q", "자료에서 찾을 수 없습니다.", [], refused=True)
    md = ui.answer_markdown(T, "AI", refused.text, answer=refused, evidence=Evidence([p]))
    assert T["refusal_nearest"] in md and "안내.md · 3. 자료 등록 절차" in md and "문서를 올리면" in md
    assert "“자료 등록 절차는 무엇인가요?”" in md
    assert T["refusal_next"] in md
    # nothing found: still what else to do, and no empty list
    md = ui.answer_markdown(T, "AI", refused.text, answer=refused, evidence=Evidence([]))
    assert T["refusal_next"] in md and T["refusal_nearest"] not in md


def test_topic_and_its_particle():
    assert topic("3. 자료 등록 절차") == "자료 등록 절차" and topic("제2장 추진 전략") == "추진 전략"
    assert topic("□ 추진 배경") == "추진 배경"
    assert topic_particle("절차") == "는" and topic_particle("전략") == "은" and topic_particle("AI") == "은(는)"


def test_a_citation_is_labelled_with_the_section_of_its_own_sentence():
    """A passage joins sentences of one page from chunks of different sections: the label is the quoted one's."""
    text = "도우미는 정책 문서를 찾습니다.\n답변에는 출처가 붙습니다."
    p = Passage(1, "/d/안내.md", None, "1. 이 도우미는 무엇인가요", text,
                spans=[Span(0, 16, set(), 0.0, "1. 이 도우미는 무엇인가요"), Span(17, len(text), set(), 0.0, "4. 출처 보기")])
    assert p.section_at(20) == "4. 출처 보기" and p.section_at(3) == "1. 이 도우미는 무엇인가요"
    from rag.answer import Assistant
    from rag.quotes import Claim, Quote, Verdict
    q = Quote(1, 17, len(text), text[17:])
    v = Verdict(verified=True, claims=[Claim("답변에는 출처가 붙습니다[3].", [3])], per_claim=[q])
    body, cites, repairs = Assistant.cite(v, [p])
    assert cites[0].section == "4. 출처 보기"
    # the wrong marker [3] was corrected: recorded as a repair (for the audit log), not as a warning to the user
    assert body == "답변에는 출처가 붙습니다[1]." and repairs == [{"kind": "citation_moved", "from": 3, "to": 1}]


def test_stored_turns_keep_the_answer_id_and_copy_text_and_an_older_store_is_migrated(tmp_path):
    db = conversations.db_path(tmp_path)
    with sqlite3.connect(db) as con:                  # a store made before the two columns existed
        con.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,"
                    " created TEXT NOT NULL, updated TEXT NOT NULL)")
        con.execute("CREATE TABLE turns (conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
                    " seq INTEGER NOT NULL, question TEXT NOT NULL, answer_text TEXT NOT NULL, answer_shown TEXT NOT"
                    " NULL, PRIMARY KEY (conversation, seq))")
        con.execute("INSERT INTO conversations VALUES ('old', 'user:a', 't', 'x', 'x')")
        con.execute("INSERT INTO turns VALUES ('old', 1, '옛 질문', '옛 답', '<p>옛 답</p>')")
    old = conversations.turns(tmp_path, "user:a", "old")
    assert old[0].answer_id is None and old[0].copy_text == "" and old[0].answer_text == "옛 답"
    conv = conversations.add_turn(tmp_path, "user:a", None, "질문 010-2345-6789", "답", "<p>답</p>", "rid123",
                                  "답\n\n출처\n[1] a.txt")
    t = conversations.turns(tmp_path, "user:a", conv)[0]
    assert t.answer_id == "rid123" and t.copy_text.endswith("[1] a.txt") and "010-2345-6789" not in t.question


def test_export_writes_a_docx_python_docx_reads_back_and_a_text_file(tmp_path):
    import docx
    turns = [conversations.Turn("보고서는 언제 내나요?", "매년 3월", "", "r1", ui.copy_text(verified_answer(), T)),
             conversations.Turn("옛 질문", "옛 답", "", None, "")]
    files = export.export("대화", turns, T)
    try:
        d, txt = files
        assert d.suffix == ".docx" and txt.suffix == ".txt"
        paras = [p.text for p in docx.Document(str(d)).paragraphs]
        assert "질문 1. 보고서는 언제 내나요?" in paras and "[1] 계획.pdf, 3쪽, 2. 추진 일정 — “매년 3월에 보고서를 냅니다”" in paras
        assert "옛 답" in paras                       # a turn stored before copy texts: its answer text
        plain = txt.read_text(encoding="utf-8")
        assert "질문 2. 옛 질문" in plain and "[2] 조직.hwp" in plain and "<" not in plain
    finally:
        for f in files:
            f.unlink(missing_ok=True)
        files[0].parent.rmdir()


@dataclass
class FakeIndex:                                    # the per-file table as files.json holds it
    path: Path
    files: dict = field(default_factory=dict)


def test_the_document_list_holds_exactly_what_a_viewer_may_see(tmp_path):
    idx = FakeIndex(tmp_path / "gen-1", {
        "/a": {"source": "/d/공개.pdf", "title": "공개 계획", "format": "pdf", "pages": 12, "sections": 4,
               "indexed": "2026-12-07 10:00", "level": "공개", "groups": []},
        "/b": {"source": "/d/내부.hwp", "title": "내부 지침", "format": "hwp", "level": "내부", "groups": []},
        "/c": {"source": "/d/예산.docx", "title": "예산 대외비", "format": "docx", "level": "대외비",
               "groups": ["예산과"]},
    })
    names = lambda v, q="": [d.name for d in catalog.documents(idx, v, q)[0]]  # noqa: E731
    assert names(ANONYMOUS) == ["공개.pdf"]
    assert names(LOCAL) == ["공개.pdf", "내부.hwp"]
    assert names(Viewer("kim", frozenset({"예산과"}))) == ["공개.pdf", "내부.hwp", "예산.docx"]
    assert names(Viewer("lee", frozenset({"인사과"}))) == ["공개.pdf", "내부.hwp"]
    assert names(None) == ["공개.pdf", "내부.hwp", "예산.docx"]          # the admin tab: every file, with its label
    assert names(LOCAL, "지침") == ["내부.hwp"] and names(LOCAL, "예산") == []
    d = catalog.documents(idx, ANONYMOUS)[0][0]
    assert (d.pages, d.sections, d.indexed) == (12, 4, "2026-12-07 10:00")
    assert catalog.documents(idx, LOCAL)[0][1].pages is None               # indexed before pages were recorded


def test_access_toml_names_the_keeping_department_without_changing_access(tmp_path):
    from index.access import Label, read_rules
    (tmp_path / "access.toml").write_text('[default]\nlevel = "내부"\nowner = "정보화담당관"\n'
                                          '[files."감사/*"]\nlevel = "대외비"\ngroups = ["감사담당관"]\nowner = "감사담당관"\n',
                                          encoding="utf-8")
    (tmp_path / "감사").mkdir()
    rules = read_rules(tmp_path, Label())
    audit, plain = rules.label_for(tmp_path / "감사" / "a.hwp"), rules.label_for(tmp_path / "b.pdf")
    assert (audit.level, audit.groups, audit.owner) == ("대외비", ("감사담당관",), "감사담당관")
    assert plain.owner == "정보화담당관" and plain == Label("내부", ())     # the owner is not part of access
    (tmp_path / "access.toml").write_text('[default]\nowner = 3\n', encoding="utf-8")
    with pytest.raises(ValueError, match="owner"):
        read_rules(tmp_path, Label())


def test_a_refusal_names_the_departments_that_keep_the_nearest_documents(tmp_path):
    idx = FakeIndex(tmp_path / "gen-2", {
        "/a": {"source": "/d/안내.md", "title": "안내", "level": "내부", "groups": [], "owner": "정보화담당관"},
        "/b": {"source": "/d/기타.md", "title": "기타", "level": "내부", "groups": []}})
    assert catalog.owners(idx, ["/d/안내.md", "/d/기타.md"]) == {"안내.md": "정보화담당관"}
    assert catalog.documents(idx, LOCAL)[0][1].owner == "정보화담당관"
    p = Passage(1, "/d/안내.md", None, "3. 자료 등록 절차", "문서를 올리면 색인합니다.")
    refused = Answer("q", "자료에서 찾을 수 없습니다.", [], refused=True)
    md = ui.answer_markdown(T, "AI", refused.text, answer=refused, evidence=Evidence([p]),
                            owners=catalog.owners(idx, [p.source]))
    assert T["refusal_owners"].format(owners="정보화담당관") in md
