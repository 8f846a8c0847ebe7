"""eval/: metric functions on hand-made cases, the KorQuAD loader, resume after an interrupted run, compare, the guard
evaluation on eval/datasets/guard.jsonl (the load run is in tests/test_load.py). No LLM here: the answers run is
driven by a tiny scripted generator (the thing under test is the harness, not the model)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eval import metrics
from eval.korquad import CREDIT, korquad_rows, prepare_korquad
from eval.report import compare, flatten, write_report
from eval.runs import RunLog, with_referents

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
KORQUAD = SHARED / "bench" / "korquad-v1" / "KorQuAD_v1.0_dev.json"
GUARD_DATASET = ROOT / "eval" / "datasets" / "guard.jsonl"


# ------------------------------------------------------------------------------------------------ metrics

def test_normalize_and_answer_match():
    assert metrics.normalize_answer(" 1,234억 원. ") == "1234억원"
    # NFD (decomposed jamo) input matches its NFC form
    import unicodedata
    assert metrics.answer_match(unicodedata.normalize("NFD", "위원장은 김철수입니다."), ["김철수"])
    assert metrics.answer_match("2025년 4월 2일에 회부되었습니다", ["2025년4월2일"])
    assert metrics.answer_match("Seoul AI Hub", ["seoul ai hub"])
    assert not metrics.answer_match("부위원장은 박영희입니다", ["김철수"])
    assert not metrics.answer_match("아무 말", [""])                 # an empty gold never matches
    assert not metrics.answer_match("", ["26명"])


def test_source_matches_on_path_boundaries():
    assert metrics.source_matches("/data/corpus/a/b.txt", "a/b.txt")
    assert metrics.source_matches("/data/corpus/b.txt", "b.txt")
    assert not metrics.source_matches("/data/corpus/ab.txt", "b.txt")
    assert not metrics.source_matches("/data/corpus/x/b.txt", "a/b.txt")


def test_retrieval_metrics_by_hand():
    # ranked chunk sources (duplicates collapse to the first appearance): a, b, c, d
    ranked = ["a", "a", "b", "c", "b", "d"]
    s = metrics.retrieval_scores(ranked, ["c"])
    assert s["recall@1"] == 0 and s["recall@3"] == 1 and s["recall@10"] == 1
    assert s["mrr@10"] == pytest.approx(1 / 3)
    assert s["ndcg@10"] == pytest.approx(1 / math.log2(4))
    two = metrics.retrieval_scores(ranked, ["a", "d"])
    assert two["recall@1"] == 0.5 and two["recall@3"] == 0.5 and two["recall@5"] == 1.0
    assert two["mrr@10"] == 1.0
    assert two["ndcg@10"] == pytest.approx((1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))
    miss = metrics.retrieval_scores(ranked, ["z"])
    assert miss == {"recall@1": 0, "recall@3": 0, "recall@5": 0, "recall@10": 0, "mrr@10": 0, "ndcg@10": 0}
    # beyond 10 distinct units nothing counts
    far = metrics.retrieval_scores([str(i) for i in range(12)], ["11"])
    assert far["recall@10"] == 0 and far["mrr@10"] == 0


def test_page_level_matching_with_custom_match():
    ranked = [("/c/doc.pdf", 3), ("/c/doc.pdf", 4), ("/c/other.pdf", 4)]
    s = metrics.retrieval_scores(ranked, [("doc.pdf", 4)], lambda u, g: u[1] == g[1] and
                                 metrics.source_matches(u[0], g[0]))
    assert s["recall@1"] == 0 and s["recall@3"] == 1 and s["mrr@10"] == 0.5


def test_answer_in_chunks_levels():
    out = metrics.answer_in_chunks(["서론", "위원은 15명", "기타"], ["15명"])
    assert out["answer@1"] == 0 and out["answer@3"] == 1


def test_answer_scores_refusal_and_citations():
    item = {"answers": ["26명"], "sources": ["a.txt"], "answerable": True}
    good = {"text": "찬성 의원은 26명입니다 [1]", "refused": False,
            "citations": [{"source": "/x/a.txt", "text": "..."}, {"source": "/x/b.txt", "text": "26명 찬성"},
                          {"source": "/x/b.txt", "text": "무관한 문장"}]}
    s = metrics.answer_scores(item, good)
    assert s["match"] and s["refusal_correct"] and s["n_citations"] == 3 and s["n_citations_correct"] == 2
    refused = metrics.answer_scores(item, {"text": "자료에서 찾을 수 없습니다.", "refused": True, "citations": []})
    assert not refused["match"] and not refused["refusal_correct"]
    una = {"answers": [], "sources": [], "answerable": False}
    assert metrics.answer_scores(una, {"text": "자료에서 찾을 수 없습니다.", "refused": True})["refusal_correct"]
    invented = metrics.answer_scores(una, {"text": "예산은 30억 원입니다", "refused": False, "citations": []})
    assert not invented["refusal_correct"] and "match" not in invented
    summ = metrics.answer_summary([s, refused, invented], [
        {"ttft_ms": 1000.0, "total_ms": 3000.0, "completion_tokens": 21},
        {"ttft_ms": 0.0, "total_ms": 50.0, "completion_tokens": 0},
        {"ttft_ms": 3000.0, "total_ms": 4000.0, "completion_tokens": 11}])
    assert summ["answer_match"] == 0.5 and summ["refusal_accuracy"] == pytest.approx(1 / 3)
    assert summ["refused_unanswerable"] == 0.0 and summ["refused_answerable"] == 0.5
    assert summ["citation_precision"] == pytest.approx(2 / 3)
    assert summ["ttft_ms_median"] == 2000.0                      # the refusal without an LLM call is left out
    assert summ["tokens_per_s_median"] == pytest.approx(10.0)    # (21-1)/2 s and (11-1)/1 s


def test_percentiles():
    assert metrics.percentile([], 50) is None
    assert metrics.percentile([5], 95) == 5
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5
    assert metrics.percentile(list(range(101)), 95) == 95


# ------------------------------------------------------------------------------------------------ KorQuAD

def test_korquad_rows_on_a_hand_made_file():
    raw = {"data": [{"title": "가/나", "paragraphs": [
        {"context": "문단 하나. 답은 여기.", "qas": [{"id": "1", "question": "답은?", "answers": [
            {"text": "여기", "answer_start": 9}, {"text": "여기", "answer_start": 9}]}]},
        {"context": "문단 하나. 답은 여기.", "qas": [{"id": "2", "question": "또?", "answers": [{"text": "문단"}]}]},
        {"context": "둘째 문단", "qas": [{"id": "3", "question": "없음", "answers": []}]}]}]}
    rows, files = korquad_rows(raw)
    assert list(files.values()) == ["문단 하나. 답은 여기.", "둘째 문단"]          # identical paragraphs: one file
    assert all("/" not in name for name in files)
    assert rows[0]["answers"] == ["여기"] and rows[0]["sources"] == rows[1]["sources"]
    assert rows[2]["answerable"] is False


@pytest.mark.skipif(not KORQUAD.is_file(), reason=f"KorQuAD not found at {KORQUAD}")
def test_prepare_korquad_unmodified_and_complete(tmp_path):
    ds_path, corpus = prepare_korquad(KORQUAD, tmp_path / "kq")
    raw = json.loads(KORQUAD.read_text(encoding="utf-8"))
    contexts = {p["context"] for a in raw["data"] for p in a["paragraphs"]}
    files = {f.name: f.read_text(encoding="utf-8") for f in corpus.glob("*.txt")}
    assert set(files.values()) == contexts and len(files) == len(contexts)
    rows = [json.loads(line) for line in ds_path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == sum(len(p["qas"]) for a in raw["data"] for p in a["paragraphs"]) == 5774
    for r in rows:
        assert r["answerable"] and r["answers"] and len(r["sources"]) == 1
        assert any(ans in files[r["sources"][0]] for ans in r["answers"])
    mtime = ds_path.stat().st_mtime_ns
    prepare_korquad(KORQUAD, tmp_path / "kq")                       # second call: nothing rewritten
    assert ds_path.stat().st_mtime_ns == mtime
    assert "CC BY-ND 2.0 KR" in CREDIT and "LG CNS" in CREDIT


# ------------------------------------------------------------------------------------------------ run log

def test_runlog_resumes_drops_a_torn_line_and_restarts_on_new_settings(tmp_path):
    log = RunLog(tmp_path / "run", {"a": 1})
    log.add({"key": "q1", "v": 1})
    log.add({"key": "q2", "v": 2})
    with log.items_path.open("a", encoding="utf-8") as fh:
        fh.write('{"key": "q3", "v"')                              # killed mid-write
    again = RunLog(tmp_path / "run", {"a": 1})
    assert again.resumed == 2 and again.done("q2") and not again.done("q3")
    again.add({"key": "q3", "v": 3})
    lines = again.items_path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["key"] for x in lines] == ["q1", "q2", "q3"]
    changed = RunLog(tmp_path / "run", {"a": 2})
    assert changed.resumed == 0 and not changed.items_path.exists()


def test_with_referents_pulls_in_what_follow_ups_need():
    items = [{"id": "a"}, {"id": "b"}, {"id": "c", "followup_of": "b"}, {"id": "d", "followup_of": "c"}]
    assert [r["id"] for r in with_referents(list(reversed(items)), 1)] == ["b", "c", "d"]
    assert [r["id"] for r in with_referents(items, None)] == ["a", "b", "c", "d"]


# ------------------------------------------------------------------------------------------------ end to end on a
# small corpus written here (real embedder, real index, no LLM)

CORPUS = {
    "committee.txt": "서울스마트도시위원회는 위원장 1명을 포함한 25명 이내의 위원으로 구성한다.\n"
                     "위원장은 행정1부시장이 맡고 부위원장은 위원 중에서 호선한다.\n",
    "budget/plan.txt": "2025년 인공지능 행정 서비스 사업의 총 사업비는 1,234억 원이다.\n"
                       "사업은 디지털정책과가 주관하고 정보통신보안담당관이 지원한다.\n",
    "faq.md": "# 자주 묻는 질문\n\n민원 처리 기간은 접수일로부터 7일 이내이다.\n상담 챗봇은 평일 오전 9시부터 운영한다.\n",
}
DATASET = [
    {"id": "r1", "question": "스마트도시위원회 위원 정원은 몇 명인가?", "answers": ["25명"],
     "sources": ["committee.txt"], "answerable": True},
    {"id": "r2", "question": "인공지능 행정 서비스 사업 총사업비는?", "answers": ["1,234억 원"],
     "sources": ["budget/plan.txt"], "answerable": True},
    {"id": "r3", "question": "민원 처리 기간은 며칠인가?", "answers": ["7일"], "sources": ["faq.md"],
     "answerable": True},
    {"id": "r4", "question": "담당 부서는?", "answers": ["디지털정책과"],
     "sources": ["budget/plan.txt"], "answerable": True, "followup_of": "r2"},
    {"id": "r5", "question": "시장의 임기 만료일은 언제인가?", "answers": [], "sources": [], "answerable": False},
]


@pytest.fixture(scope="module")
def small_eval(tmp_path_factory):
    from rag.config import load_config
    try:
        from rag.models import embedder_path
        models_dir = load_config().models_dir
        embedder_path(load_config())
    except Exception as e:                                   # noqa: BLE001
        pytest.skip(f"embedder not provisioned: {e}")
    base = tmp_path_factory.mktemp("evalrun")
    corpus = base / "corpus"
    for rel, text in CORPUS.items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_text(text, encoding="utf-8")
    ds = base / "small.jsonl"
    ds.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in DATASET), encoding="utf-8")
    env = {"RAG_DATA_DIR": str(base / "data"), "RAG_MODEL_CACHE_DIR": str(models_dir)}
    return {"base": base, "corpus": corpus, "dataset": ds, "env": env, "out": base / "reports"}


def _rag(monkeypatch, env: dict, argv: list[str]) -> int:
    from rag.cli import main
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return main(argv)


def test_retrieval_run_resumes_after_an_interrupted_run(small_eval, monkeypatch, capsys):
    e = small_eval
    argv = ["eval", "retrieval", "--dataset", str(e["dataset"]), "--corpus", str(e["corpus"]),
            "--retrievers", "bm25,linear", "--out", str(e["out"]), "--json"]
    assert _rag(monkeypatch, e["env"], argv + ["--limit", "1"]) == 0
    items = Path(e["env"]["RAG_DATA_DIR"]) / "eval" / "runs" / "retrieval-small" / "items.jsonl"
    first = items.read_text(encoding="utf-8")
    assert len(first.splitlines()) == 1
    capsys.readouterr()
    assert _rag(monkeypatch, e["env"], argv) == 0
    report = json.loads(capsys.readouterr().out)
    text = items.read_text(encoding="utf-8")
    assert text.startswith(first) and len(text.splitlines()) == 3  # r4 (follow-up) and r5 (unanswerable) left out
    m = report["metrics"]
    assert set(m) == {"bm25", "linear"} and m["bm25"]["items"] == 3
    assert m["bm25"]["recall@3"] == 1.0 and m["linear"]["recall@1"] >= 2 / 3
    assert report["stamp"]["models"]["embedder"]["id"] and report["stamp"]["project_version"]
    for suffix in (".md", ".json", "-recall.png"):
        assert (e["out"] / f"retrieval-small{suffix}").is_file()


def test_evidence_run_compares_selection_variants_without_the_generator(small_eval, monkeypatch, capsys):
    e = small_eval
    argv = ["eval", "evidence", "--dataset", str(e["dataset"]), "--corpus", str(e["corpus"]), "--variants",
            "0:0,0.5:1,0.5:1:0.2:abbr", "--out", str(e["out"]), "--json"]
    assert _rag(monkeypatch, e["env"], argv) == 0
    report = json.loads(capsys.readouterr().out)
    m = report["metrics"]
    assert list(m) == ["0:0", "0.5:1", "0.5:1:0.2:abbr"] and all(v["items"] == 3 for v in m.values())
    assert m["0:0"]["has_answer"] == 1.0 and "only_baseline" in m["0.5:1"]
    assert {r["id"] for r in report["items"]} == {"r1", "r2", "r3"}
    assert (e["out"] / "evidence-small.md").is_file()
    assert _rag(monkeypatch, e["env"], argv[:6] + ["--variants", "fast"]) != 0
    err = capsys.readouterr().err
    assert "--variants 'fast'" in err and "Traceback" not in err


class ScriptedGenerator:
    """Stands in for the LLM: answers with the first evidence line and cites [1]; records what it was sent."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []                 # (kind, user message)

    def stream(self, messages, *, max_tokens=256, temperature=0.0, stop=None, cancel=None, stats=None):
        user = messages[-1]["content"]
        if stop == ["\n"]:                                  # the follow-up rewrite call
            self.calls.append(("rewrite", user))
            yield "인공지능 행정 서비스 사업은 어느 부서가 주관해?"
            return
        self.calls.append(("answer", user))
        lines = user.splitlines()
        first = lines[lines.index(next(x for x in lines if x.startswith("[1]"))) + 1]
        yield "자료에 따르면 " + first[:80] + " [1]"


