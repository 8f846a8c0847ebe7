"""`rag` — the command line. Each subcommand is a short function; the pipelines live in index/ and rag/.

Global options shared by every subcommand: --index DIR, --config FILE, --json.

Exit codes, the same for every command (README.md, "명령어 `rag`"):
    0    success
    1    partial success: some files or batch lines failed (each named), the rest was done
    2    unusable input or configuration: a bad argument, a missing or unreadable file, a batch with no usable line,
         a bad setting (file or RAG_* variable), a missing or corrupt index, a missing model
    3    busy: another writer holds the index lock (index.store.IndexBusyError); try again later
    4    internal error: an unexpected exception, named by its class only (its text may quote personal data);
         RAG_DEBUG=1 shows the traceback
    130  interrupted (Ctrl+C)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading

from rag import waitpolicy
from rag.config import Config, load_config
from rag.jsonl import read_batch
from rag.records import answer_json

EXIT_OK, EXIT_PARTIAL, EXIT_FAIL, EXIT_BUSY, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def _out(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _err(msg: str) -> None:
    sys.stderr.write(msg.rstrip() + "\n")
    sys.stderr.flush()


def _fail(msg: str) -> int:
    _err(msg)
    return EXIT_FAIL


def _batch(args, field: str, allow_blank: bool = False) -> tuple[list[dict], int]:
    """The usable rows of --batch FILE; each bad line is named on stderr as FILE:LINE: reason (and, with --json, as an
    error object carrying the line). Returns (rows, number of bad lines); a missing file raises JsonlFileError."""
    rows, bad = read_batch(args.batch, field, allow_blank=allow_blank)
    for b in bad:
        if args.json:
            _out({"id": b.id, "file": b.path, "line": b.line, "error": b.reason, "kind": "BadBatchLine"})
        _err(f"오류 / error: {b}")
    if not rows:
        _err(f"{args.batch}: 처리할 수 있는 줄이 없습니다 / no usable line"
             + (f" ({len(bad)}줄 오류 / bad lines)" if bad else " (빈 파일 / empty file)"))
    return rows, len(bad)


def _batch_rc(bad: int, failed: int = 0) -> int:
    """After a batch with usable rows: 0, or 1 when some lines were bad or failed (the rest was done)."""
    return EXIT_PARTIAL if bad or failed else EXIT_OK


# ------------------------------------------------------------------------------------------------------ doctor

def cmd_doctor(cfg: Config, args) -> int:
    from rag.doctor import run_doctor
    report = run_doctor(cfg)
    if args.json:
        _out(report)
    else:
        from rag.doctor import format_report
        print(format_report(report))
    return EXIT_OK if report["ok"] else EXIT_FAIL


# ------------------------------------------------------------------------------------------------------ index

def cmd_index(cfg: Config, args) -> int:
    from rag.runtime import index_files
    bars: dict[str, object] = {}

    def progress(stage: str, done: int, total: int, eta: float) -> None:
        if args.json or not sys.stderr.isatty():
            if stage == "embed" or done == total or done % 50 == 0:
                _err(f"[{stage}] {done}/{total}" + (f" ETA {eta:.0f}s" if eta else ""))
            return
        from tqdm import tqdm
        bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, unit="개", file=sys.stderr))
        bar.total = total
        bar.n = done
        bar.set_postfix_str(f"ETA {eta:.0f}s" if eta else "")
        bar.refresh()

    from index.access import make_label
    label = make_label(args.level, args.groups)
    report = index_files(cfg, args.paths, rebuild=args.rebuild, prune=args.prune, progress=progress, label=label)
    for bar in bars.values():
        bar.close()
    if args.json:
        _out({"index": str(cfg.resolved_index_dir), **report.to_json()})
    else:
        print(f"색인: {cfg.resolved_index_dir}")
        print(f"  추가 {len(report.added)} · 변경 {len(report.changed)} · 그대로 {len(report.unchanged)} · "
              f"삭제 {len(report.removed)} · 청크 {report.chunks_total} (새로 임베딩 {report.chunks_embedded})")
        if report.format_upgraded:
            print("  이전 형식의 인덱스를 새 형식으로 다시 만들었습니다 / rebuilt an index of an older format")
        if report.relabelled:
            print(f"  등급·그룹만 바뀐 파일 {len(report.relabelled)}개는 다시 임베딩하지 않고 표시만 바꿨습니다 / "
                  f"re-labelled without re-embedding")
        if report.faiss_rebuilt:
            print(f"  FAISS 색인을 '{cfg.faiss_kind}' 방식으로 다시 만들었습니다 (임베딩은 그대로) / "
                  f"FAISS rebuilt as '{cfg.faiss_kind}' from the stored vectors")
        if report.pii:
            from rag.runtime import pii_screen
            verb = {"mask": "가림", "flag": "표시만 함", "refuse": "색인 거부"}[report.pii_policy]
            print(f"  문서 속 개인정보 (document_pii = {report.pii_policy}: {verb}) / personal data in documents:")
            for src, counts in report.pii.items():
                print(f"    {src} — {pii_screen(report.pii_policy).describe(counts)}")
        for e in report.errors:
            print(f"  실패: {e.source} — {e.reason}")
    if report.errors:
        return EXIT_PARTIAL if (report.added or report.changed or report.unchanged) else EXIT_FAIL
    return EXIT_OK


# ------------------------------------------------------------------------------------------------------ search

def _hit_json(h) -> dict:
    return {"source": h.chunk.source, "page": h.chunk.page, "section": h.chunk.section, "chunk_id": h.chunk.id,
            "score": round(h.score, 6), "ranks": h.ranks, "text": h.chunk.text}


def cmd_search(cfg: Config, args) -> int:
    from rag.runtime import open_retriever
    if not args.batch and not args.query:
        return _fail("질문을 입력하거나 --batch FILE을 지정하세요 / give a QUERY or --batch FILE")
    rows, bad = _batch(args, "question") if args.batch else ([{"id": None, "question": args.query}], 0)
    if not rows:
        return EXIT_FAIL
    viewer = _viewer(cfg, args)
    retriever = open_retriever(cfg)
    k = args.k or cfg.top_k
    step = 64
    for i in range(0, len(rows), step):
        part = rows[i:i + step]
        for row, (hits, timings) in zip(part, retriever.search_many([r["question"] for r in part], k,
                                                                    viewer=viewer)):
            if args.json:
                _out({"id": row["id"], "hits": [_hit_json(h) for h in hits],
                      "timings": {"retrieval_ms": round(timings["retrieval_ms"], 2)}})
            else:
                print(f"질문: {row['question']}  ({timings['retrieval_ms']:.0f} ms)")
                for r, h in enumerate(hits, 1):
                    loc = f" p.{h.chunk.page}" if h.chunk.page else ""
                    print(f"  {r}. [{h.score:.3f}] {h.chunk.source}{loc}  {h.chunk.text[:120]!r}")
    return _batch_rc(bad)


# ------------------------------------------------------------------------------------------------------ ask

def _print_answer(answer, streamed: str, prompts) -> None:
    """After a streamed answer: say what was decided. The screen must never end on text the checks replaced."""
    refused = prompts.msg("cli_refused")
    if streamed.strip():
        sys.stdout.write("\n")
        if answer.refused:
            from rag.answer import is_refusal
            if not is_refusal(streamed, prompts):      # the model wrote an answer that the checks withheld
                print(prompts.msg("cli_withdrawn"))
            print(f"{refused} {answer.text}")
        elif answer.text.strip() != streamed.strip():
            print(prompts.msg("cli_final"))
            print(answer.text)
    else:
        print(f"{refused} {answer.text}" if answer.refused else answer.text)
    for c in answer.citations:
        loc = f" {c.page}쪽" if c.page else ""
        print(f"  [{c.n}] {c.source}{loc}: {c.text[:160]}")
    for w in answer.warnings:
        print(f"  ※ {w}")


def _viewer(cfg: Config, args):
    """--user NAME: that account's groups apply; without it the operator is an admin with no groups (공개, 내부)."""
    from rag.access import LOCAL
    from rag.users import get
    return get(cfg.data_dir, args.user).viewer() if getattr(args, "user", None) else LOCAL


