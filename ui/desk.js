(() => {
  // The chat's own behaviour on top of Gradio's (ui/app.py answer_markdown writes the markup this reads):
  // 1. Copy gives plain text. Gradio's copy button writes a message's raw value (our HTML) to the clipboard; an answer
  //    carries its clean text (the answer, then its sources as numbered lines) in a hidden .copy-text element, and
  //    that is what is written instead, by the Clipboard API or the execCommand fallback of a non-secure page.
  // 2. [n] in an answer opens source n and brings its highlighted sentence into view.
  if (window.__deskInstalled) { return; }
  window.__deskInstalled = true;

  const plain = (value) => {
    if (typeof value !== 'string' || value.indexOf('class="ai-label"') < 0) { return value; }
    const doc = new DOMParser().parseFromString(value, 'text/html');
    const copy = doc.querySelector('.copy-text');
    if (copy) { return copy.textContent; }
    const body = doc.querySelector('.answer-body');          // an answer stored before copy texts existed
    return (body ? body.textContent : doc.body.textContent || '').trim();
  };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    const write = navigator.clipboard.writeText.bind(navigator.clipboard);
    navigator.clipboard.writeText = (text) => write(plain(text));
  }
  document.addEventListener('copy', (e) => {                 // the fallback: a textarea holding the raw value
    const el = document.activeElement;
    if (!el || el.tagName !== 'TEXTAREA' || el.closest('#chat, #question')) { return; }
    const text = plain(el.value);
    if (text !== el.value && e.clipboardData) {
      e.clipboardData.setData('text/plain', text);
      e.preventDefault();
    }
  }, true);

  document.addEventListener('click', (e) => {
    const skip = e.target.closest && e.target.closest('a.skip-link');
    if (skip) {                                               // 질문 입력으로 바로 가기: the caret in the box
      e.preventDefault();
      const box = document.querySelector('#question textarea');
      if (box) { box.focus(); }
      return;
    }
    const link = e.target.closest && e.target.closest('#chat a.cite-ref');
    if (!link) { return; }
    e.preventDefault();
    e.stopPropagation();
    const m = /cite-ref-(\d+)/.exec(link.className);
    if (!m) { return; }
    let box = link.parentElement, details = null;
    while (box && !(details = box.querySelector('details.cite-' + m[1]))) { box = box.parentElement; }
    if (!details) { return; }
    details.open = true;
    const target = details.querySelector('mark') || details;
    target.scrollIntoView({block: 'center', inline: 'nearest'});
    const summary = details.querySelector('summary');
    if (summary) { summary.focus({preventScroll: true}); }
  }, true);
})();
