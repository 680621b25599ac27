// Message Pro console: the only script besides htmx (no inline script: the CSP forbids it).
// Forms with data-confirm ask before submitting.
document.addEventListener("submit", function (ev) {
  var msg = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    ev.preventDefault();
  }
});

// A session that expires while a form is being typed: an htmx request then gets `HX-Redirect`
// to the login page (see `guard.rs`). Before htmx follows it, the fields typed in this page's
// forms are kept in sessionStorage (this tab only, 30 minutes); when the user is back on the
// same page after logging in, they are put back. Hidden fields (CSRF token, form nonce),
// passwords and files are never kept.
(function () {
  var KEY = "messagepro.draft";
  var TTL_MS = 30 * 60 * 1000;

  function keepable(el) {
    var t = (el.type || "").toLowerCase();
    return !!el.name && !el.disabled &&
      ["hidden", "password", "file", "submit", "button", "reset", "image"].indexOf(t) < 0;
  }

  function fieldsOf(form) {
    return Array.prototype.filter.call(form.elements, keepable);
  }

  function valueOf(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.checked;
    if (el.multiple) {
      return Array.prototype.filter.call(el.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
    }
    return el.value;
  }

  function restore(el, v) {
    if (el.type === "checkbox" || el.type === "radio") {
      el.checked = !!v;
    } else if (el.multiple && Array.isArray(v)) {
      Array.prototype.forEach.call(el.options, function (o) { o.selected = v.indexOf(o.value) >= 0; });
    } else if (typeof v === "string") {
      el.value = v;
    } else {
      return;
    }
    // live helpers (the SMS counter) follow the restored value
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("htmx:beforeOnLoad", function (ev) {
    var xhr = ev.detail && ev.detail.xhr;
    var to = xhr && xhr.getResponseHeader("HX-Redirect");
    if (!to || to.indexOf("/login") !== 0) return;
    var forms = Array.prototype.map.call(document.querySelectorAll("form"), function (f) {
      return {
        action: f.getAttribute("action") || "",
        fields: fieldsOf(f).map(function (el) { return [el.name, valueOf(el)]; })
      };
    }).filter(function (f) { return f.fields.length > 0; });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ path: location.pathname, at: Date.now(), forms: forms }));
    } catch (e) { /* storage full or disabled: nothing kept */ }
  });

  // on `load`, after htmx has set up the page (its `changed` triggers remember the values they
  // first see: restored before that, the live counter would not follow)
  window.addEventListener("load", function () {
    var draft = null;
    try { draft = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (e) { draft = null; }
    if (!draft || !Array.isArray(draft.forms)) return;
    if (Date.now() - draft.at > TTL_MS) { sessionStorage.removeItem(KEY); return; }
    // kept through the login page until the user is back where they typed
    if (draft.path !== location.pathname) return;
    sessionStorage.removeItem(KEY);
    draft.forms.forEach(function (saved) {
      var form = Array.prototype.find.call(document.querySelectorAll("form"), function (f) {
        return (f.getAttribute("action") || "") === saved.action;
      });
      if (!form) return;
      var els = fieldsOf(form);
      // same page, same template: fields come in the same order; a name mismatch stops there
      for (var i = 0; i < saved.fields.length && i < els.length; i++) {
        if (els[i].name !== saved.fields[i][0]) break;
        restore(els[i], saved.fields[i][1]);
      }
    });
  });
})();

// Phone layout: below 40rem the navigation folds behind the header's menu button
// (`aria-expanded` / `aria-controls`); without this script it stays shown below the header.
(function () {
  var btn = document.querySelector("header.top .menu-toggle");
  var panel = btn && document.getElementById(btn.getAttribute("aria-controls"));
  if (!panel) return;
  document.documentElement.classList.add("has-menu");
  function setOpen(open) {
    btn.setAttribute("aria-expanded", open ? "true" : "false");
    panel.classList.toggle("open", open);
  }
  btn.addEventListener("click", function () {
    setOpen(btn.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && btn.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      btn.focus();
    }
  });
})();