def test_answers_run_follow_up_history_budgets_and_resume(small_eval, monkeypatch):
    from eval.data import open_eval_index, resolve_dataset
    from eval.runs import run_answers, summarize_answers
    from rag.answer import Assistant
    from rag.config import load_config
    from rag.retrieve import Retriever
    for k, v in small_eval["env"].items():
        monkeypatch.setenv(k, v)
    cfg = load_config()
    ds = resolve_dataset(str(small_eval["dataset"]), "answers", cfg)
    index, embedder, *_ = open_eval_index(cfg, small_eval["corpus"])
    gen = ScriptedGenerator()
    assistant = Assistant(cfg, Retriever(index, embedder), gen)
    log = RunLog(small_eval["base"] / "answers-run", {"x": 1})
    run_answers(assistant, with_referents(ds.items, 2), [300, 800], log, small_eval["corpus"])
    assert sorted(log.records) == ["r1@300", "r1@800", "r2@300", "r2@800"]
    n_calls = len(gen.calls)
    log2 = RunLog(small_eval["base"] / "answers-run", {"x": 1})
    run_answers(assistant, with_referents(ds.items, None), [300, 800], log2, small_eval["corpus"])
    assert len(log2.records) == 10
    # resumed: the finished answers were not asked again
    later = [u for kind, u in gen.calls[n_calls:] if kind == "answer"]
    assert not any(DATASET[0]["question"] in u or DATASET[1]["question"] in u for u in later)
    assert any(DATASET[2]["question"] in u for u in later)
    # the follow-up was rewritten with its referent's question and the model's answer to it as history
    r2_answer = log2.records["r2@800"]["answer"]["text"]
    rewrites = [u for kind, u in gen.calls if kind == "rewrite"]
    assert len(rewrites) == 2 and all(DATASET[1]["question"] in u and "담당 부서는?" in u for u in rewrites)
    assert any(r2_answer.replace(" [1]", "")[:30] in u for u in rewrites)
    r4 = log2.records["r4@800"]
    assert r4["followup"] and r4["answer"]["rewritten_question"]
    r2 = log2.records["r2@800"]
    assert r2["scores"]["match"] and r2["evidence"]["has_answer"] and r2["scores"]["n_citations_correct"] == 1
    summary = summarize_answers(list(log2.records.values()), [300, 800], "withheld-message")
    assert set(summary) == {"300", "800"} and summary["800"]["items"] == 5
    assert summary["800"]["unanswerable"] == 1
    # every answerable miss and every answered unanswerable item has exactly one reason
    f, s8 = summary["800"]["failures"], summary["800"]
    missed = round(s8["answerable"] * (1 - s8["answer_match"]))
    assert sum(v for k, v in f.items() if k.startswith("answerable_")) == missed
    assert f["unanswerable_answered"] == s8["unanswerable"] - round(s8["refused_unanswerable"] * s8["unanswerable"])


