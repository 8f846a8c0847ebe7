"""Accessibility layer of the browser chat (KWCAG 2.2 / WCAG 2.1 AA): CSS and page JS added to ui/app.py's own.

    CSS  contrast (buttons, placeholders, small print of Gradio's components), a visible focus ring everywhere,
         and a visually hidden status region
    JS   a MutationObserver that gives Gradio's English-only controls and status texts Korean names, keeps the chat
         log from announcing the streamed answer token by token (one polite status says when it is complete), and
         repairs Gradio's nested upload button

The Korean words are not here: they are the `a11y_*` keys of ui/texts.toml, rendered into the page JS as a JSON table
when ui/app.py is imported (page_js). tests/test_ui_a11y.py checks the result with axe-core in a real browser.
"""
from __future__ import annotations

import html
import json
import tomllib
from pathlib import Path

TEXTS_PATH = Path(__file__).with_name("texts.toml")

# Colours (contrast against white, WCAG 2.1: 4.5:1 for text, 3:1 for focus indicators and other non-text parts):
#   #c2410c orange-700 5.2:1 (primary buttons; Gradio's orange-500 #f97316 is 2.8:1), hover #9a3412 7.3:1
#   #b91c1c red-700    6.5:1 (variant="stop"; Gradio's #ef4444 is 3.8:1), hover #991b1b 8.3:1
#   #1d4ed8 blue-700   6.7:1 focus ring (light); #93c5fd blue-300 9.6:1 on Gradio's dark background #0b0f19
#   #c2410c            also the selected tab's text and underline (Gradio's accent #f97316 is 2.8:1)
#   #6b7280 gray-500   4.8:1 placeholders and Gradio's faint small print (#bbbbc2 is 1.9:1); #9ca3af on dark 7.4:1
CSS = """
/* ---- a11y.py: contrast. The theme's variables, made stronger than the theme's own :root / .dark rules. */
:root:root, :root:root.dark, :root:root .dark {
  --button-primary-background-fill: #c2410c;
  --button-primary-background-fill-hover: #9a3412;
  --button-primary-border-color: #c2410c;
  --button-primary-border-color-hover: #9a3412;
  --button-primary-text-color: #ffffff;
  --button-cancel-background-fill: #b91c1c;
  --button-cancel-background-fill-hover: #991b1b;
  --button-cancel-text-color: #ffffff;
  --input-placeholder-color: #6b7280;
}
:root:root.dark, :root:root .dark { --input-placeholder-color: #9ca3af; }
/* the selected tab's text and underline (Gradio: the accent, orange-500, 2.8:1 on white); on dark it is 6.9:1 */
:root:root { --color-accent: #c2410c; }
:root:root.dark, :root:root .dark { --color-accent: #f97316; }
/* Gradio's upload area: the "- or -" between its two lines */
.gradio-container .upload-container .or { color: #4b5563; }
.dark .gradio-container .upload-container .or, .gradio-container.dark .upload-container .or { color: #d1d5db; }
textarea::placeholder, input::placeholder { opacity: 1; }
/* dark mode (the browser's or Windows' dark setting): ui/app.py's panels keep their light backgrounds, so their text
   stays dark; the chat's small print is lightened against the dark message bubbles */
#warning-text, #warning-text p { color: #1f2937; }
#ai-notice .prose, #ai-notice p, #ai-notice strong { color: #1e3a8a; }
.dark #chat .rewritten { color: #d1d5db; }
.dark #chat .citations .passage, .dark #chat .evidence-preview { color: #e5e7eb; }
.dark #chat .citations .quote { color: #f3f4f6; }
.dark #chat .answer-warnings { color: #fcd34d; }
.dark #chat .citations details { border-color: #6b7280; }

/* ---- a11y.py: a result table without rows (no accounts yet, nothing uploaded) is not shown: its status line says
   so, and headers without data cells only confuse a screen reader (axe th-has-data-cells) */
#upload-result table:has(tbody:empty), #upload-pii-preview table:has(tbody:empty), #users-table table:has(tbody:empty),
#audit-table table:has(tbody:empty) { display: none; }

/* ---- a11y.py: a clearly visible focus ring on every control reached by keyboard (and on text boxes always) */
.gradio-container :focus-visible, :focus-visible {
  outline: 3px solid #1d4ed8 !important;
  outline-offset: 2px !important;
}
.dark :focus-visible { outline-color: #93c5fd !important; }
.dark #warning :focus-visible { outline-color: #1d4ed8 !important; }       /* the panel stays light in dark mode */
/* inside Gradio blocks that clip their content (overflow: hidden) the ring is drawn inside the element */
.gradio-container .block[style*="overflow: hidden"] :focus-visible { outline-offset: -3px !important; }

/* ---- a11y.py: text for screen readers only (the answer-complete status) */
.a11y-sr-only { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
                clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
"""

