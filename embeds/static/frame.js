(function () {
  "use strict";
  var root = document.documentElement;
  var parentOrigin = root.getAttribute("data-parent-origin");
  if (!parentOrigin || window.parent === window) return;
  var form = root.getAttribute("data-form");
  function tell(message) { window.parent.postMessage(message, parentOrigin); }
  var last = 0;
  function measure() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height !== last) { last = height; tell({ type: "leadwire:height", form: form, height: height }); }
  }
  if (window.ResizeObserver) new ResizeObserver(measure).observe(document.body);
  measure();
  var submitted = root.getAttribute("data-submitted");
  if (submitted) tell({ type: "leadwire:submitted", form: form, submission: submitted, redirect: root.getAttribute("data-redirect") });
})();