def _password(args, confirm: bool = True) -> str:
    import getpass
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("비밀번호 / password: ")
    if confirm and getpass.getpass("한 번 더 / again: ") != first:
        raise ValueError("두 비밀번호가 다릅니다 / the passwords differ")
    return first


def cmd_users(cfg: Config, args) -> int:
    from rag import users
    if args.users_cmd == "add":
        u = users.add(cfg.data_dir, args.name, _password(args), args.groups, args.admin)
        print(f"추가함 / added: {u.name} (그룹 {', '.join(u.groups) or '-'}{', 관리자' if u.admin else ''})")
    elif args.users_cmd == "list":
        rows = users.list_users(cfg.data_dir)
        if args.json:
            for u in rows:
                _out({"name": u.name, "groups": list(u.groups), "admin": u.admin, "created": u.created})
        elif not rows:
            print("계정이 없습니다: 로그인 없이 한 사람이 쓰는 방식으로 동작합니다 / no accounts: single-user mode")
        for u in rows if not args.json else []:
            print(f"{u.name}\t{','.join(u.groups) or '-'}\t{'admin' if u.admin else ''}\t{u.created}")
    elif args.users_cmd == "remove":
        users.remove(cfg.data_dir, args.name)
        print(f"삭제함 / removed: {args.name}")
    else:
        users.set_password(cfg.data_dir, args.name, _password(args))
        print(f"비밀번호를 바꿨습니다 / password changed: {args.name}")
    return EXIT_OK