# Gradio's English names (aria-label / title / aria-valuetext, in its own words and i18n keys) -> texts.toml key.
# Several are translated by Gradio in ko-KR already; they stay here for browsers in another language.
NAMES = {
    "chatbot conversation": "a11y_chat_log",
    "Copy message": "a11y_copy_message",
    "Copied message": "a11y_copied",
    "Copy conversation": "a11y_copy_conversation",
    "Copied conversation": "a11y_copied",
    "Copy": "a11y_copy",
    "Copied": "a11y_copied",
    "Like": "a11y_like",
    "Dislike": "a11y_dislike",
    "Feedback": "a11y_feedback",
    "Retry": "a11y_retry",
    "Undo": "a11y_undo",
    "Edit": "a11y_edit",
    "Submit": "a11y_submit",
    "Cancel": "a11y_cancel",
    "Scroll down": "a11y_scroll_down",
    "More tabs": "a11y_more_tabs",
    "Close": "a11y_close",
    "Dismiss": "a11y_close",
    "Clear": "a11y_clear",
    "Remove file": "a11y_remove_file",
    "Remove this file": "a11y_remove_file",
    "File upload": "a11y_file_input",
    "Upload file": "a11y_upload_add",
    "Upload a file": "a11y_upload_add",
    "common.upload": "a11y_upload_add",
    "Click to upload or drop files": "a11y_upload_drop",
    "Uploading": "a11y_uploading",
    "Uploaded files": "a11y_uploaded_files",
    "Download": "a11y_download_plain",
    "common.download": "a11y_download_plain",
    "Loading response": "a11y_loading",
    "Loading": "a11y_loading",
    "Complete": "a11y_complete",
    "Error": "a11y_error",
}
# Gradio's progress and status texts ("1/5 steps | 0.2s", "processing |", "queue: 1/2 |", "In queue: 1 of 2"):
# regex -> (texts.toml key, what follows the Korean word: "$1" etc. are the regex groups). Applied word by word,
# since Svelte writes these texts as separate text nodes, and only inside Gradio's status tracker, its screen-reader
# status and its toasts (never to the app's own HTML, which shows file names and other data)
WORDS = {
    r"\bIn queue: (\d+) of (\d+)": ("a11y_queue", " $1/$2"),
    r"\bqueue:": ("a11y_queue", ""),
    r"\bsteps\b": ("a11y_steps", ""),
    r"\bprocessing\b": ("a11y_processing", ""),
}
# named labels used by the JS itself (not a translation of an English name)
LABELS = ("a11y_chat_log", "a11y_answer_done", "a11y_upload_add", "a11y_upload_drop", "a11y_download",
          "a11y_user_message", "a11y_bot_message")

