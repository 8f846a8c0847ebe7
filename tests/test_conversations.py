"""rag/conversations.py: stored per owner, questions masked, searched, deleted with their turns."""
from __future__ import annotations

import sqlite3

from rag import conversations as cv


def test_conversations_are_per_owner_masked_searchable_and_deletable(tmp_path):
    a = cv.add_turn(tmp_path, "user:kim", None, "민원인 900101-1234567 건 처리 기한은?", "기한은 7일입니다[1].", "<p>기한</p>")
    assert cv.add_turn(tmp_path, "user:kim", a, "그럼 연장은?", "연장은 한 번입니다[1].", "<p>연장</p>") == a
    b = cv.add_turn(tmp_path, "user:lee", None, "주차장 운영 시간은?", "오후 10시까지입니다[1].", "<p>주차</p>")
    # another owner's conversation id starts a new conversation instead of appending to it
    c = cv.add_turn(tmp_path, "user:lee", a, "다른 질문", "답", "<p>답</p>")
    assert c not in (a, b)
    kim = cv.list_conversations(tmp_path, "user:kim")
    assert [s.id for s in kim] == [a] and kim[0].turns == 2 and "1234567" not in kim[0].title
    assert [t.question for t in cv.turns(tmp_path, "user:kim", a)][0].startswith("민원인 [주민등록번호]")
    assert cv.turns(tmp_path, "user:lee", a) == []                       # not lee's
    assert [s.id for s in cv.list_conversations(tmp_path, "user:kim", "연장")] == [a]
    assert cv.list_conversations(tmp_path, "user:kim", "주차장") == []      # lee's words are not kim's
    assert b"1234567" not in cv.db_path(tmp_path).read_bytes()
    assert not cv.delete(tmp_path, "user:lee", a) and cv.delete(tmp_path, "user:kim", a)
    with sqlite3.connect(cv.db_path(tmp_path)) as con:
        assert con.execute("SELECT COUNT(*) FROM turns WHERE conversation = ?", (a,)).fetchone()[0] == 0
    assert cv.list_conversations(tmp_path, "user:kim") == []