def cmd_audit(cfg: Config, args) -> int:
    """The answers of the audit log (masked questions, cited documents, how many candidates access withheld)."""
    import datetime
    from rag.audit import AuditLog, cited_names
    if args.since:
        try:
            datetime.date.fromisoformat(args.since)
        except ValueError:
            return _fail(f"--since {args.since!r}: YYYY-MM-DD 형식이어야 합니다 / expected YYYY-MM-DD")
    path = cfg.log_dir / "audit.jsonl"
    rows, bad = AuditLog(path).answers(args.user, args.since)
    for n in bad:
        _err(f"{path}:{n}: 읽을 수 없는 줄을 건너뜀 / skipped an unreadable line")
    for r in rows:
        if args.json:
            _out(r)
        else:
            cited = ", ".join(cited_names(r)) or "-"
            print(f"{r.get('time')}  {r.get('user') or '-'}  {r.get('channel')}  "
                  f"{'거절' if r.get('refused') else '답변'}  인용: {cited}  권한으로 제외: "
                  f"{r.get('withheld_by_access', 0)}  {r.get('question_masked') or ''}")
    if not rows and not args.json:
        print("기록이 없습니다 / no records")
    return EXIT_PARTIAL if bad else EXIT_OK


def cmd_ask(cfg: Config, args) -> int:
    from rag import guard
    from rag.audit import AuditLog
    from rag.generate import GeneratorError
    from rag.runtime import open_assistant
    if not args.batch and not args.question:
        return _fail("질문을 입력하거나 --batch FILE을 지정하세요 / give a QUESTION or --batch FILE")
    rows, bad = _batch(args, "question") if args.batch else ([{"id": None, "question": args.question}], 0)
    if not rows:
        return EXIT_FAIL
    viewer = _viewer(cfg, args)
    assistant = open_assistant(cfg)
    audit = AuditLog(cfg.log_dir / "audit.jsonl")
    failed = 0
    for row in rows:
        findings = guard.scan(row["question"])
        if guard.needs_warning(findings):
            types = guard.warned_types(findings)
            _err(f"경고 / warning [{row['id'] or '-'}]: 질문에 민감정보로 보이는 항목이 있습니다: "
                 f"{', '.join(guard.TYPE_LABELS.get(t, t) for t in types)}"
                 + (" (--mask로 가려서 보낼 수 있습니다)" if not args.mask else " → 가려서 보냅니다"))
        question = guard.mask(row["question"], findings) if args.mask else row["question"]
        stream = not args.json and not args.batch
        answer, streamed = None, []
        long = assistant.too_long(question)
        if long:                                  # it cannot fit the context window: say so, send nothing
            failed += 1
            why = assistant.prompts.msg("question_too_long", tokens=long[0], limit=long[1])
            if args.json:
                _out({"id": row["id"], "error": why, "kind": "QuestionTooLong", "tokens": long[0], "limit": long[1]})
            _err(f"오류 / error [{row['id'] or '-'}]: {why}")
            continue
        try:
            for ev in assistant.stream(question, cancel=threading.Event(), viewer=viewer):
                if ev.kind == "token":
                    streamed.append(ev.data)
                    if stream:
                        sys.stdout.write(ev.data)
                        sys.stdout.flush()
                elif ev.kind == "rewritten" and stream:
                    _err(f"(다시 쓴 질문: {ev.data})")
                elif ev.kind == "done":
                    answer = ev.data
        except GeneratorError as e:
            failed += 1
            # the reason names the generator's error class, never the question (it may hold personal data)
            audit.record_answer(row["question"], findings, None, masked=args.mask, channel="cli", error=str(e))
            if stream and streamed:
                sys.stdout.write("\n")
            if args.json:
                _out({"id": row["id"], "question": guard.mask(row["question"], findings), "error": str(e),
                      "kind": "GeneratorError"})
            _err(f"오류 / error [{row['id'] or '-'}]: " + assistant.prompts.msg("cli_generation_failed", reason=e))
            continue
        audit.record_answer(row["question"], findings, answer, masked=args.mask, channel="cli")
        if args.json:
            _out(answer_json(answer, row["id"]))
        elif stream:
            _print_answer(answer, "".join(streamed), assistant.prompts)
        else:
            _print_answer(answer, "", assistant.prompts)
    if failed == len(rows):
        return EXIT_FAIL
    return _batch_rc(bad, failed)


