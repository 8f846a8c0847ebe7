"""Staff accounts: name, groups (departments), admin flag and a password hash, in SQLite under the data directory.

Passwords are hashed with scrypt (memory-hard, in the standard library's hashlib: no extra dependency) with a
random salt per account and compared in constant time; a password is never stored, logged or echoed.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from rag.access import Viewer

SCRYPT = {"n": 2**14, "r": 8, "p": 1}            # 16 MiB per hash; ~50 ms on one core
NAME = re.compile(r"[A-Za-z0-9가-힣._-]{1,64}")
MIN_PASSWORD = 8


class UserError(ValueError):
    """A bad name, group, password or an unknown account: the message says which (never the password)."""


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]
    admin: bool
    created: str

    def viewer(self) -> Viewer:
        return Viewer(self.name, frozenset(self.groups), True, self.admin)


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / "users.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=10)
    con.execute("CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, groups TEXT NOT NULL, admin INTEGER NOT NULL,"
                " salt BLOB NOT NULL, hash BLOB NOT NULL, params TEXT NOT NULL, created TEXT NOT NULL)")
    return con


def _hash(password: str, salt: bytes, params: dict) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, maxmem=64 * 2**20, dklen=32, **params)


def _groups(groups) -> tuple[str, ...]:
    items = groups.split(",") if isinstance(groups, str) else list(groups or [])
    out = sorted({g.strip() for g in items if g.strip()})
    bad = [g for g in out if not NAME.fullmatch(g)]
    if bad:
        raise UserError(f"그룹 이름 {bad[0]!r}: 글자·숫자·._- 만, 64자까지 / group names: letters, digits, ._- only")
    return tuple(out)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"비밀번호는 {MIN_PASSWORD}자 이상이어야 합니다 / a password needs at least {MIN_PASSWORD} "
                        f"characters")


def add(data_dir: Path, name: str, password: str, groups=(), admin: bool = False) -> User:
    if not NAME.fullmatch(name or ""):
        raise UserError(f"사용자 이름 {name!r}: 글자·숫자·._- 만, 64자까지 / user names: letters, digits, ._- only")
    _check_password(password)
    gs = _groups(groups)
    salt = os.urandom(16)
    created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with closing(_connect(db_path(data_dir))) as con, con:
        try:
            con.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (name, json.dumps(gs, ensure_ascii=False), int(admin), salt, _hash(password, salt, SCRYPT),
                         json.dumps(SCRYPT), created))
        except sqlite3.IntegrityError:
            raise UserError(f"이미 있는 사용자입니다 / the user already exists: {name}") from None
    return User(name, gs, admin, created)


def _row_user(row) -> User:
    return User(row[0], tuple(json.loads(row[1])), bool(row[2]), row[3])


def list_users(data_dir: Path) -> list[User]:
    path = db_path(data_dir)
    if not path.is_file():
        return []
    with closing(_connect(path)) as con:
        return [_row_user(r) for r in con.execute("SELECT name, groups, admin, created FROM users ORDER BY name")]


def any_users(data_dir: Path) -> bool:
    return bool(list_users(data_dir))


def get(data_dir: Path, name: str) -> User:
    for u in list_users(data_dir):
        if u.name == name:
            return u
    raise UserError(f"없는 사용자입니다 / no such user: {name}")


def remove(data_dir: Path, name: str) -> None:
    with closing(_connect(db_path(data_dir))) as con, con:
        if not con.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount:
            raise UserError(f"없는 사용자입니다 / no such user: {name}")


def set_password(data_dir: Path, name: str, password: str) -> None:
    _check_password(password)
    salt = os.urandom(16)
    with closing(_connect(db_path(data_dir))) as con, con:
        n = con.execute("UPDATE users SET salt = ?, hash = ?, params = ? WHERE name = ?",
                        (salt, _hash(password, salt, SCRYPT), json.dumps(SCRYPT), name)).rowcount
    if not n:
        raise UserError(f"없는 사용자입니다 / no such user: {name}")


def verify(data_dir: Path, name: str, password: str) -> User | None:
    """The user when the password is right, else None (an unknown name costs the same hash)."""
    path = db_path(data_dir)
    row = None
    if path.is_file():
        with closing(_connect(path)) as con:
            row = con.execute("SELECT name, groups, admin, created, salt, hash, params FROM users WHERE name = ?",
                              (name,)).fetchone()
    salt, stored, params = (row[4], row[5], json.loads(row[6])) if row else (b"\0" * 16, b"\0" * 32, SCRYPT)
    ok = hmac.compare_digest(_hash(password or "", salt, params), stored)
    return _row_user(row[:4]) if row and ok else None
