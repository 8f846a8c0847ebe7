"""Records of the offline path, files → index (see ../shared/DESIGN.md). The online records are in rag/records.py."""
from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Section:
    """A page (PDF) or a section/paragraph group (HWP, DOCX, HTML, text) of a document."""
    text: str
    page: int | None = None          # 1-based page number where the format has pages
    heading: str = ""                # nearest heading, "" when unknown


@dataclass
class Document:
    source: str                      # file path as given to the indexer
    title: str
    sections: list[Section]
    format: str = ""                 # "txt", "pdf", "hwp", ...


@dataclass
class LoadError:
    """A file that could not be indexed: the user sees the file name and the reason (Korean)."""
    source: str
    reason: str


@dataclass
class Chunk:
    id: str                          # stable id: "<file-hash[:12]>:<n>"
    source: str
    text: str
    page: int | None = None
    section: str = ""                # heading
    ordinal: int = 0                 # position inside its document
    # evidence units (sentences, table rows, list items) found at ingest: [start, end, morphemes] in `text`
    units: list = field(default_factory=list)
    # personal-data types in `text` when the file was indexed with document_pii = "flag" (index/pii.py); [] otherwise
    pii: list = field(default_factory=list)
    # access label of its file (index/access.py): 공개 / 내부 / 대외비, and the groups that may see a 대외비 chunk
    level: str = "내부"
    groups: list = field(default_factory=list)


def sha256_file(path, chunk: int = 1 << 22) -> str:
    """Content hash of a file, read in blocks: index keys, model checks and dataset stamps all use this one."""
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def shown_path(path) -> str:
    """A file path as people read it. Names that are not UTF-8 (CP949 from Windows zip archives extracted on Linux)
    come from the OS as surrogate escapes, which no JSON, terminal or browser takes: each such component is decoded
    as CP949 (EUC-KR is a subset), else with replacement marks. The raw path (the bytes) stays the file's identity."""
    s = os.fspath(path)
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return "/".join(_decoded_name(part) for part in os.fsencode(s).split(b"/"))


def _decoded_name(raw: bytes) -> str:
    for encoding in ("utf-8", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")
