"""Who may see what (issue 14): access labels on indexed files, enforced inside retrieval. A leak test: for users of
another group, the CLI's default operator and an anonymous viewer, no output byte of `rag search` (single and batch),
`rag ask --json` (direct, paraphrased, as a follow-up) comes from a 대외비 document of another group; its own group
gets it with a citation; a re-label takes effect without re-embedding; a broken access.toml keeps its folder out."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.access import AccessFileError, Label, make_label, read_rules
from rag.access import ANONYMOUS, LOCAL, Viewer, permitted

SECRET_FILE = "2025_정보시스템_감사결과.txt"
SECRET = ("정보시스템 감사 결과 보고\n\n2025년 정보시스템 감사에서 서버실 출입 기록 누락이 17건 확인되었다.\n\n"
          "감사 책임자는 조치 기한을 2026년 1월 15일로 정하였다.\n")
# strings that exist only in the secret document
SECRET_BYTES = ["서버실", "17건", "1월 15일", "감사결과", "감사 결과 보고"]
INTERNAL = "내부 업무 안내\n\n청사 주차장은 평일 오전 7시부터 오후 10시까지 이용할 수 있다.\n"
PUBLIC = "민원 안내\n\n시청 민원실은 평일 오전 9시부터 오후 6시까지 운영한다.\n"
KIM = Viewer("kim", frozenset({"감사담당관"}), True, False)
LEE = Viewer("lee", frozenset({"교통정책과"}), True, False)


def test_the_rule():
    for level, groups, viewer, ok in [
            ("공개", [], ANONYMOUS, True), ("내부", [], ANONYMOUS, False), ("내부", [], LEE, True),
            ("내부", [], LOCAL, True), ("대외비", ["감사담당관"], KIM, True), ("대외비", ["감사담당관"], LEE, False),
            ("대외비", ["감사담당관"], LOCAL, False),                      # an admin only through groups
            ("대외비", [], KIM, False), ("대외비", ["감사담당관"], ANONYMOUS, False)]:
        assert permitted(level, groups, viewer) is ok, (level, groups, viewer)


def test_access_toml_precedence_and_errors(tmp_path):
    (tmp_path / "감사").mkdir()
    (tmp_path / "access.toml").write_text('[default]\nlevel = "공개"\n[files."감사/*"]\nlevel = "대외비"\n'
                                          'groups = ["감사담당관"]\n[files."감사/공개본.txt"]\nlevel = "내부"\n',
                                          encoding="utf-8")
    rules = read_rules(tmp_path, Label())
    assert rules.label_for(tmp_path / "감사" / "결과.txt") == Label("대외비", ("감사담당관",))
    assert rules.label_for(tmp_path / "감사" / "공개본.txt") == Label("내부", ())   # its own entry wins, whole
    assert rules.label_for(tmp_path / "안내.txt") == Label("공개", ())
    (tmp_path / "access.toml").write_text('[files."a.txt"]\nlevel = "비밀"\n', encoding="utf-8")
    with pytest.raises(AccessFileError, match="a.txt.*비밀"):
        read_rules(tmp_path, Label())
    assert make_label(None, "b, a,") == Label("내부", ("a", "b"))


# ------------------------------------------------------------------------------------------------ on a real index

@pytest.fixture(scope="module")
def site(tmp_path_factory, base_cfg):
    from rag.models import embedder_path
    try:
        embedder_path(base_cfg)
    except Exception as e:                                   # noqa: BLE001
        pytest.skip(f"embedder not provisioned: {e}")
    base = tmp_path_factory.mktemp("access")
    corpus = base / "corpus"
    (corpus / "감사").mkdir(parents=True)
    (corpus / "감사" / SECRET_FILE).write_text(SECRET, encoding="utf-8")
    (corpus / "내부안내.txt").write_text(INTERNAL, encoding="utf-8")
    (corpus / "민원안내.txt").write_text(PUBLIC, encoding="utf-8")
    (corpus / "access.toml").write_text('[files."감사/*"]\nlevel = "대외비"\ngroups = ["감사담당관"]\n'
                                        '[files."민원안내.txt"]\nlevel = "공개"\n', encoding="utf-8")
    env = {"RAG_DATA_DIR": str(base / "data"), "RAG_MODEL_CACHE_DIR": str(base_cfg.models_dir), "RAG_MAX_TOKENS": "48"}
    return {"base": base, "corpus": corpus, "env": env}


def _rag(monkeypatch, env: dict, argv: list[str]) -> int:
    from rag.cli import main
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return main(argv)


def _users(monkeypatch, site, capsys):
    import io
    for name, groups in (("kim", "감사담당관"), ("lee", "교통정책과")):
        monkeypatch.setattr("sys.stdin", io.StringIO("password-123\n"))
        if _rag(monkeypatch, site["env"], ["users", "add", name, "--groups", groups, "--password-stdin"]) != 0:
            capsys.readouterr()                               # already added by an earlier test of this module
    capsys.readouterr()


def leaked(text: str) -> list[str]:
    return [s for s in SECRET_BYTES if s in text]


def shown(reply: dict) -> str:
    """Everything an answer shows besides the echoed question: text, citations, quotes, warnings, rewrite."""
    return json.dumps({k: reply.get(k) for k in ("answer", "citations", "warnings", "rewritten_question")},
                      ensure_ascii=False)


QUESTIONS = ["서버실 출입 기록 누락이 몇 건 확인되었나요?",           # its own words
             "전산실 출입 관리에서 빠진 기록은 얼마나 되나?",           # a paraphrase
             "정보시스템 감사 조치 기한은 언제야?",
             "감사결과"]                                             # the file name


def test_search_shows_a_secret_document_only_to_its_group(site, monkeypatch, capsys, tmp_path):
    assert _rag(monkeypatch, site["env"], ["index", str(site["corpus"]), "--json"]) == 0
    capsys.readouterr()
    _users(monkeypatch, site, capsys)
    batch = tmp_path / "q.jsonl"
    batch.write_text("".join(json.dumps({"id": i, "question": q}, ensure_ascii=False) + "\n"
                             for i, q in enumerate(QUESTIONS)), encoding="utf-8")
    for who in ([], ["--user", "lee"]):
        for q in QUESTIONS:
            assert _rag(monkeypatch, site["env"], ["search", q, "--json", *who]) == 0
            out = capsys.readouterr().out
            assert not leaked(out) and SECRET_FILE not in out, (who, q, out[:300])
            assert json.loads(out)["hits"], "nothing permitted was found: the check would be empty"
        assert _rag(monkeypatch, site["env"], ["search", "--batch", str(batch), "--json", *who]) == 0
        out = capsys.readouterr().out
        assert len(out.splitlines()) == len(QUESTIONS) and not leaked(out) and SECRET_FILE not in out
    assert _rag(monkeypatch, site["env"], ["search", QUESTIONS[0], "--json", "--user", "kim"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert Path(hits[0]["source"]).name == SECRET_FILE and "17건" in hits[0]["text"]
    # an unknown user is an error naming the user, not a silent anonymous search
    assert _rag(monkeypatch, site["env"], ["search", QUESTIONS[0], "--user", "park"]) != 0
    assert "park" in capsys.readouterr().err


def test_a_re_label_takes_effect_without_re_embedding(site, monkeypatch, capsys):
    from index.store import load_index
    assert _rag(monkeypatch, site["env"], ["index", str(site["corpus"]), "--json"]) == 0
    capsys.readouterr()
    toml = site["corpus"] / "access.toml"
    before = toml.read_text(encoding="utf-8")
    toml.write_text(before.replace('groups = ["감사담당관"]', 'groups = ["감사담당관", "교통정책과"]'), encoding="utf-8")
    try:
        assert _rag(monkeypatch, site["env"], ["index", str(site["corpus"]), "--json"]) == 0
        rep = json.loads(capsys.readouterr().out)
        assert rep["chunks_embedded"] == 0 and [Path(p).name for p in rep["relabelled"]] == [SECRET_FILE]
        idx = load_index(Path(site["env"]["RAG_DATA_DIR"]) / "index")
        secret = [c for c in idx.chunks if Path(c.source).name == SECRET_FILE]
        assert secret and all(c.level == "대외비" and c.groups == ["감사담당관", "교통정책과"] for c in secret)
        # the label table the update wrote (taken from the old one, not parsed from the chunks) agrees with them
        from index.table import Labels
        table, parsed = idx.label_table(), Labels.of(list(idx.chunks))
        assert [table.label(i) for i in range(len(idx))] == [parsed.label(i) for i in range(len(idx))]
    finally:
        toml.write_text(before, encoding="utf-8")
    assert _rag(monkeypatch, site["env"], ["index", str(site["corpus"])]) == 0
    capsys.readouterr()


def test_a_broken_access_file_keeps_its_folder_out(tmp_path, base_cfg, monkeypatch, capsys, site):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text(SECRET, encoding="utf-8")
    (corpus / "access.toml").write_text('[files."a.txt"\nlevel = 대외비\n', encoding="utf-8")
    env = {**site["env"], "RAG_DATA_DIR": str(tmp_path / "data")}
    assert _rag(monkeypatch, env, ["index", str(corpus)]) == 2
    out = capsys.readouterr()
    assert "access.toml" in out.out and "Traceback" not in out.out + out.err
    if (tmp_path / "data" / "index" / "CURRENT").exists():
        from index.store import load_index
        assert len(load_index(tmp_path / "data" / "index").chunks) == 0


def test_ask_refuses_as_if_the_secret_did_not_exist(site, monkeypatch, capsys):
    from rag.models import GGUF_NAME
    cfg_models = Path(site["env"]["RAG_MODEL_CACHE_DIR"])
    if not (cfg_models / GGUF_NAME).is_file():
        pytest.skip("the default GGUF is not provisioned")
    assert _rag(monkeypatch, site["env"], ["index", str(site["corpus"])]) == 0
    capsys.readouterr()
    _users(monkeypatch, site, capsys)
    outs = {}
    for who in ("lee", "kim"):
        _rag(monkeypatch, site["env"], ["ask", QUESTIONS[0], "--json", "--user", who])
        outs[who] = json.loads(capsys.readouterr().out)
    # a question nothing in the documents answers, asked by the same user: the refusal must look the same
    _rag(monkeypatch, site["env"], ["ask", "화성 탐사 로버의 바퀴 지름은 몇 센티미터인가요?", "--json", "--user", "lee"])
    nothing = json.loads(capsys.readouterr().out)
    lee = outs["lee"]
    assert not leaked(shown(lee)) and SECRET_FILE not in shown(lee)
    assert lee["refused"] and nothing["refused"] and not nothing["citations"]
    # refused as a question nothing answers is: the plain refusal, or (issue 30) the answer that names a condition of
    # the question the permitted documents do not meet, with evidence from permitted files only
    from rag.prompting import load_prompts
    msgs = load_prompts(Path(__file__).resolve().parents[1] / "prompts").messages
    heads = (msgs["refusal"], msgs["condition_absent"].split("{")[0], msgs["condition_unmet"].split("{")[0])
    assert lee["answer"].startswith(heads) and nothing["answer"].startswith(heads), (lee["answer"], nothing["answer"])
    assert all(Path(c["source"]).name != SECRET_FILE for c in lee["citations"])
    kim = outs["kim"]
    assert not kim["refused"] and "17" in kim["answer"], kim
    assert any(Path(c["source"]).name == SECRET_FILE for c in kim["citations"])
    assert "withheld" not in json.dumps(lee) and "user" not in lee      # the count is for the audit log only
    # the audit log: who asked, what was cited, how many candidates access withheld (a count, no names)
    assert _rag(monkeypatch, site["env"], ["audit", "--user", "lee", "--json"]) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert recs and all(r["user"] == "lee" for r in recs)
    assert recs[0]["withheld_by_access"] >= 1 and recs[0]["cited_sources"] == []
    assert not any(SECRET_FILE in json.dumps(r, ensure_ascii=False) for r in recs)
    assert _rag(monkeypatch, site["env"], ["audit", "--user", "kim", "--since", "2000-01-01", "--json"]) == 0
    kim_recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert kim_recs and kim_recs[0]["withheld_by_access"] == 0
    assert any(Path(c["source"]).name == SECRET_FILE for c in kim_recs[0]["cited_sources"])
    assert _rag(monkeypatch, site["env"], ["audit", "--since", "yesterday"]) != 0
    capsys.readouterr()
    # as a follow-up to a permitted question, through the Python API the browser uses
    from rag.answer import Turn
    from rag.config import load_config
    from rag.runtime import open_assistant
    cfg = load_config(env={}, data_dir=Path(site["env"]["RAG_DATA_DIR"]), model_cache_dir=cfg_models, max_tokens=48)
    assistant = open_assistant(cfg)
    first = assistant.ask("시청 민원실은 몇 시까지 운영해?", viewer=LEE)
    assert not first.refused and "6시" in first.text, first.text
    follow = assistant.ask("그럼 그 감사에서 서버실 출입 기록 누락은 몇 건이었어?",
                           [Turn("시청 민원실은 몇 시까지 운영해?", first.text)], viewer=LEE)
    visible = follow.text + " ".join(c.text + (c.quote or "") + c.source for c in follow.citations)
    assert not leaked(visible) and SECRET_FILE not in visible and follow.refused, visible


def test_json_api_requires_a_login_and_answers_as_that_user(site, base_cfg, monkeypatch, capsys, tmp_path):
    from rag.models import GGUF_NAME
    if not (base_cfg.models_dir / GGUF_NAME).is_file():
        pytest.skip("the default GGUF is not provisioned")
    from dataclasses import replace

    from gradio_client import Client

    from eval.load import start_server
    assert _rag(monkeypatch, site["env"], ["index", str(site["corpus"])]) == 0
    capsys.readouterr()
    _users(monkeypatch, site, capsys)
    data = Path(site["env"]["RAG_DATA_DIR"])
    cfg = replace(base_cfg, data_dir=data, max_tokens=48)
    server = start_server(cfg, data / "index", data)
    try:
        with pytest.raises(Exception):                      # no login, no answer
            Client(server.url + "/", verbose=False).predict(QUESTIONS[0], api_name="/ask")
        replies = {}
        for who in ("lee", "kim"):
            client = Client(server.url + "/", auth=(who, "password-123"), verbose=False)
            replies[who] = client.predict(QUESTIONS[0], api_name="/ask")
    finally:
        server.stop()
    lee = shown(replies["lee"])
    assert not leaked(lee) and SECRET_FILE not in lee and replies["lee"]["refused"], lee[:300]
    assert any(Path(c["source"]).name == SECRET_FILE for c in replies["kim"]["citations"]), replies["kim"]


# ------------------------------------------------------------------------------------------- BM25 statistics

def test_bm25_within_a_part_equals_bm25_of_that_part_alone():
    """BM25 for a restricted viewer is BM25 over the permitted chunks only (their idf and average length); with
    every chunk permitted it equals bm25s' own scores."""
    import numpy as np
    from index import bm25
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(40)]
    terms = [list(rng.choice(words, size=int(rng.integers(0, 30)))) for _ in range(300)]
    bm = bm25.build(terms)
    freq = bm25.frequencies(bm, terms)
    allowed = rng.random(len(terms)) < 0.5
    rows = np.flatnonzero(allowed)
    alone = bm25.build([terms[i] for i in rows])
    for q in (["w1"], ["w2", "w3", "w2"], words[:10]):
        ids = [bm.vocab_dict[t] for t in q]
        full, withheld = bm25.scores_within(bm, freq, ids, bm25.part(bm, freq, np.ones(len(terms), bool)))
        assert withheld == 0
        np.testing.assert_allclose(full, bm.get_scores(q), rtol=1e-5, atol=1e-6)
        within, withheld = bm25.scores_within(bm, freq, ids, bm25.part(bm, freq, allowed))
        assert not within[~allowed].any()
        np.testing.assert_allclose(within[rows], alone.get_scores([t for t in q if t in alone.vocab_dict]),
                                   rtol=1e-5, atol=1e-6)
        assert withheld == sum(1 for i in np.flatnonzero(~allowed) if set(q) & set(terms[i]))