# ------------------------------------------------------------------------------------------------------ guard

def cmd_guard(cfg: Config, args) -> int:
    from rag import guard
    if not args.batch and args.text is None:
        return _fail("검사할 글을 입력하거나 --batch FILE을 지정하세요 / give TEXT or --batch FILE")
    rows, bad = _batch(args, "text", allow_blank=True) if args.batch else ([{"id": None, "text": args.text}], 0)
    if not rows:
        return EXIT_FAIL
    for row in rows:
        rep = guard.guard_report(row["text"])
        if args.json:
            _out({"id": row["id"], **rep})
        else:
            if not rep["findings"]:
                print("발견된 항목 없음")
            for f in rep["findings"]:
                print(f"  {guard.TYPE_LABELS.get(f['type'], f['type'])} ({f['type']}, {f['severity']}) "
                      f"위치 {f['start']}–{f['end']}")
            print(f"가린 글: {rep['masked']}")
    return _batch_rc(bad)


# ------------------------------------------------------------------------------------------------------ serve / eval

def cmd_serve(cfg: Config, args) -> int:
    from rag.serving import ServeRefused
    from ui.app import serve
    try:
        return serve(cfg, host=args.host, port=args.port, insecure_no_auth=args.insecure_no_auth)
    except ServeRefused as e:                       # checked before any model is loaded
        return _fail(f"오류 / error: {e}")


def cmd_eval(cfg: Config, args) -> int:
    from eval.cli import run_eval
    return run_eval(cfg, args)


# ------------------------------------------------------------------------------------------------------ main

def _common(defaults: bool) -> argparse.ArgumentParser:
    """Global options, accepted before or after the subcommand (the subcommand's copy must not reset them)."""
    kw = {} if defaults else {"default": argparse.SUPPRESS}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", metavar="DIR", help="인덱스 위치 / index directory", **kw)
    common.add_argument("--config", metavar="FILE", help="설정 파일 (TOML) / config file", **kw)
    common.add_argument("--json", action="store_true", help="기계가 읽는 JSON 출력 / machine-readable output", **kw)
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common(defaults=False)
    p = argparse.ArgumentParser(prog="rag", parents=[_common(defaults=True)],
                                description="오프라인 한국어 정책 도우미 / offline Korean policy assistant")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("doctor", parents=[common], help="모델·인덱스 점검 / check models and index")
    s = sub.add_parser("index", parents=[common], help="문서 색인 (증분) / index documents incrementally")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--rebuild", action="store_true", help="처음부터 다시 만들기 / rebuild from scratch")
    s.add_argument("--prune", action="store_true", help="주어진 경로 밖의 파일은 인덱스에서 제거 / drop other files")
    s.add_argument("--level", default=None, choices=("공개", "내부", "대외비"),
                   help="문서 등급 (기본 내부; 폴더의 access.toml이 파일별로 우선) / access level (default 내부)")
    s.add_argument("--groups", default="", help="대외비 문서를 볼 수 있는 그룹, 쉼표로 / groups, comma-separated")
    user_help = "이 사용자로 (권한 적용) / act as this user (without: an admin with no groups)"
    s = sub.add_parser("search", parents=[common], help="검색 / retrieve passages")
    s.add_argument("query", nargs="?")
    s.add_argument("-k", type=int, default=None)
    s.add_argument("--batch", metavar="FILE.jsonl")
    s.add_argument("--user", metavar="NAME", default=None, help=user_help)
    s = sub.add_parser("ask", parents=[common], help="질문 / ask a question")
    s.add_argument("question", nargs="?")
    s.add_argument("--batch", metavar="FILE.jsonl")
    s.add_argument("--user", metavar="NAME", default=None, help=user_help)
    s.add_argument("--mask", action="store_true", help="개인정보를 가리고 보내기 / mask personal data before sending")
    s = sub.add_parser("audit", parents=[common], help="감사 기록 보기 / show the audit log")
    s.add_argument("--user", metavar="NAME", default=None, help="이 사용자의 기록만 / only this user's records")
    s.add_argument("--since", metavar="YYYY-MM-DD", default=None, help="이 날부터 / from this date on")
    s = sub.add_parser("users", parents=[common], help="직원 계정 / staff accounts")
    us = s.add_subparsers(dest="users_cmd", required=True)
    u = us.add_parser("add", parents=[common], help="계정 추가 / add an account")
    u.add_argument("name")
    u.add_argument("--groups", default="", help="소속 그룹, 쉼표로 / groups, comma-separated")
    u.add_argument("--admin", action="store_true", help="관리자 (문서 관리·계정·감사) / administrator")
    u.add_argument("--password-stdin", action="store_true", help="비밀번호를 표준 입력에서 / read the password from stdin")
    us.add_parser("list", parents=[common], help="계정 목록 / list accounts")
    u = us.add_parser("remove", parents=[common], help="계정 삭제 / remove an account")
    u.add_argument("name")
    u = us.add_parser("passwd", parents=[common], help="비밀번호 변경 / change a password")
    u.add_argument("name")
    u.add_argument("--password-stdin", action="store_true", help="비밀번호를 표준 입력에서 / read the password from stdin")
    s = sub.add_parser("guard", parents=[common], help="개인정보·기밀·지시문 주입 검사 / scan text")
    s.add_argument("text", nargs="?")
    s.add_argument("--batch", metavar="FILE.jsonl")
    s = sub.add_parser("serve", parents=[common], help="브라우저 채팅 시작 / start the browser chat")
    s.add_argument("--host", default=None)
    s.add_argument("--port", type=int, default=None)
    s.add_argument("--insecure-no-auth", action="store_true",
                   help="로그인 없이 네트워크 주소로 열기 (위험) / serve a non-loopback host without any login (unsafe)")
    s = sub.add_parser("eval", parents=[common], help="오프라인 평가 / offline evaluation")
    try:
        from eval.cli import add_eval_arguments
        add_eval_arguments(s, common)
    except ImportError:
        pass
    return p


