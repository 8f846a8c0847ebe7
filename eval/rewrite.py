"""Follow-up rewriting judged on the follow-up set (eval/datasets/followup_rewrite_{dev,heldout}.jsonl, written blind
before the change): a question that stands on its own must not be rewritten; a follow-up must be rewritten into a
question that keeps its own content and the referent from the previous turn (every `must_keep` term, compared
without spaces) and pulls in none of the `must_not` words.

The real rewriter (rag.answer.Assistant.rewrite) with the default GGUF, over a small index of samples/ (the rewriter
reads no evidence; the Assistant needs an index to exist).

    python -m eval.rewrite --set dev [--set heldout] [--name followup-rewrite-dev] [--out eval/reports]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from eval.data import REPORTS_DIR
from eval.report import table
from rag.config import PROJECT_ROOT, load_config

DATASETS = PROJECT_ROOT / "eval" / "datasets"


def squash(text: str) -> str:
    return "".join((text or "").split())


def judge(item: dict, rewritten: str | None) -> dict:
    """right / the kind of failure of one item, from what the rewriter returned (None: not rewritten)."""
    out = squash(rewritten or item["question"])
    kept = all(squash(t) in out for t in item["must_keep"])
    pulled = [t for t in item.get("must_not", []) if squash(t) in out]
    if item["standalone"]:
        verdict = "right" if rewritten is None else "rewritten_harmfully" if pulled or not kept else "rewritten"
    else:
        verdict = ("not_rewritten" if rewritten is None else "right" if kept and not pulled else "lost_content")
    return {"id": item["id"], "standalone": item["standalone"], "style": item.get("style", ""),
            "question": item["question"], "rewritten": rewritten, "verdict": verdict}


def load_items(name: str) -> list[dict]:
    path = DATASETS / f"followup_rewrite_{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def open_rewriter(data_dir: Path):
    from index.store import update_index
    from rag.runtime import open_assistant, open_embedder, pii_screen
    cfg = load_config(env={}, data_dir=data_dir)
    embedder, emb_path = open_embedder(cfg)
    update_index(cfg.resolved_index_dir, [PROJECT_ROOT / "samples"], embedder, emb_path,
                 chunk_tokens=cfg.chunk_tokens, overlap=cfg.chunk_overlap_sentences, faiss_kind=cfg.faiss_kind,
                 screen=pii_screen(cfg.document_pii))
    return open_assistant(cfg)


def run(assistant, items: list[dict]) -> list[dict]:
    from rag.answer import Turn
    rows = []
    for item in items:
        t0 = time.perf_counter()
        rewritten = assistant.rewrite(item["question"],
                                      [Turn(question=item["previous_question"], answer=item["previous_answer"])])
        rows.append({**judge(item, rewritten), "ms": round((time.perf_counter() - t0) * 1000)})
    return rows


def summary(rows: list[dict]) -> dict:
    alone = [r for r in rows if r["standalone"]]
    follow = [r for r in rows if not r["standalone"]]
    return {"items": len(rows), "right": sum(r["verdict"] == "right" for r in rows),
            "standalone_kept": sum(r["verdict"] == "right" for r in alone), "standalone": len(alone),
            "standalone_harmed": sum(r["verdict"] == "rewritten_harmfully" for r in alone),
            "followups_right": sum(r["verdict"] == "right" for r in follow), "followups": len(follow),
            "followups_not_rewritten": sum(r["verdict"] == "not_rewritten" for r in follow)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.rewrite", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", choices=["dev", "heldout"], required=True)
    ap.add_argument("--name", default=None)
    ap.add_argument("--out", default=str(REPORTS_DIR))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rewrite-eval-") as tmp:
        assistant = open_rewriter(Path(tmp))
        results = {s: run(assistant, load_items(s)) for s in args.set}
    name = args.name or "followup-rewrite-" + "-".join(args.set)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sums = {s: summary(r) for s, r in results.items()}
    (out / f"{name}.json").write_text(json.dumps({"summary": sums, "rows": results}, ensure_ascii=False, indent=1),
                                      encoding="utf-8")
    md = [f"# Follow-up rewriting: {name}", "", "`python -m eval.rewrite " + " ".join(f"--set {s}" for s in args.set)
          + f" --name {name}`", "",
          table(["set", "items", "right", "standalone kept", "standalone harmed", "follow-ups right",
                 "follow-ups not rewritten"],
                [[s, v["items"], v["right"], f"{v['standalone_kept']}/{v['standalone']}", v["standalone_harmed"],
                  f"{v['followups_right']}/{v['followups']}", v["followups_not_rewritten"]] for s, v in sums.items()],
                0), ""]
    for s, rows in results.items():
        md += [f"## {s}: items not right", "",
               table(["id", "style", "question", "rewritten", "verdict"],
                     [[r["id"], r["style"], r["question"], r["rewritten"] or "–", r["verdict"]]
                      for r in rows if r["verdict"] != "right"], 0), ""]
    (out / f"{name}.md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md[:8]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
