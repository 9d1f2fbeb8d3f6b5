// Leadwire console: small enhancements. Every page works without this file.
(function () {
  "use strict";
  // Copy buttons: <button data-copy="ID"> copies the value of #ID.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentElement.querySelector("[data-copied]");
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        if (status) status.textContent = "Copied.";
      }, function () {
        source.select();
        if (status) status.textContent = "Select and copy with Ctrl+C.";
      });
    });
  });
  // Live preview: the editor's unsaved values, rendered by the server, in the preview frame.
  var editor = document.getElementById("editor");
  var frame = document.querySelector("[data-preview-frame]");
  var state = document.querySelector("[data-preview-state]");
  if (!editor || !frame || !editor.dataset.preview) return;
  var timer = null;
  var sent = 0;
  function refresh() {
    var ticket = ++sent;
    fetch(editor.dataset.preview, {method: "POST", body: new FormData(editor), credentials: "same-origin"})
      .then(function (response) {
        return response.text().then(function (text) { return {ok: response.ok, text: text}; });
      })
      .then(function (answer) {
        if (ticket !== sent) return;
        if (answer.ok) {
          frame.srcdoc = answer.text;
          if (state) state.textContent = "(live, not saved yet)";
        } else if (state) {
          state.textContent = "(cannot show: " + answer.text.split("\n")[0] + ")";
        }
      })
      .catch(function () { if (state) state.textContent = "(preview unavailable)"; });
  }
  editor.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 350);
  });
})();
