"""What the assistant knows: the indexed documents a viewer may see, for the document list in the chat and the admin
tab. The rule is rag/access.py's, applied to each file's label as the index records it (the same label its chunks
carry), so the list never names a document retrieval would keep from this viewer.

Read from the generation's per-file table (files.json), once per generation. Files indexed before the table carried
pages, sections and the indexing time show those as unknown (None).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.access import Viewer, permitted

SHOWN_MAX = 500                      # rows a list returns at most; a search narrows a larger library


@dataclass(frozen=True)
class Document:
    title: str
    name: str                        # the file name as indexed
    format: str
    pages: int | None
    sections: int | None
    indexed: str | None              # "YYYY-MM-DD HH:MM"
    level: str
    groups: tuple[str, ...]
    owner: str = ""                  # the department that keeps it (access.toml `owner`), "" when not said


def _documents(index) -> list[Document]:
    out = []
    for meta in index.files.values():
        name = Path(str(meta.get("source", ""))).name
        out.append(Document(title=str(meta.get("title") or name), name=name, format=str(meta.get("format") or ""),
                            pages=meta.get("pages"), sections=meta.get("sections"), indexed=meta.get("indexed"),
                            level=str(meta.get("level") or "내부"), groups=tuple(meta.get("groups") or ()),
                            owner=str(meta.get("owner") or "")))
    return sorted(out, key=lambda d: (d.title, d.name))


_CACHE: dict[str, list[Document]] = {}


def _load(index) -> list[Document]:
    key = str(index.path)
    if key not in _CACHE:
        _CACHE.clear()                               # one generation at a time
        _CACHE[key] = _documents(index)
    return _CACHE[key]


def owners(index, sources) -> dict[str, str]:
    """The keeping department of each of these indexed files (by the name chunks cite them by), where one is said."""
    wanted = {Path(str(s)).name for s in sources}
    return {d.name: d.owner for d in _load(index) if d.owner and d.name in wanted}


def documents(index, viewer: Viewer | None, query: str = "", limit: int = SHOWN_MAX) -> tuple[list[Document], int]:
    """(the documents this viewer may see whose title or file name holds `query`, at most `limit`; how many match).
    `viewer` None: every document (the admin tab's view of the files it manages, each shown with its label)."""
    q = " ".join((query or "").split()).casefold()
    found = [d for d in _load(index) if (viewer is None or permitted(d.level, d.groups, viewer))
             and (not q or q in d.title.casefold() or q in d.name.casefold())]
    return found[:limit], len(found)
