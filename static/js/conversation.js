// SupportCircle private conversation: new replies appear without a reload. No build step, no
// dependencies. While the page is in view it re-reads itself every few seconds (and at once when
// the tab comes back into view) and appends only the messages it does not show yet, so a draft in
// the box and the reader's place are never disturbed. If the conversation was closed meanwhile,
// it says so, as the page would.
(function () {
  "use strict";

  var list = document.getElementById("conversation-messages");
  if (!list) return;
  var EVERY_MS = 10000;
  var busy = false;
  var closed = false;

  function shown(id) { return list.querySelector('li[data-id="' + id + '"]') !== null; }

  function closeWith(notice) {
    closed = true;
    list.replaceWith(document.importNode(notice, true));
    document.querySelectorAll(".conversation-only").forEach(function (node) { node.remove(); });
  }

  function refresh() {
    if (busy || closed || document.visibilityState !== "visible") return;
    busy = true;
    fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;  // a blip: the next round tries again, nothing is lost
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("conversation-messages");
        if (!fresh) {
          var notice = page.querySelector(".conversation-closed");
          if (notice) closeWith(notice);
          return;
        }
        fresh.querySelectorAll("li[data-id]").forEach(function (li) {
          if (shown(li.dataset.id)) return;
          var empty = list.querySelector("li.empty");
          if (empty) empty.remove();
          list.append(document.importNode(li, true));
        });
      })
      .catch(function () { /* offline for a moment: try again next round */ })
      .then(function () { busy = false; });
  }

  setInterval(refresh, EVERY_MS);
  document.addEventListener("visibilitychange", refresh);
})();
