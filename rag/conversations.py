"""Conversations that last: each owner's chats in SQLite under the data directory (conversations.sqlite), so they
survive a reload and a server restart, can be reopened (follow-ups included), searched by text and deleted.

An owner is an account ("user:NAME") or, without accounts, one browser ("browser:<random id kept in its local
storage>"); nobody reads another owner's conversations. Privacy as in the audit log: every question is masked
(guard.mask, low severity included) before it is stored, whatever the user chose to send; answers are stored as shown.
"""
from __future__ import annotations

import sqlite3
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from rag import guard

TITLE_CHARS = 40


@dataclass(frozen=True)
class Summary:
    id: str
    title: str
    updated: str
    turns: int


@dataclass(frozen=True)
class Turn:
    question: str          # masked
    answer_text: str       # the answer's text (for follow-up rewriting)
    answer_shown: str      # the answer as the chat showed it (markdown/HTML with its citations)
    answer_id: str | None = None   # its audit record's id: feedback on a reopened answer is stored against it
    copy_text: str = ""    # the answer as plain text with its sources (copy, export); "" for turns stored before


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / "conversations.sqlite"


def _connect(data_dir: Path) -> sqlite3.Connection:
    path = db_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=10)
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,"
                " created TEXT NOT NULL, updated TEXT NOT NULL)")
    con.execute("CREATE TABLE IF NOT EXISTS turns (conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE "
                "CASCADE, seq INTEGER NOT NULL, question TEXT NOT NULL, answer_text TEXT NOT NULL, answer_shown TEXT "
                "NOT NULL, PRIMARY KEY (conversation, seq))")
    con.execute("CREATE INDEX IF NOT EXISTS by_owner ON conversations (owner, updated)")
    have = {r[1] for r in con.execute("PRAGMA table_info(turns)")}
    for column in ("answer_id", "copy_text"):        # added later: a store made before gets them, empty
        if column not in have:
            con.execute(f"ALTER TABLE turns ADD COLUMN {column} TEXT")
    return con


def masked(text: str) -> str:
    return guard.mask(text or "", guard.scan(text or ""), min_severity="low")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def add_turn(data_dir: Path, owner: str, conversation: str | None, question: str, answer_text: str,
             answer_shown: str, answer_id: str | None = None, copy_text: str = "") -> str:
    """Append a turn (the question masked here) to the owner's conversation, or start one; returns its id."""
    q = masked(question)
    with closing(_connect(data_dir)) as con, con:
        row = con.execute("SELECT owner FROM conversations WHERE id = ?", (conversation,)).fetchone() \
            if conversation else None
        if row is None or row[0] != owner:            # unknown, or another owner's: a new conversation
            conversation = uuid.uuid4().hex
            title = " ".join(q.split())[:TITLE_CHARS]
            con.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)", (conversation, owner, title, _now(), _now()))
        seq = con.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation = ?",
                          (conversation,)).fetchone()[0]
        con.execute("INSERT INTO turns (conversation, seq, question, answer_text, answer_shown, answer_id, copy_text)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)", (conversation, seq, q, answer_text, answer_shown, answer_id,
                                                      copy_text))
        con.execute("UPDATE conversations SET updated = ? WHERE id = ?", (_now(), conversation))
    return conversation


def list_conversations(data_dir: Path, owner: str, query: str = "", limit: int = 50) -> list[Summary]:
    """The owner's conversations, newest first; with `query`, those whose title, questions or answers contain it."""
    if not db_path(data_dir).is_file():
        return []
    like = f"%{query.strip()}%" if query and query.strip() else None
    sql = ("SELECT c.id, c.title, c.updated, (SELECT COUNT(*) FROM turns t WHERE t.conversation = c.id) FROM "
           "conversations c WHERE c.owner = ?")
    args: list = [owner]
    if like:
        sql += (" AND (c.title LIKE ? OR EXISTS (SELECT 1 FROM turns t WHERE t.conversation = c.id AND "
                "(t.question LIKE ? OR t.answer_text LIKE ?)))")
        args += [like, like, like]
    sql += " ORDER BY c.updated DESC, c.rowid DESC LIMIT ?"
    with closing(_connect(data_dir)) as con:
        return [Summary(*r) for r in con.execute(sql, [*args, limit])]


def turns(data_dir: Path, owner: str, conversation: str) -> list[Turn]:
    """The turns of one of the owner's conversations, in order ([] when it is not theirs or does not exist)."""
    if not db_path(data_dir).is_file():
        return []
    with closing(_connect(data_dir)) as con:
        return [Turn(r[0], r[1], r[2], r[3], r[4] or "") for r in con.execute(
            "SELECT t.question, t.answer_text, t.answer_shown, t.answer_id, t.copy_text FROM turns t "
            "JOIN conversations c ON c.id = t.conversation WHERE c.id = ? AND c.owner = ? ORDER BY t.seq", (conversation, owner))]


def delete(data_dir: Path, owner: str, conversation: str) -> bool:
    with closing(_connect(data_dir)) as con, con:
        return con.execute("DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation, owner)).rowcount > 0