JS = r"""
(L) => {
  // L: {names: {English: Korean}, words: [[regex source, Korean]], labels: {key: Korean}} from ui/texts.toml
  const CURSOR = '\u258c';                       // the streaming cursor answer_markdown() appends while writing
  const HANGUL = /[\uac00-\ud7a3]/;
  const words = (L.words || []).map(([re, ko]) => [new RegExp(re, 'g'), ko]);
  const lab = L.labels || {};
  const setAttr = (el, name, value) => {
    if (value === null) { if (el.hasAttribute(name)) { el.removeAttribute(name); } }
    else if (el.getAttribute(name) !== value) { el.setAttribute(name, value); }
  };
  // an English name, as a whole, to its Korean one (anything else unchanged)
  const translateName = (s) => {
    const t = (s || '').trim();
    return t && !HANGUL.test(t) && L.names && Object.prototype.hasOwnProperty.call(L.names, t) ? L.names[t] : s;
  };
  // a status text: a whole English name, else its English words replaced
  const translateText = (s) => {
    if (!s || !/[A-Za-z]/.test(s)) { return s; }
    const whole = translateName(s);
    if (whole !== s) { return whole; }
    let out = s;
    for (const [re, ko] of words) { out = out.replace(re, ko); }
    return out;
  };
  const visibleText = (el) => (el.innerText || '').replace(/\s+/g, ' ').trim();

  // a polite status outside Gradio's tree: says once that an answer is complete (and what it says)
  let status = document.querySelector('[data-a11y-status]');
  if (!status) {
    status = document.createElement('div');
    status.className = 'a11y-sr-only';
    status.setAttribute('role', 'status');
    status.setAttribute('aria-live', 'polite');
    status.setAttribute('aria-atomic', 'true');
    status.setAttribute('data-a11y-status', '');
    document.body.appendChild(status);
  }
  let wasStreaming = false;

  function chatLog() {
    const log = document.querySelector('#chat [role=log]');
    if (!log) { return; }
    if (lab.a11y_chat_log) { setAttr(log, 'aria-label', lab.a11y_chat_log); }
    // not a live region: a polite log would read every streamed token; the status below speaks once instead
    setAttr(log, 'aria-live', 'off');
    // each message: Gradio labels a plain div "user's message: <its HTML>" (English, markup included, and not allowed
    // on a div without a role); a group named "question" / "answer" (a11y_user_message, a11y_bot_message) says who
    // speaks and lets the content speak for itself
    for (const [sel, key] of [['[data-testid=user]', 'a11y_user_message'], ['[data-testid=bot]', 'a11y_bot_message']]) {
      for (const m of log.querySelectorAll(sel)) {
        if (lab[key]) { setAttr(m, 'role', 'group'); setAttr(m, 'aria-label', lab[key]); }
        else { setAttr(m, 'aria-label', null); }
      }
    }
    const bots = log.querySelectorAll('.ai-label');
    const last = bots.length ? bots[bots.length - 1].closest('.message, [data-testid=bot]') || bots[bots.length - 1].parentElement : null;
    const streaming = !!(last && (last.textContent || '').includes(CURSOR));
    setAttr(log, 'aria-busy', streaming ? 'true' : null);
    if (wasStreaming && !streaming && last) {
      const body = last.querySelector('.answer-body');
      const text = ((body && body.textContent) || '').replace(/\s+/g, ' ').trim();
      status.textContent = [lab.a11y_answer_done || '', text].join(' ').trim();
    } else if (streaming && !wasStreaming) {
      status.textContent = '';
    }
    wasStreaming = streaming;
  }

  function names(root) {
    for (const el of root.querySelectorAll('[aria-label], [title], [aria-valuetext]')) {
      for (const a of ['aria-label', 'title']) {
        const v = el.getAttribute(a);
        if (v) { setAttr(el, a, translateName(v)); }
      }
      const vt = el.getAttribute('aria-valuetext');                 // a progress bar: "desc: 1 / 5 steps"
      if (vt) { setAttr(el, 'aria-valuetext', translateText(vt)); }
    }
    // Gradio's upload area: its name is its (Korean) visible text, so what is read is what is seen (WCAG 2.5.3)
    for (const el of root.querySelectorAll('button.upload-container')) {
      const outer = el.parentElement && el.parentElement.closest('button');
      setAttr(el, 'aria-dropeffect', null);             // deprecated in ARIA 1.1, announced by nothing
      if (!outer) {
        const text = visibleText(el);
        setAttr(el, 'aria-label', HANGUL.test(text) ? text : (lab.a11y_upload_drop || text));
        continue;
      }
      // the "add more files" icon once a file is chosen: Gradio nests an upload button inside another button
      // (axe nested-interactive) and the outer one does nothing by keyboard. The inner one is made inert; the outer
      // one is the control and opens the file chooser itself (mouse, Enter and Space alike)
      if (!el.hasAttribute('inert')) { el.setAttribute('inert', ''); }
      setAttr(el, 'tabindex', '-1');
      setAttr(el, 'aria-label', null);
      if (lab.a11y_upload_add) { setAttr(outer, 'aria-label', lab.a11y_upload_add); setAttr(outer, 'title', lab.a11y_upload_add); }
      if (!outer.__a11yUpload) {
        outer.__a11yUpload = true;
        outer.addEventListener('click', (e) => {
          const inner = outer.querySelector('button.upload-container');
          const input = inner && inner.querySelector('input[type=file]');
          if (!input || inner.contains(e.target)) { return; }
          inner.removeAttribute('inert');               // an input inside an inert subtree opens no file chooser
          try { input.click(); } finally { inner.setAttribute('inert', ''); }
        });
      }
    }
    // a chosen file's size link downloads it: say so, keeping the visible text in the name
    for (const a of root.querySelectorAll('a.download-link')) {
      const text = visibleText(a);
      if (lab.a11y_download && text) { setAttr(a, 'aria-label', lab.a11y_download.replace('{text}', text)); }
    }
    // progress and status texts of Gradio's status tracker and toasts
    for (const box of root.querySelectorAll('[data-testid=status-tracker], .sr-only[role=status], [data-testid=toast-body]')) {
      const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const t = translateText(n.nodeValue);
        if (t !== n.nodeValue) { n.nodeValue = t; }
      }
    }
  }

  // run in the observer's callback itself (a microtask, before the next frame and before assistive technology reads
  // the change), so no English name or status is ever exposed; the changes made here trigger one more call that finds
  // nothing left to change
  const pass = () => { try { names(document); chatLog(); } catch (e) { console.error(e); } };
  new MutationObserver(pass).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ['aria-label', 'title', 'aria-valuetext', 'aria-live', 'aria-busy', 'tabindex', 'inert', 'role',
                      'aria-dropeffect']});
  pass();
}
"""


