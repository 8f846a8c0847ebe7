"""Which files an indexing run reads: the supported files under the given folders, hidden ones skipped, symlinks
followed only while they stay inside the folder being indexed, and every path that cannot be used named with a
reason (loops, links out of the folder, unreadable folders) instead of stopping the run."""
from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

from index.records import LoadError, shown_path

# User-facing reasons (Korean first)
MESSAGES = {
    "missing": "파일이나 폴더가 없음",
    "unsupported": "지원하지 않는 형식 ({suffix})",
    "loop": "심볼릭 링크가 순환함 (자기 자신이나 서로를 가리킴) / symlink loop",
    "dangling": "심볼릭 링크가 가리키는 대상이 없음 / dangling symlink",
    "outside": "색인 폴더 밖을 가리키는 심볼릭 링크라 색인하지 않음 (→ {target}) / symlink leaves the indexed folder",
    "folder_unreadable": "폴더를 읽을 수 없음 ({reason}); 그 안에서 이미 색인된 파일은 이전 버전을 유지 / "
                         "folder unreadable; files indexed from it keep their last version",
    "unreadable": "읽을 수 없음 ({reason})",
}


def link_target(path: Path) -> tuple[Path | None, str | None]:
    """(resolved target, None) or (None, reason key) for a path that may be a symlink."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return None, "loop"
        if e.errno == errno.ENOENT:
            return None, "dangling" if os.path.islink(path) else "missing"
        return None, "unreadable"
    return Path(os.path.realpath(path)), None


def _inside(target: Path, root: Path) -> bool:
    return target == root or root in target.parents


def discover(paths: Iterable[str | Path], suffixes: Iterable[str]) -> tuple[list[Path], list[LoadError]]:
    """Files under the given paths with a supported suffix (each once, by its real path); a named file of another
    kind, a loop, a link out of its folder and an unreadable folder are errors, never exceptions."""
    sfx = {s.lower() for s in suffixes}
    found: list[Path] = []
    errors: list[LoadError] = []

    def error(path: Path | str, key: str, **kw: object) -> None:
        errors.append(LoadError(shown_path(path), MESSAGES[key].format(**kw)))

    for p in map(Path, paths):
        target, why = link_target(p)
        if why == "unreadable":
            error(p, "unreadable", reason=_strerror(p))
        elif why:
            error(p, why)
        elif target.is_dir():
            found += _walk(p, target, sfx, error)
        elif target.is_file():
            if p.suffix.lower() in sfx:
                found.append(p)
            else:
                error(p, "unsupported", suffix=p.suffix or "확장자 없음")
        else:
            error(p, "missing")
    seen: set[str] = set()
    unique = []
    for f in found:
        key = os.path.realpath(f)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, errors


def _walk(root: Path, real_root: Path, sfx: set[str], error) -> list[Path]:
    found: list[Path] = []

    def unreadable(e: OSError) -> None:
        error(e.filename or root, "folder_unreadable", reason=e.strerror or type(e).__name__)

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=False):
        d = Path(dirpath)
        for name in list(dirnames):
            if name.startswith("."):
                dirnames.remove(name)
            elif os.path.islink(d / name):             # not descended: its target is walked where it lives, if inside
                dirnames.remove(name)
                target, why = link_target(d / name)
                if why:
                    error(d / name, why, reason=_strerror(d / name))
                elif not _inside(target, real_root):
                    error(d / name, "outside", target=shown_path(target))
        dirnames.sort()
        for name in sorted(filenames):
            f = d / name
            if name.startswith(".") or f.suffix.lower() not in sfx:
                continue
            if os.path.islink(f):
                target, why = link_target(f)
                if why:
                    error(f, why, reason=_strerror(f))
                    continue
                if not _inside(target, real_root):
                    error(f, "outside", target=shown_path(target))
                    continue
                if not target.is_file():
                    continue
            found.append(f)
    return sorted(found)


def _strerror(path: Path) -> str:
    try:
        os.stat(path)
    except OSError as e:
        return e.strerror or type(e).__name__
    return "?"
