"""Access labels of indexed files: a level (공개 / 내부 / 대외비) and a set of groups (departments), set at index time
and stored on every chunk, so retrieval can keep a user's candidates to what they may see (rag/access.py has the
rule, rag/retrieve.py enforces it).

Where a file's label comes from, the first that applies:
    1. its own entry in an `access.toml` at the root of an indexed folder   [files."감사/2025_결과.hwp"]
    2. the first glob entry there that matches it                           [files."감사/*.hwp"]
    3. that access.toml's [default]
    4. `rag index --level … --groups …` (default level 내부, no groups)

    # access.toml
    [default]
    level = "내부"
    [files."감사/*"]
    level = "대외비"
    groups = ["감사담당관", "정보시스템담당관"]
    owner = "감사담당관"          # optional: the department that keeps these documents (named to users who
                                  # cannot find an answer, and in the document list; not part of the access rule)
"""
from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

LEVELS = ("공개", "내부", "대외비")
DEFAULT_LEVEL = "내부"
ACCESS_FILE = "access.toml"


class AccessFileError(ValueError):
    """A bad access.toml: the message names the file, the entry and the reason."""


@dataclass(frozen=True)
class Label:
    level: str = DEFAULT_LEVEL
    groups: tuple[str, ...] = ()
    owner: str = field(default="", compare=False)     # who keeps the file: information, not access

    def to_json(self) -> dict:
        return {"level": self.level, "groups": list(self.groups), "owner": self.owner}


def make_label(level: str | None, groups, where: str = "", owner=None) -> Label:
    level = (level or DEFAULT_LEVEL).strip()
    if level not in LEVELS:
        raise AccessFileError(f"{where}level = {level!r}: 허용 값 / allowed: {', '.join(LEVELS)}")
    if isinstance(groups, str):
        groups = [g for g in groups.split(",")]
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, str) for g in groups):
        raise AccessFileError(f"{where}groups: 글자 목록이어야 합니다 / must be a list of names")
    if owner is not None and not isinstance(owner, str):
        raise AccessFileError(f"{where}owner: 부서 이름(글자)이어야 합니다 / must be a department name")
    return Label(level, tuple(sorted({g.strip() for g in groups if g.strip()})), " ".join((owner or "").split()))


@dataclass
class AccessRules:
    """The labels of one indexed folder (its access.toml) over a default from the command line."""
    root: Path | None = None
    default: Label = field(default_factory=Label)
    files: dict[str, Label] = field(default_factory=dict)       # exact relative path -> label
    globs: list[tuple[str, Label]] = field(default_factory=list)

    def label_for(self, path: Path) -> Label:
        if self.root is None:
            return self.default
        try:
            rel = path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return self.default
        if rel in self.files:
            return self.files[rel]
        for pattern, label in self.globs:
            if fnmatch.fnmatchcase(rel, pattern):
                return label
        return self.default


def read_rules(folder: Path, cli_default: Label) -> AccessRules:
    """The access.toml at the root of `folder` (absent: everything gets `cli_default`)."""
    path = folder / ACCESS_FILE
    if not path.is_file():
        return AccessRules(None, cli_default)
    where = f"{path}: "
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise AccessFileError(f"{where}TOML로 읽을 수 없습니다 / not valid TOML: {e}") from None
    d = raw.get("default", {})
    default = make_label(d.get("level", cli_default.level), d.get("groups", list(cli_default.groups)),
                         f"{where}[default] ", d.get("owner", cli_default.owner)) if d else cli_default
    rules = AccessRules(folder, default)
    for pattern, entry in (raw.get("files") or {}).items():
        if not isinstance(entry, dict):
            raise AccessFileError(f"{where}[files.\"{pattern}\"]: 표여야 합니다 / must be a table")
        label = make_label(entry.get("level", default.level), entry.get("groups", list(default.groups)),
                           f"{where}[files.\"{pattern}\"] ", entry.get("owner", default.owner))
        if any(c in pattern for c in "*?["):
            rules.globs.append((pattern, label))
        else:
            rules.files[pattern.lstrip("./")] = label
    return rules


def rules_for(paths: list, cli_default: Label) -> list[AccessRules]:
    """One AccessRules per indexed folder (files named directly get the command-line default)."""
    return [read_rules(Path(p), cli_default) for p in paths if Path(p).is_dir()]


def label_of(path: Path, rules: list[AccessRules], cli_default: Label) -> Label:
    """The label of a discovered file: from the access.toml of the deepest indexed folder holding it."""
    best, depth = None, -1
    for r in rules:
        if r.root is None:
            continue
        try:
            path.resolve().relative_to(r.root.resolve())
        except ValueError:
            continue
        if len(r.root.resolve().parts) > depth:
            best, depth = r, len(r.root.resolve().parts)
    return best.label_for(path) if best else cli_default