def labels(texts: dict | None = None) -> dict:
    """The JSON table the page JS gets: English names and words -> Korean, and the named labels (texts.toml)."""
    if texts is None:
        try:
            with TEXTS_PATH.open("rb") as fh:
                texts = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError):    # ui.app.load_texts reports it clearly when the app is built
            texts = {}
    return {"names": {en: texts[k] for en, k in NAMES.items() if k in texts},
            "words": [[re_, texts[k] + rest] for re_, (k, rest) in WORDS.items() if k in texts],
            "labels": {k: texts[k] for k in LABELS if k in texts}}


def page_js(texts: dict | None = None) -> str:
    """A JS statement starting the layer with its labels (ASCII only: Korean as \\u escapes)."""
    return f"({JS.strip()})({json.dumps(labels(texts), ensure_ascii=True)});"


class PageTitle:
    """ASGI middleware: Gradio's page template has no <title>; the page script sets one from the app's config, but
    the login page's config carries none, so the first page an official sees had no title (axe: document-title,
    serious). Adds `title` to an HTML page served without one; everything else passes through untouched."""

    def __init__(self, app, title: str):
        self.app, self.title = app, ("<title>" + html.escape(title) + "</title>").encode("utf-8")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: dict = {}
        body: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                encoded = any(k.lower() == b"content-encoding" for k, _ in headers)
                if kind.startswith(b"text/html") and not encoded:
                    start.update(message)           # an HTML page: held until its body is complete
                    return
            if message["type"] != "http.response.body" or not start:
                await send(message)                 # everything else (assets, event streams) as it comes
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            data = b"".join(body)
            headers = start.get("headers", [])
            if b"<title" not in data and b"<head>" in data:
                data = data.replace(b"<head>", b"<head>" + self.title, 1)
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(data)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": data})

        await self.app(scope, receive, capture)
