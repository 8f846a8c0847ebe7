"""Who may reach the browser server, decided before it starts (`rag serve` → ui.app.serve).

    host loopback (127.0.0.1, ::1, localhost)  one office machine: without accounts its user is the admin
    any other host (0.0.0.0, an address)       reachable from the network: a login is required (staff accounts, or
                                               the shared auth_user / auth_password), else `rag serve` refuses to
                                               start unless --insecure-no-auth says so; without accounts nobody is
                                               an admin there (no upload, no re-index)

A half-configured login (only one of auth_user / auth_password, a blank or short password) is a start-up error that
names the settings, never a server that silently runs without a login.
"""
from __future__ import annotations

import ipaddress

from rag import users
from rag.config import Config

NON_NEGATIVE = ("max_active_per_client", "rate_limit_per_minute")
POSITIVE = ("upload_max_files", "upload_max_total_mb", "uploads_quota_mb", "upload_max_mb")


class ServeRefused(ValueError):
    """The server must not start with these settings; the message names them and the way out."""


def is_loopback(host: str | None) -> bool:
    """True only for names that cannot be reached from another machine (no DNS lookup: anything else is exposed)."""
    host = (host or "").strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def shared_login(cfg: Config) -> bool:
    return bool(cfg.auth_user and cfg.auth_password)


def check_auth_settings(cfg: Config) -> None:
    """The shared login is both settings or neither; its password is not blank and as long as an account's."""
    user, password = cfg.auth_user, cfg.auth_password
    if bool(user) != bool(password):
        given, missing = ("auth_user", "auth_password") if user else ("auth_password", "auth_user")
        raise ServeRefused(f"설정 {given}만 있고 {missing}이(가) 없습니다: 로그인이 꺼진 채로 시작하지 않습니다. 둘 다 "
                           f"지정하거나 둘 다 지우십시오 (RAG_AUTH_USER / RAG_AUTH_PASSWORD) / {given} is set without "
                           f"{missing}: set both or neither")
    if user is None:
        return
    if not str(user).strip():
        raise ServeRefused("설정 auth_user가 비어 있습니다 / auth_user is blank")
    if not str(password).strip() or len(str(password)) < users.MIN_PASSWORD:
        raise ServeRefused(f"설정 auth_password는 {users.MIN_PASSWORD}자 이상이어야 합니다 (비어 있거나 공백뿐이면 안 "
                           f"됨) / auth_password must have at least {users.MIN_PASSWORD} characters")


def check_limits(cfg: Config) -> None:
    for key in NON_NEGATIVE:
        if getattr(cfg, key) < 0:
            raise ServeRefused(f"설정 {key} = {getattr(cfg, key)!r}: 0 이상이어야 합니다 (0 = 제한 없음) / "
                               f"must be >= 0 (0 = no limit)")
    for key in POSITIVE:
        if getattr(cfg, key) <= 0:
            raise ServeRefused(f"설정 {key} = {getattr(cfg, key)!r}: 0보다 커야 합니다 / must be > 0")


def check_serve(cfg: Config, host: str, insecure_no_auth: bool = False) -> str | None:
    """Raises ServeRefused when the server must not start; returns a warning to print loudly, or None."""
    check_auth_settings(cfg)
    check_limits(cfg)
    accounts = users.any_users(cfg.data_dir)
    warning = None
    if accounts and shared_login(cfg):
        warning = ("경고 / warning: 직원 계정이 있어 auth_user / auth_password 공용 로그인은 쓰지 않습니다 / staff "
                   "accounts exist: the shared auth_user / auth_password login is ignored")
    if is_loopback(host) or accounts or shared_login(cfg):
        return warning
    if not insecure_no_auth:
        raise ServeRefused(
            f"--host {host}: 이 컴퓨터 밖에서 접속할 수 있는 주소인데 로그인이 없습니다. 시작하지 않습니다. 직원 계정을 "
            f"만들거나(rag users add NAME --admin) auth_user / auth_password를 설정하십시오. 정말 로그인 없이 열려면 "
            f"--insecure-no-auth / host {host} is reachable from other machines and no login is configured: add "
            f"accounts (rag users add NAME --admin) or set auth_user and auth_password, or pass --insecure-no-auth")
    return (f"!!! 경고 / WARNING: --insecure-no-auth — 로그인 없이 네트워크에 엽니다 ({host}). 누구나 질문할 수 있고 "
            f"내부 문서의 답을 볼 수 있습니다 (문서 관리·색인은 꺼짐) / serving on {host} WITHOUT ANY LOGIN: anyone who "
            f"can reach it may ask and read answers from 내부 documents (upload and re-index are disabled) !!!"
            ) + (f"\n{warning}" if warning else "")
