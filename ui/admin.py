"""The admin tabs beside the document tab: staff accounts (rag/users.py) and the audit view (rag/audit.py).

Only admins see these tabs (build_app's load event), and every handler checks again, since a hidden tab's events can
still be called. Passwords pass through one handler into rag.users (scrypt) and are cleared from the form after it;
they are never shown, logged or returned. The audit view shows what the audit log holds: masked questions, cited file
names, and how many candidates access withheld (a count, never names).
"""
from __future__ import annotations

import datetime
from collections.abc import Callable

import gradio as gr

from rag import users
from rag.audit import AuditLog, cited_names
from rag.config import Config
from ui.html import table_html

AUDIT_SHOWN = 200
_PRIVATE = {"api_visibility": "private"}


def users_html(cfg: Config, T: dict, status: str = "") -> str:
    rows = [(u.name, ", ".join(u.groups) or "-", T["user_admin_label"] if u.admin else "", u.created)
            for u in users.list_users(cfg.data_dir)]
    summary = (status + " " if status else "") + (T["users_summary"].format(n=len(rows)) if rows else T["users_none"])
    return table_html(summary, [T[k] for k in ("users_col_name", "users_col_groups", "users_col_admin",
                                               "users_col_created")], rows)


def audit_html(audit: AuditLog, T: dict, user: str = "", since: str = "") -> str:
    user, since = (user or "").strip(), (since or "").strip()
    if since:
        try:
            datetime.date.fromisoformat(since)
        except ValueError:
            return table_html(T["audit_bad_since"].format(since=since), [], [])
    records, bad = audit.answers(user or None, since or None)
    shown = records[::-1][:AUDIT_SHOWN]
    rows = [(str(r.get("time", "")), r.get("user") or "-", r.get("channel") or "",
             T["audit_failed"] if r.get("error") else T["audit_refused"] if r.get("refused") else T["audit_answered"],
             ", ".join(cited_names(r)) or "-", r.get("withheld_by_access", 0), r.get("question_masked") or "")
            for r in shown]
    summary = T["audit_summary"].format(n=len(records), shown=len(shown))
    if bad:
        summary += " " + T["audit_bad_lines"].format(n=len(bad))
    cols = ("audit_col_time", "audit_col_user", "audit_col_channel", "audit_col_result", "audit_col_cited",
            "audit_col_withheld", "audit_col_question")
    return table_html(summary, [T[k] for k in cols], rows)


def user_action(cfg: Config, T: dict, viewer, action: str, name: str, password: str, groups: str,
                admin: bool) -> str:
    """add | passwd | remove, as the signed-in admin `viewer`; returns the status line (never the password)."""
    name = (name or "").strip()
    try:
        if action == "add":
            first = not users.any_users(cfg.data_dir)
            if first and not admin:
                return T["user_first_admin"]
            users.add(cfg.data_dir, name, password or "", groups or "", bool(admin))
            return T["user_added_first" if first else "user_added"].format(name=name)
        if action == "passwd":
            users.set_password(cfg.data_dir, name, password or "")
            return T["user_password_changed"].format(name=name)
        if viewer.name is not None and name == viewer.name:
            return T["user_not_self"]
        target = users.get(cfg.data_dir, name)
        if target.admin and sum(u.admin for u in users.list_users(cfg.data_dir)) == 1:
            return T["user_last_admin"]
        users.remove(cfg.data_dir, name)
        return T["user_removed"].format(name=name)
    except users.UserError as e:
        return T["user_error"].format(reason=str(e))


def build_tabs(cfg: Config, T: dict, audit: AuditLog, viewer_for: Callable) -> list[gr.Tab]:
    """The 사용자 관리 and 감사 기록 tabs, inside the caller's gr.Tabs; returns them (for the admin-only visibility)."""
    with gr.Tab(T["tab_users"], elem_id="tab-users", visible=False) as users_tab:
        gr.Markdown(T["users_intro"])
        table = gr.HTML(elem_id="users-table")
        with gr.Row():
            name = gr.Textbox(label=T["user_name_label"], elem_id="user-name")
            password = gr.Textbox(label=T["user_password_label"], type="password", elem_id="user-password")
            groups = gr.Textbox(label=T["user_groups_label"], elem_id="user-groups")
            admin = gr.Checkbox(label=T["user_admin_label"], elem_id="user-admin")
        with gr.Row():
            buttons = {a: gr.Button(T[key], elem_id=eid, variant=var) for a, key, eid, var in (
                ("add", "user_add", "user-add", "primary"), ("passwd", "user_passwd", "user-passwd", "secondary"),
                ("remove", "user_remove", "user-remove", "stop"))}
    with gr.Tab(T["tab_audit"], elem_id="tab-audit", visible=False) as audit_tab:
        gr.Markdown(T["audit_intro"])
        with gr.Row():
            a_user = gr.Textbox(label=T["audit_user_label"], elem_id="audit-user")
            a_since = gr.Textbox(label=T["audit_since_label"], placeholder="2026-12-01", elem_id="audit-since")
            show = gr.Button(T["audit_show"], elem_id="audit-show", variant="primary")
        records = gr.HTML(elem_id="audit-table")

    def show_users(request: gr.Request):
        return users_html(cfg, T) if viewer_for(request).admin else table_html(T["users_admin_only"], [], [])

    def act(action: str):
        def fn(n: str, p: str, g: str, a: bool, request: gr.Request):
            viewer = viewer_for(request)
            if not viewer.admin:
                return table_html(T["users_admin_only"], [], []), ""
            return users_html(cfg, T, user_action(cfg, T, viewer, action, n, p, g, a)), ""
        return fn

    def show_audit(user: str, since: str, request: gr.Request):
        return audit_html(audit, T, user, since) if viewer_for(request).admin else \
            table_html(T["audit_admin_only"], [], [])

    users_tab.select(show_users, None, table, **_PRIVATE)
    for action, button in buttons.items():
        button.click(act(action), [name, password, groups, admin], [table, password], **_PRIVATE)
    audit_tab.select(show_audit, [a_user, a_since], records, **_PRIVATE)
    show.click(show_audit, [a_user, a_since], records, **_PRIVATE)
    a_since.submit(show_audit, [a_user, a_since], records, **_PRIVATE)
    return [users_tab, audit_tab]