# ------------------------------------------------------------------------------------------------ reports

def test_compare_rows_and_cli_output(tmp_path, monkeypatch, capsys):
    a = {"name": "a", "metrics": {"bm25": {"recall@1": 0.5, "items": 10}, "ok": True}}
    b = {"name": "b", "metrics": {"bm25": {"recall@1": 0.75, "items": 10}, "dense": {"recall@1": 0.4}}}
    rows = {r["metric"]: r for r in compare(a, b)}
    assert rows["bm25.recall@1"]["delta"] == pytest.approx(0.25)
    assert rows["dense.recall@1"]["a"] is None and rows["dense.recall@1"]["delta"] is None
    assert rows["ok"]["a"] == 1.0 and rows["ok"]["b"] is None
    assert flatten({"x": {"y": 1, "z": "text"}}) == {"x.y": 1.0}
    pa, pb = tmp_path / "a.json", tmp_path / "b.json"
    pa.write_text(json.dumps(a))
    pb.write_text(json.dumps(b))
    from rag.cli import main
    assert main(["eval", "compare", str(pa), str(pb)]) == 0
    out = capsys.readouterr().out
    assert "| bm25.recall@1 | 0.5000 | 0.7500 | 0.2500 |" in out
    assert main(["eval", "compare", str(pa), str(pb), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"][0]["metric"] == "bm25.recall@1"


def test_write_report_files(tmp_path):
    from eval.report import figure
    fig, ax = figure("t", "x", "y")
    ax.plot([1, 2], [3, 4])
    paths = write_report(tmp_path, "demo", {"kind": "demo", "metrics": {"m": 1}}, "# Demo\n", {"plot": fig})
    assert {p.name for p in paths} == {"demo.json", "demo.md", "demo-plot.png"}
    assert "![demo-plot.png](demo-plot.png)" in (tmp_path / "demo.md").read_text(encoding="utf-8")
    assert (tmp_path / "demo-plot.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.skipif(not GUARD_DATASET.is_file(), reason="eval/datasets/guard.jsonl not written yet")
def test_guard_eval_on_the_dataset(tmp_path, monkeypatch, capsys):
    from rag.cli import main
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    assert main(["eval", "guard", "--out", str(tmp_path), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in GUARD_DATASET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert rep["items"] == len(rows)
    for t, v in rep["metrics"]["per_type"].items():
        assert v["tp"] + v["fn"] == sum(t in r["expect"] for r in rows), t
    benign = sum(not r["expect"] for r in rows)
    assert rep["metrics"]["false_alarms_on_benign"]["benign_items"] == benign
    assert (tmp_path / "guard.md").is_file() and (tmp_path / "guard-per-type.png").is_file()
