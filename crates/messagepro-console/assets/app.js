// Message Pro console: the only script besides htmx (no inline script: the CSP forbids it).
// Forms with data-confirm ask before submitting.
document.addEventListener("submit", function (ev) {
  var msg = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    ev.preventDefault();
  }
});
