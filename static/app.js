/* txtcv — small progressive enhancements (loaded with defer; no inline scripts under CSP).
 * - button[data-copy-target]: copy the target element's text/value to the clipboard.
 * - textarea.code-editor: Tab inserts two spaces; Escape then Tab (or Shift+Tab) leaves the field.
 * - form[data-confirm]: ask for confirmation before submitting.
 * - form[data-passkey="create"|"get"]: run the WebAuthn ceremony whose options the server put in
 *   the form's script[data-passkey-options], and post the browser's answer in its "credential"
 *   field. A "get" form with data-passkey-autofill also offers the passkey in the browser's
 *   autofill, where available (not after a failed try, which would only fail again); its
 *   options may come from data-passkey-options-url instead (the login page's hidden form).
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

  var autofill = null; // the pending autofill request of a passkey sign-in, if any

  function passkeyOptions(form) {
    return JSON.parse(form.querySelector("script[data-passkey-options]").textContent);
  }

  function passkeyFailed(form, message) {
    var error = form.querySelector("[data-passkey-error]");
    if (!error) return;
    error.textContent = message;
    error.hidden = false;
  }

  // The form, once it holds its options: inline, or fetched (as an HTML fragment) from
  // data-passkey-options-url, which starts the ceremony only when it is about to be used.
  function withOptions(form) {
    if (form.querySelector("script[data-passkey-options]")) return Promise.resolve(form);
    return fetch(form.dataset.passkeyOptionsUrl, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("no passkey options");
      return response.text();
    }).then(function (html) {
      form.insertAdjacentHTML("beforeend", html);
      return form;
    });
  }

  function passkeyAnswered(form, credential) {
    form.elements.credential.value = JSON.stringify(credential.toJSON());
    form.submit();
  }

  function passkeyCeremony(form, mediation) {
    var options = passkeyOptions(form);
    if (form.dataset.passkey === "create") {
      return navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey)
      });
    }
    var request = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey) };
    if (mediation) {
      autofill = new AbortController();
      request.mediation = mediation;
      request.signal = autofill.signal;
    } else if (autofill) {
      autofill.abort();
      autofill = null;
    }
    return navigator.credentials.get(request);
  }

  var passkeysWork = window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-passkey]") || form.elements.credential.value) return;
    event.preventDefault();
    if (!passkeysWork) {
      passkeyFailed(form, "This browser cannot use passkeys. Please update it, or use another way to sign in.");
      return;
    }
    passkeyCeremony(form, null).then(function (credential) {
      passkeyAnswered(form, credential);
    }).catch(function (error) {
      if (error && error.name === "AbortError") return;
      passkeyFailed(form, "No passkey was used (" + (error && error.name || "cancelled") + "). You can try again.");
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector('form[data-passkey="get"][data-passkey-autofill]');
    if (!form || !passkeysWork || !PublicKeyCredential.isConditionalMediationAvailable) return;
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available) return;
      return withOptions(form).then(function () {
        return passkeyCeremony(form, "conditional");
      }).then(function (credential) {
        passkeyAnswered(form, credential);
      });
    }).catch(function () { /* aborted by the button, or dismissed: the button still works */ });
  });
})();