COMMANDS = {"doctor": cmd_doctor, "index": cmd_index, "search": cmd_search, "ask": cmd_ask, "guard": cmd_guard,
            "serve": cmd_serve, "eval": cmd_eval, "users": cmd_users, "audit": cmd_audit}


def main(argv: list[str] | None = None) -> int:
    # How OpenMP threads (torch's, faiss', llama.cpp's: each links a libgomp, which reads the variables once, when it
    # loads) wait between parallel regions: the policy the install self-check measured as faster on this machine
    # (rag/waitpolicy.py; PASSIVE where none was measured). Set here, in the entry point, before anything imports them
    # (index.store below imports faiss); a value the user set wins. Not in rag/__init__.py: importing the package
    # (tests, eval children, notebooks) should not change the environment of a process that did not ask.
    waitpolicy.apply()
    args = build_parser().parse_args(argv)
    from index.store import IndexBusyError, IndexError_
    from rag.generate import GeneratorError
    from rag.models import ModelProvisionError
    from rag.prompting import PromptError
    try:
        cfg = load_config(args.config, index_dir=args.index)
        return COMMANDS[args.cmd](cfg, args)
    except IndexBusyError as e:                    # nothing is wrong with the input: try again later
        if getattr(args, "json", False):
            _out({"error": str(e), "kind": type(e).__name__})
        _err(f"오류 / error: {e}")
        return EXIT_BUSY
    except (ModelProvisionError, IndexError_, PromptError, GeneratorError, ValueError) as e:
        if getattr(args, "json", False):
            _out({"error": str(e), "kind": type(e).__name__})
        _err(f"오류 / error: {e}")
        return EXIT_FAIL
    except OSError as e:                           # a file or port the user named: the OS's reason and the name
        if os.environ.get("RAG_DEBUG"):
            raise
        where = f": {e.filename}" if e.filename else ""
        msg = f"오류 / error: {e.strerror or type(e).__name__}{where}"
        if getattr(args, "json", False):
            _out({"error": msg, "kind": type(e).__name__})
        _err(msg)
        return EXIT_FAIL
    except KeyboardInterrupt:
        _err("중단됨 / interrupted")
        return EXIT_INTERRUPTED
    except Exception as e:                         # noqa: BLE001 - no traceback reaches a user
        if os.environ.get("RAG_DEBUG"):
            raise
        # the class name only: an exception's text may quote the user's input (personal data)
        msg = (f"예기치 못한 오류 / unexpected error: {type(e).__name__}. "
               f"자세한 내용은 RAG_DEBUG=1로 다시 실행하십시오 / rerun with RAG_DEBUG=1 for details")
        if getattr(args, "json", False):
            _out({"error": msg, "kind": type(e).__name__})
        _err(msg)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
