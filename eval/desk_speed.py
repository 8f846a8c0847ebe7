"""The speeds the product's own texts state (samples/03_자주묻는질문.html, README), measured on this machine with the
default settings: indexing samples/, searching, and the time to an answer's first word and to its end, after the
server's warm-up (as `rag serve` does), one question at a time.

    python -m eval.desk_speed [--name desk-speed] [--out eval/reports]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from eval.data import REPORTS_DIR
from eval.report import table
from rag.config import PROJECT_ROOT, load_config

# ordinary questions about samples/ (speed only: their answers are not judged here)
QUESTIONS = [
    "도우미는 어떤 파일 형식을 읽을 수 있나요?",
    "답변을 보고서에 쓰기 전에 무엇을 확인해야 하나요?",
    "질문에 주민등록번호를 넣으면 어떻게 되나요?",
    "답을 찾지 못하면 도우미는 어떻게 답하나요?",
    "인용 문장은 어떤 형식으로 표시되나요?",
    "대외비 문서는 어떻게 다뤄야 하나요?",
    "감사 기록에는 무엇이 남나요?",
    "암호가 걸린 HWP 파일도 등록되나요?",
]


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.desk_speed", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="desk-speed")
    ap.add_argument("--out", default=str(REPORTS_DIR))
    args = ap.parse_args(argv)
    from index.store import update_index
    from rag.runtime import open_assistant, open_embedder, pii_screen
    rows = []
    with tempfile.TemporaryDirectory(prefix="desk-speed-") as tmp:
        cfg = load_config(env={}, data_dir=Path(tmp))
        embedder, emb_path = open_embedder(cfg)
        t0 = time.perf_counter()
        rep = update_index(cfg.resolved_index_dir, [PROJECT_ROOT / "samples"], embedder, emb_path,
                           chunk_tokens=cfg.chunk_tokens, overlap=cfg.chunk_overlap_sentences,
                           faiss_kind=cfg.faiss_kind, screen=pii_screen(cfg.document_pii))
        index_s = time.perf_counter() - t0
        assistant = open_assistant(cfg)
        assistant.warm_up()
        for q in QUESTIONS:
            t = time.perf_counter()
            answer = assistant.ask(q)
            tm = answer.timings
            rows.append({"question": q, "refused": answer.refused, "retrieval_ms": tm.get("retrieval_ms"),
                         "ttft_ms": tm.get("ttft_ms"), "total_ms": (time.perf_counter() - t) * 1000,
                         "prefill_tokens": tm.get("prefill_tokens"), "completion_tokens": tm.get("completion_tokens")})
    answered = [r for r in rows if r["prefill_tokens"]]
    ttft = [r["ttft_ms"] / 1000 for r in answered]
    total = [r["total_ms"] / 1000 for r in answered]
    retrieval = [r["retrieval_ms"] for r in rows]
    summary = {"questions": len(rows), "answered_by_the_model": len(answered),
               "index_samples_s": round(index_s, 1), "chunks": rep.chunks_total,
               "chunks_per_s": round(rep.chunks_total / index_s, 1),
               "retrieval_ms_median": round(statistics.median(retrieval), 1),
               "first_word_s_median": round(statistics.median(ttft), 1) if ttft else None,
               "first_word_s_max": round(max(ttft), 1) if ttft else None,
               "answer_s_median": round(statistics.median(total), 1) if total else None,
               "answer_s_p90": round(pct(total, 0.9), 1) if total else None,
               "cpus": os.cpu_count(), "load_avg": [round(x, 2) for x in os.getloadavg()],
               "evidence_chars": cfg.evidence_chars, "max_tokens": cfg.max_tokens, "n_threads": cfg.n_threads}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps({"summary": summary, "rows": rows}, ensure_ascii=False,
                                                      indent=1), encoding="utf-8")
    md = ["# Speeds at the desk (the numbers the shipped texts state)", "",
          f"`python -m eval.desk_speed --name {args.name}` — default settings (evidence_chars "
          f"{cfg.evidence_chars}, max_tokens {cfg.max_tokens}, n_threads {cfg.n_threads}), {os.cpu_count()} CPUs, "
          f"load average {summary['load_avg']} at the end (other jobs may share the CPUs).", "",
          table(["measure", "value"], [[k, v] for k, v in summary.items() if k not in ("load_avg",)], 1), "",
          table(["question", "refused", "retrieval ms", "first word ms", "total ms", "prefill tokens"],
                [[r["question"], r["refused"], r["retrieval_ms"], r["ttft_ms"], r["total_ms"], r["prefill_tokens"]]
                 for r in rows], 0), ""]
    (out / f"{args.name}.md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md[:6]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
