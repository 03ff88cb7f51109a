// The safeguarding banner: on every signed-in page of a facilitator, rota member or operator, the crisis
// alerts they may take now. A light poll of one small JSON feed rather than a socket: most pages open
// none, and the chat socket belongs to one group while a rota member answers for every group.
(function () {
  "use strict";
  var root = document.getElementById("safeguarding-banner");
  if (!root) { return; }
  var text = document.getElementById("safeguarding-banner-text");
  var list = document.getElementById("safeguarding-banner-list");
  var feed = root.dataset.feed;
  var every = Math.max(2, Number(root.dataset.pollSeconds) || 15) * 1000;
  var token = root.querySelector("input[name=csrfmiddlewaretoken]");
  var shown = "";
  var timer = null;

  function minutes(n) { return n === 1 ? "1 minute" : n + " minutes"; }

  function render(alerts) {
    var ids = alerts.map(function (a) { return a.id; }).join(",");
    if (ids === shown) {
      // Same alerts: refresh how long they've waited, quietly (no new announcement).
      alerts.forEach(function (a) {
        var wait = document.getElementById("safeguarding-wait-" + a.id);
        if (wait) { wait.textContent = "waiting " + minutes(a.waiting_minutes); }
      });
      return;
    }
    shown = ids;
    list.textContent = "";
    if (!alerts.length) {
      root.hidden = true;
      text.textContent = "";
      return;
    }
    alerts.forEach(function (a) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = a.url;
      link.textContent = "A crisis alert in " + a.group;
      var wait = document.createElement("span");
      wait.id = "safeguarding-wait-" + a.id;
      wait.textContent = "waiting " + minutes(a.waiting_minutes);
      var form = document.createElement("form");
      form.method = "post";
      form.action = a.take_url;
      form.className = "inline-form";
      if (token) { form.appendChild(token.cloneNode()); }
      var button = document.createElement("button");
      button.type = "submit";
      button.textContent = "I've got this";
      form.appendChild(button);
      item.append(link, " ", wait, " ", form);
      list.appendChild(item);
    });
    text.textContent = alerts.length === 1
      ? "Someone may need support now: a crisis alert is waiting for a person to take it."
      : alerts.length + " crisis alerts are waiting for a person to take them.";
    root.hidden = false;
  }

  function look() {
    fetch(feed, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) { render(body.alerts || []); } })
      .catch(function () { /* offline for a moment: the next look tries again */ })
      .then(schedule);
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(look, every);
  }

  document.addEventListener("visibilitychange", function () { if (!document.hidden) { look(); } });
  look();
}());
