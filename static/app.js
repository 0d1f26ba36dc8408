/* txtcv — small progressive enhancements (loaded with defer; no inline scripts under CSP).
 * - button[data-copy-target]: copy the target element's text/value to the clipboard.
 * - textarea.code-editor: Tab inserts two spaces; Escape then Tab (or Shift+Tab) leaves the field.
 * - form[data-confirm]: ask for confirmation before submitting.
 * Uses event delegation on document so it also works for content swapped in by htmx. */
(function () {
  "use strict";
  var escapeArmed = false;

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy-target]") : null;
    if (!button) return;
    event.preventDefault();
    var target = document.getElementById(button.dataset.copyTarget);
    if (!target || !navigator.clipboard) return;
    var text = "value" in target && /^(INPUT|TEXTAREA)$/.test(target.tagName) ? target.value : target.textContent;
    navigator.clipboard.writeText(text).then(function () {
      if (!button.dataset.copyLabel) button.dataset.copyLabel = button.textContent;
      button.textContent = "Copied";
      clearTimeout(button._copyTimer);
      button._copyTimer = setTimeout(function () {
        button.textContent = button.dataset.copyLabel;
      }, 2000);
    }).catch(function () { /* clipboard refused: leave the button unchanged */ });
  });

  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (!el.matches || !el.matches("textarea.code-editor")) return;
    if (event.key === "Escape") { escapeArmed = true; return; }
    if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) {
      escapeArmed = false;
      return;
    }
    if (escapeArmed) { escapeArmed = false; return; } // let focus move on
    event.preventDefault();
    var start = el.selectionStart, end = el.selectionEnd;
    if (typeof el.setRangeText === "function") {
      el.setRangeText("  ", start, end, "end");
    } else {
      el.value = el.value.slice(0, start) + "  " + el.value.slice(end);
      el.selectionStart = el.selectionEnd = start + 2;
    }
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });

  document.addEventListener("focusout", function (event) {
    if (event.target.matches && event.target.matches("textarea.code-editor")) escapeArmed = false;
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-confirm]") && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