def test_a_forbidden_document_changes_no_score_or_rank_a_viewer_sees(tmp_path, base_cfg, embedder):
    """The same question over an index with and without a 대외비 document that shares its words: a viewer outside the
    group gets the same chunks with the same scores (BM25's idf and length statistics, the fused min-max, FAISS)."""
    from index.access import make_label
    from index.store import load_index, update_index
    from rag.runtime import make_retriever, pii_screen
    model, path = embedder
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "내부안내.txt").write_text(INTERNAL, encoding="utf-8")
    (docs / "민원안내.txt").write_text(PUBLIC, encoding="utf-8")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "주차_감사.txt").write_text("청사 주차장 민원 감사\n\n청사 주차장 이용 시간 민원이 평일 오전에 많았다.\n",
                                      encoding="utf-8")
    without = update_index(tmp_path / "a", [docs], model, path, screen=pii_screen("mask"))
    assert without.ok
    update_index(tmp_path / "b", [docs], model, path, screen=pii_screen("mask"))
    assert update_index(tmp_path / "b", [secret], model, path, screen=pii_screen("mask"),
                        label=make_label("대외비", ["감사담당관"])).ok
    plain = make_retriever(base_cfg, load_index(tmp_path / "a"), model)
    mixed = make_retriever(base_cfg, load_index(tmp_path / "b"), model)
    assert len(mixed.index.chunks) > len(plain.index.chunks)
    for q in ("청사 주차장 이용 시간", "평일 오전 민원", "주차장 감사"):
        for viewer in (LEE, LOCAL, ANONYMOUS):
            a, b = plain.search(q, 8, viewer=viewer), mixed.search(q, 8, viewer=viewer)
            assert [h.chunk.id for h in a] == [h.chunk.id for h in b], (q, viewer)
            for x, y in zip(a, b):
                assert x.raw == pytest.approx(y.raw, rel=1e-5, abs=1e-6) and x.ranks == y.ranks
                assert x.score == pytest.approx(y.score, rel=1e-5, abs=1e-6)
    assert any(h.chunk.source.endswith("주차_감사.txt") for h in mixed.search("주차장 감사", 8, viewer=KIM))


