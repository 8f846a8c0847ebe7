"""`python -m rag.provision`: assemble the default GGUF and convert the default embedder once (setup step)."""
from __future__ import annotations

import sys
import time

from rag.config import load_config
from rag.models import ModelProvisionError, embedder_path, generator_path


def main() -> int:
    cfg = load_config()
    try:
        t0 = time.perf_counter()
        print(f"생성 모델 / generator: {generator_path(cfg)} ({time.perf_counter() - t0:.1f}s)", flush=True)
        t0 = time.perf_counter()
        print(f"임베딩 모델 / embedder: {embedder_path(cfg)} ({time.perf_counter() - t0:.1f}s)", flush=True)
    except ModelProvisionError as e:
        print(f"오류 / error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
