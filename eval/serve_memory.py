"""What `rag serve` holds in memory, step by step (VmRSS / RssAnon / RssFile / VmHWM, MB): open_assistant's parts,
warm_up, two questions, then (--ingest) an upload-sized embedding. Needs an index (RAG_INDEX_DIR):

    RAG_INDEX_DIR=/tmp/ep/index rag index /work/shared/corpus/seoul-ai-policy/
    RAG_INDEX_DIR=/tmp/ep/index python -m eval.serve_memory --ingest
"""
import ctypes
import sys
from pathlib import Path


def mem(tag):
    d = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            d[k] = round(int(v.split()[0]) / 1024)
    print(tag, d, flush=True)
mem("start")
from rag.config import load_config
from rag.runtime import (
    make_retriever,
    open_assistant,
    open_embedder,
    open_generator,
    open_index,
)

cfg = load_config()
emb, path = open_embedder(cfg); mem("embedder")
from index import korean; korean.get_kiwi(); mem("kiwi")  # noqa: I001 - imported where measured
idx = open_index(cfg, emb, path); mem("index")
ret = make_retriever(cfg, idx, emb)
gen = open_generator(cfg); mem("generator")
a = open_assistant(cfg, generator=gen, retriever=ret); a.warm_up(); mem("warm_up")
from rag.answer import collect

for q in ["서울시 인공지능 정책의 주요 내용은?", "AI 기본법은 무엇을 요구하나요?"]:
    collect(a.stream(q)); mem("ask")
if "--ingest" in sys.argv:
    from index.embed import embed_passages
    texts = [c.text for c in idx.chunks[:140]]
    embed_passages(emb, texts, cfg.embed_batch_size); mem("embed 140 chunks")
    collect(a.stream("서울시 인공지능 정책의 주요 내용은?")); mem("ask after ingest")
    ctypes.CDLL("libc.so.6").malloc_trim(0); mem("malloc_trim")