def test_a_viewer_whose_permissions_match_nothing_gets_nothing(tmp_path, base_cfg, embedder):
    """RAGFlow #11572's shape: when the access filter matches no chunk, retrieval returns nothing — not everything —
    through every retriever and the batch path; the document's own group still finds it."""
    from index.access import make_label
    from index.store import load_index, update_index
    from rag.runtime import make_retriever, pii_screen
    model, path = embedder
    (tmp_path / "감사").mkdir()
    (tmp_path / "감사" / SECRET_FILE).write_text(SECRET, encoding="utf-8")
    assert update_index(tmp_path / "idx", [tmp_path / "감사"], model, path, screen=pii_screen("mask"),
                        label=make_label("대외비", ["감사담당관"])).ok
    index = load_index(tmp_path / "idx")
    nobody = Viewer("x", frozenset({"없는부서"}), True, False)
    for fusion in ("linear", "rrf", "bm25", "dense"):
        r = make_retriever(base_cfg, index, model, fusion)
        for viewer in (LEE, LOCAL, ANONYMOUS, nobody):
            assert r.search("서버실 출입 기록 누락", 8, viewer=viewer) == [], (fusion, viewer)
            (hits, info), = r.search_many(["서버실 출입 기록 누락은 몇 건인가요"], 8, viewer=viewer)
            assert hits == [] and "hits" not in info
        assert r.search("서버실 출입 기록 누락", 8, viewer=KIM), fusion
