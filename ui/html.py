"""Small HTML builders shared by the chat and the admin tabs (escaped text only; no markup from data)."""
from __future__ import annotations

import html


def esc(text: str) -> str:
    return html.escape(text or "", quote=True)


def table_html(summary: str, head: list[str], rows: list[tuple], caption: str | None = None) -> str:
    """A status line and a table with column headers (scope="col"), every cell escaped; announced politely."""
    th = "".join(f"<th scope=\"col\">{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f"<div role=\"status\"><p>{esc(summary)}</p>"
            f"<table>{cap}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>")
