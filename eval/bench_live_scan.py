"""How far the warning panel's "발견된 위치" preview trails fast typing, in real Chromium over the real app (samples/
index, default GGUF): a question with a 주민등록번호 typed at a given key interval; measured from the last key stroke
until the preview shows the whole typed text (a preview still stale after TIMEOUT_S counts as never caught up). Optionally while another page's answer is being generated (the model
busy on the same CPUs, as at a desk where someone else asked first).

    python -m eval.bench_live_scan [--runs 5] [--delay-ms 15] [--busy] [--name live-scan] [--out eval/reports]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from eval.data import REPORTS_DIR
from eval.report import table
from rag.config import PROJECT_ROOT, load_config

TEXT = "민원인 900101-1234567 건으로 문의드립니다. 질문 창에 넣으면 안 되는 정보가 무엇인지 알려 주세요"
BUSY_QUESTION = "도우미는 어떤 파일 형식을 읽을 수 있나요?"
CHROMIUM = "/usr/bin/chromium"
TIMEOUT_S = 20                                   # a preview that has not caught up by then never will


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.bench_live_scan", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--delay-ms", type=int, default=15)
    ap.add_argument("--busy", action="store_true")
    ap.add_argument("--name", default="live-scan")
    ap.add_argument("--out", default=str(REPORTS_DIR))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    from index.store import update_index
    from rag.runtime import open_assistant, open_embedder, pii_screen
    from test_ui_browser import CHROMIUM_ARGS, serve_app
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    lags: list[float | None] = []
    stale: list[str] = []
    with tempfile.TemporaryDirectory(prefix="live-scan-") as tmp:
        cfg = load_config(env={}, data_dir=Path(tmp))
        embedder, emb_path = open_embedder(cfg)
        update_index(cfg.resolved_index_dir, [PROJECT_ROOT / "samples"], embedder, emb_path,
                     chunk_tokens=cfg.chunk_tokens, overlap=cfg.chunk_overlap_sentences, faiss_kind=cfg.faiss_kind,
                     screen=pii_screen(cfg.document_pii))
        assistant = open_assistant(cfg)
        assistant.warm_up()
        app, url = serve_app(cfg, assistant)
        try:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for _ in range(args.runs):
                    busy = None
                    if args.busy:                 # another page's question keeps the model busy meanwhile
                        busy = b.new_page()
                        busy.goto(url)
                        busy.wait_for_selector("#question textarea", timeout=60_000)
                        busy.locator("#question textarea").fill(BUSY_QUESTION)
                        busy.locator("#question textarea").press("Enter")
                        busy.wait_for_function("() => document.querySelector('#chat').innerText.includes('근거')",
                                               timeout=120_000)
                    pg = b.new_page()
                    pg.goto(url)
                    pg.wait_for_selector("#question textarea", timeout=60_000)
                    box = pg.locator("#question textarea")
                    box.click()
                    box.press_sequentially(TEXT, delay=args.delay_ms)
                    t0 = time.perf_counter()
                    try:
                        pg.wait_for_function("t => { const s = document.querySelector('#warning-spans');"
                                             " return s && s.innerText.replace(/\\s+/g, '').includes(t); }",
                                             arg="".join(TEXT.split())[-12:], timeout=TIMEOUT_S * 1000, polling=10)
                        lags.append((time.perf_counter() - t0) * 1000)
                    except PlaywrightTimeout:             # the preview never caught up: counted, and what it showed
                        lags.append(None)
                        stale.append(pg.locator("#warning-spans").inner_text()[-40:])
                    pg.close()
                    if busy is not None:
                        busy.close()
                b.close()
        finally:
            app.close()
    caught = [x for x in lags if x is not None]
    summary = {"runs": len(lags), "delay_ms": args.delay_ms, "busy": args.busy, "chars": len(TEXT),
               "never_caught_up": len(lags) - len(caught),
               "lag_ms_median": round(statistics.median(caught)) if caught else None,
               "lag_ms_max": round(max(caught)) if caught else None,
               "lags_ms": [None if x is None else round(x) for x in lags], "stale_preview_tails": stale,
               "load_avg": [round(x, 2) for x in os.getloadavg()]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    md = [f"# Warning preview lag behind typing: {args.name}", "",
          f"`python -m eval.bench_live_scan --runs {args.runs} --delay-ms {args.delay_ms}"
          f"{' --busy' if args.busy else ''} --name {args.name}`", "",
          table(["measure", "value"], [[k, v] for k, v in summary.items()], 0), ""]
    (out / f"{args.name}.md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
