/* Leadwire embed loader: <script src="BASE/embed.js" data-leadwire-form="SLUG" async></script>,
   or <div data-leadwire-form="SLUG"></div> anywhere plus the script once. No cookies, no globals. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.URL || !window.URLSearchParams) return;
  var base = script.src.replace(/\/embed\.js(?:[?#].*)?$/, "");
  var origin = new URL(base).origin;
  var passed = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid"];
  var frames = [];

  function frameFor(slug, title) {
    var here = new URLSearchParams(location.search);
    var query = new URLSearchParams({ embed: "1", origin: location.origin, _page_url: location.href });
    if (document.referrer) query.set("_referrer", document.referrer);
    passed.forEach(function (name) {
      var value = here.get(name);
      if (value) query.set(name, value);
    });
    var frame = document.createElement("iframe");
    frame.src = base + "/f/" + encodeURIComponent(slug) + "?" + query.toString();
    frame.title = title || "Form";
    frame.loading = "lazy";
    frame.style.cssText = "display:block;width:100%;min-width:280px;height:520px;border:0;overflow:hidden";
    frame.setAttribute("data-leadwire-frame", slug);
    frames.push(frame);
    return frame;
  }

  function mount(host, slug, title) {
    if (!slug || host.getAttribute("data-leadwire-mounted")) return;
    host.setAttribute("data-leadwire-mounted", "1");
    var frame = frameFor(slug, title || host.getAttribute("data-leadwire-title"));
    if (host === script) script.parentNode.insertBefore(frame, script.nextSibling);
    else host.appendChild(frame);
  }

  mount(script, script.getAttribute("data-leadwire-form"), script.getAttribute("data-leadwire-title"));
  function mountAll() {
    var hosts = document.querySelectorAll("div[data-leadwire-form]");
    for (var i = 0; i < hosts.length; i++) mount(hosts[i], hosts[i].getAttribute("data-leadwire-form"));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== origin || !data || typeof data !== "object") return;
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.contentWindow !== event.source) continue;
      if (data.type === "leadwire:height" && data.height > 0) {
        frame.style.height = Math.min(Math.ceil(data.height), 20000) + "px";
      } else if (data.type === "leadwire:submitted") {
        var detail = { form: data.form, submission: data.submission, redirect: data.redirect || null };
        var go = frame.dispatchEvent(new CustomEvent("leadwire:submitted", { bubbles: true, cancelable: true, detail: detail }));
        if (go && data.redirect && /^https?:\/\//.test(data.redirect)) location.assign(data.redirect);
      }
    }
  });
})();
