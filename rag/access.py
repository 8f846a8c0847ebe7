"""Who may see what: the viewer of a request and the one rule, applied inside retrieval (rag/retrieve.py) so that every
later step — the evidence gate, follow-up rewriting, the evidence preview, citations, `rag search` — only ever meets
permitted chunks.

A viewer may retrieve a chunk iff
    level 공개, or
    level 내부 and the viewer is signed in (or the product runs without accounts), or
    level 대외비 and the viewer shares a group with the document (admins only through their groups).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Viewer:
    name: str | None = None
    groups: frozenset[str] = frozenset()
    signed_in: bool = True            # or: the product runs without accounts (a single-user office machine)
    admin: bool = False

    @property
    def key(self) -> tuple:
        """What the rule depends on (permission masks are cached by it)."""
        return self.signed_in, self.groups


# the CLI without --user, and the browser when no account exists: 공개 and 내부, no 대외비
LOCAL = Viewer(None, frozenset(), True, True)
ANONYMOUS = Viewer(None, frozenset(), False, False)
# the browser without accounts on a host reachable from the network (rag/serving.py): the same reading, no admin
SHARED = Viewer(None, frozenset(), True, False)


def permitted(level: str, groups, viewer: Viewer) -> bool:
    if level == "공개":
        return True
    if level == "대외비":
        return bool(viewer.groups & set(groups))
    return viewer.signed_in           # 내부, and anything unknown is treated as 내부


def permission_mask(chunks, viewer: Viewer) -> np.ndarray:
    """A boolean per chunk: may this viewer retrieve it?"""
    return np.fromiter((permitted(c.level, c.groups, viewer) for c in chunks), dtype=bool, count=len(chunks))
