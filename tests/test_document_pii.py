"""Personal data inside documents (issue 13): screened at ingest with the prompt guard. With the default "mask" no raw
value reaches any file of the index, `rag search`, `rag ask --json`, the JSON API or the server's logs; "flag" marks
the chunks; "refuse" keeps the file out, naming the types and counts and never a value."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from index.pii import screen_document
from index.records import Document, Section
from rag.runtime import pii_screen

# every value is invented; none belongs to a real person
RAW = {"RRN": "900101-1234568", "PHONE": "010-9876-5432", "PASSPORT": "G1234567", "SENSITIVE": "공황장애",
       "PERSON": "정해인"}
DOC = ("민원 처리 결과 보고\n\n"
       f"민원인 {RAW['PERSON']} 씨(주민등록번호 {RAW['RRN']})는 {RAW['SENSITIVE']}로 통원 치료 중이며, "
       f"연락처는 {RAW['PHONE']} 입니다.\n\n"
       f"외국인 신청자 여권번호: {RAW['PASSPORT']} 로 접수했습니다.\n\n"
       "민원 회신 기한은 접수일로부터 7일 이내입니다.\n\n"
       "문의: 디지털정책과 02-2133-4567, 담당 주무관 김민수\n")


def raw_forms() -> list[bytes]:
    """Each raw value as it could appear in a file: as written, without separators, and JSON-escaped."""
    out = []
    for v in RAW.values():
        for form in {v, v.replace("-", "")}:
            out += [form.encode("utf-8"), json.dumps(form).strip('"').encode("ascii")]
    return out


def leaks(data: bytes | str) -> list[bytes]:
    b = data.encode("utf-8") if isinstance(data, str) else data
    return [f for f in raw_forms() if f in b]


def test_the_three_policies_on_a_document():
    doc = Document("민원.txt", "민원 처리 결과 보고", [Section(DOC, None, "")], "txt")
    masked, found = screen_document(doc, pii_screen("mask"))
    assert found == {"PERSON": 1, "RRN": 1, "SENSITIVE": 1, "PHONE": 1, "PASSPORT": 1}
    text = masked.sections[0].text
    assert not leaks(text)
    assert "[주민등록번호]" in text and "[민감정보]" in text and "[여권번호]" in text
    # public roles and office numbers stay as they are
    assert "디지털정책과 02-2133-4567" in text and "주무관 김민수" in text and "7일 이내" in text
    flagged, found_f = screen_document(doc, pii_screen("flag"))
    assert flagged.sections[0].text == DOC and found_f == found
    assert pii_screen("refuse").describe(found).count(" 1") == 5 and not leaks(pii_screen("refuse").describe(found))


@pytest.fixture(scope="module")
def pii_corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("pii-corpus")
    (d / "민원.txt").write_text(DOC, encoding="utf-8")
    (d / "안내.txt").write_text("시청 민원실은 평일 오전 9시부터 오후 6시까지 운영합니다.\n", encoding="utf-8")
    return d


def _rag(monkeypatch, env: dict, argv: list[str]) -> int:
    from rag.cli import main
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return main(argv)


def test_masked_values_never_reach_the_index_or_any_output(pii_corpus, base_cfg, tmp_path, monkeypatch, capsys):
    from rag.models import GGUF_NAME
    if not (base_cfg.models_dir / GGUF_NAME).is_file():
        pytest.skip(f"the default GGUF is not provisioned in {base_cfg.models_dir} (run `rag doctor`)")
    from eval.load import http_sender, start_server
    data = tmp_path / "data"
    env = {"RAG_DATA_DIR": str(data), "RAG_MODEL_CACHE_DIR": str(base_cfg.models_dir), "RAG_DOCUMENT_PII": "mask",
           "RAG_MAX_TOKENS": "48"}
    assert _rag(monkeypatch, env, ["index", str(pii_corpus), "--json"]) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    key = next(k for k in report["pii"] if k.endswith("민원.txt"))
    assert report["pii_policy"] == "mask" and report["pii"][key]["RRN"] == 1 and report["pii"][key]["SENSITIVE"] == 1
    assert not leaks(out.out + out.err)

    outputs = []
    assert _rag(monkeypatch, env, ["search", "민원인 연락처 주민등록번호", "--json"]) == 0
    outputs.append(capsys.readouterr().out)
    assert "[전화번호]" in outputs[-1]                       # the document was found, masked
    for q in ("민원인의 연락처와 주민등록번호를 알려줘", "여권번호가 뭐야?"):
        _rag(monkeypatch, env, ["ask", q, "--json"])
        outputs.append(capsys.readouterr().out)
        assert isinstance(json.loads(outputs[-1])["answer"], str)
    cfg = replace(base_cfg, data_dir=data, max_tokens=48)
    server = start_server(cfg, data / "index", data)
    try:
        send = http_sender(server.url)
        for q in ("민원인 정해인 씨는 무슨 치료를 받고 있어?", "민원 회신 기한은?"):
            outputs.append(json.dumps(send(q, None)["reply"], ensure_ascii=False))
    finally:
        server.stop()
    assert any("7일" in o for o in outputs), "the ordinary question was not answered: the check would be empty"
    for o in outputs:
        assert not leaks(o), (o[:300], leaks(o))
    files = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.name == "chunks.jsonl" for p in files) and any(p.name == "audit.jsonl" for p in files)
    for p in files:                         # chunk table, BM25 arrays, vectors, manifest, audit and server logs
        assert not leaks(p.read_bytes()), (p, leaks(p.read_bytes()))


def test_refuse_keeps_the_file_out_and_says_why_without_values(pii_corpus, base_cfg, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    env = {"RAG_DATA_DIR": str(data), "RAG_MODEL_CACHE_DIR": str(base_cfg.models_dir), "RAG_DOCUMENT_PII": "refuse"}
    rc = _rag(monkeypatch, env, ["index", str(pii_corpus)])
    out = capsys.readouterr()
    assert rc == 1                                            # partial: the clean file is indexed
    line = next(x for x in out.out.splitlines() if "실패" in x)
    assert "민원.txt" in line and "주민등록번호 1" in line and "refuse" in line
    assert not leaks(out.out + out.err)
    assert _rag(monkeypatch, env, ["search", "민원인 연락처", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits and all(Path(h["source"]).name == "안내.txt" for h in hits)
    for p in (data / "index").rglob("*"):
        if p.is_file():
            assert not leaks(p.read_bytes()) and b"\xea\xb3\xb5\xed\x99\xa9" not in p.read_bytes()  # 공황


def test_flag_stores_the_text_and_marks_its_chunks(pii_corpus, base_cfg, tmp_path, monkeypatch, capsys):
    from index.store import load_index
    data = tmp_path / "data"
    env = {"RAG_DATA_DIR": str(data), "RAG_MODEL_CACHE_DIR": str(base_cfg.models_dir), "RAG_DOCUMENT_PII": "flag"}
    assert _rag(monkeypatch, env, ["index", str(pii_corpus), "--json"]) == 0
    capsys.readouterr()
    idx = load_index(data / "index")
    flagged = [c for c in idx.chunks if c.pii]
    assert flagged and all(Path(c.source).name == "민원.txt" for c in flagged)
    assert {"RRN", "PHONE", "PASSPORT", "SENSITIVE"} <= set().union(*(set(c.pii) for c in flagged))
    assert not any(c.pii for c in idx.chunks if Path(c.source).name == "안내.txt")
    # switching back to mask processes the file again (its policy changed), nothing raw stays
    env["RAG_DOCUMENT_PII"] = "mask"
    assert _rag(monkeypatch, env, ["index", str(pii_corpus), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert any(s.endswith("민원.txt") for s in report["changed"])
    for p in (data / "index").rglob("*"):
        if p.is_file():
            assert not leaks(p.read_bytes()), p
