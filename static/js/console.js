// SupportCircle facilitator console. No build step, no dependencies, no inline handlers.
// It opens the group's own socket (docs/protocol.md): the facilitator's socket already receives
// the conversation, presence, room state, rounds, the moderation queue and, during a live session,
// the wellbeing radar. Every control below sends one documented frame; the server answers by
// broadcasting the change, and this page only ever draws what the server said. The socket's plumbing
// (reconnect, close codes, catching up, retries) is the shared client in static/js/socket.js.
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) return;

  // What this page says when the socket closes for good (the codes' meanings: static/js/socket.js).
  var PERMANENT_CLOSE = { 4401: "You've been logged out. Please log in again to open the console.",
    4403: "The console is for this group's facilitators.",
    4404: "We couldn't find this group.",
    4409: "You're no longer part of this group, so the console has closed.",
    4410: "You can't take part in this group right now." };
  var KIND_LABELS = { alert: "Crisis alert", held: "Held message", report: "Report", repair: "Repair request" };
  var KIND_ORDER = { alert: 0, held: 1, report: 2, repair: 3 };

  var vocabulary = {};
  try { vocabulary = JSON.parse(root.dataset.vocabulary || "{}"); } catch (e) { vocabulary = {}; }
  var $ = function (id) { return document.getElementById(id); };
  var statusEl = $("console-connection");
  var errorEl = $("console-error");
  var noticeEl = $("console-notice");
  var messagesEl = $("console-messages");

  var socket = null;
  var radarTimer = null;
  var breatheTimer = null;
  var radarSoon = null;
  // The facilitator's message on its way: its words stay in the box until the server has stored it.
  var pendingSend = null;
  var state = { session: null, room: null, round: null, queue: {}, seen: new Set() };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function button(label, handler, secondary) {
    var b = el("button", secondary ? "secondary" : "", label);
    b.type = "button";
    b.addEventListener("click", handler);
    return b;
  }
  function showError(text) { errorEl.textContent = text || ""; errorEl.hidden = !text; }
  function showNotice(text) {
    noticeEl.textContent = text || "";
    noticeEl.hidden = !text;
  }
  function timeLabel(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  function transmit(frame) { return socket.send(frame); }
  function send(frame) {
    if (transmit(frame)) return true;
    showError("We're reconnecting; please try that again in a moment.");
    return false;
  }

  // Conversation ------------------------------------------------------------------------------

  function messageBody(m) {
    if (m.state === "visible" || m.state === "held") return m.body;
    if (m.state === "removed_under_agreement") return "Removed under agreement " + m.removed_agreement + ".";
    return "Message removed by its author.";
  }
  function renderMessage(m) {
    var existing = messagesEl.querySelector('li[data-seq="' + m.seq + '"]');
    var li = el("li", "message" + (m.state === "held" ? " held" : ""));
    li.dataset.seq = String(m.seq);
    var author = el("span", "author", m.author.pseudonym);
    var time = el("time", "", timeLabel(m.created_at));
    time.dateTime = m.created_at;
    var body = el("p", "body", messageBody(m));
    li.append(author, " ", time, body);
    if (existing) { existing.replaceWith(li); return; }
    var empty = $("conversation-empty");
    if (empty) empty.remove();
    state.seen.add(m.seq);
    var after = null;
    var items = messagesEl.querySelectorAll("li[data-seq]");
    for (var i = items.length - 1; i >= 0; i--) {
      if (Number(items[i].dataset.seq) < m.seq) { after = items[i]; break; }
    }
    var nearBottom = messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 80;
    if (after) after.after(li); else messagesEl.prepend(li);
    if (nearBottom) messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  // The server lost its newest messages (a restored database, a failover): what it no longer has
  // goes, and socket.js counts from its number again.
  function forget(latest) {
    messagesEl.querySelectorAll("li[data-seq]").forEach(function (li) {
      if (Number(li.dataset.seq) > latest) li.remove();
    });
    Array.from(state.seen).forEach(function (seq) { if (seq > latest) state.seen.delete(seq); });
  }

  // Saying something ---------------------------------------------------------------------------

  var sendingEl = $("console-sending");
  function sendPending() {
    if (!pendingSend) return;
    sendingEl.textContent = transmit({ type: "send", client_id: pendingSend.client_id, body: pendingSend.body })
      ? "Sending…"
      : "We're reconnecting. Your message is still here and goes as soon as we're back.";
  }
  function stored(clientId) {
    if (!pendingSend || pendingSend.client_id !== clientId) return;
    var box = $("console-body");
    if (box.value === pendingSend.body) box.value = "";
    pendingSend = null;
    sendingEl.textContent = "";
    showError("");  // a "try again" about it is over
  }
  function sendRefused(f, item, retrying) {
    if (!item) return;  // about one stored since
    showError(f.message);
    if (retrying) {
      // socket.js sends the same client_id again, once: the server stores it once, however many times it is asked.
      sendingEl.textContent = "Trying again in a moment…";
      return;
    }
    // Not sent (server_error, rate_limited...), and not sent again by itself: the words are still in
    // the box to change or send again.
    pendingSend = null;
    sendingEl.textContent = "";
  }

  // Crisis words of the facilitator's own: the same resources a member gets, here ----------------

  function showCrisisCard(f) {
    var old = $("crisis-card");
    if (old) old.remove();
    var heading = el("h2", "", f.title);
    heading.id = "crisis-heading";
    heading.tabIndex = -1;
    var list = el("ul", "resources");
    (f.resources || []).forEach(function (r) {
      var name = el(r.url ? "a" : "strong", "", r.name);
      if (r.url) { name.href = r.url; name.target = "_blank"; name.rel = "noopener noreferrer"; }
      var item = el("li");
      item.append(name);
      if (r.detail) item.append(el("p", "", r.detail));
      list.append(item);
    });
    var card = el("section", "crisis-card");
    card.id = "crisis-card";
    card.setAttribute("aria-labelledby", "crisis-heading");
    var close = button("Close this card", function () { card.remove(); $("console-body").focus(); }, true);
    card.append(heading, el("p", "", f.message), list, close);
    card.addEventListener("keydown", function (event) { if (event.key === "Escape") close.click(); });
    (messagesEl.closest(".message-log") || messagesEl).before(card);
    heading.focus();
  }

  // Roster ------------------------------------------------------------------------------------

  function renderRoster(here) {
    var list = $("roster");
    list.replaceChildren();
    here.forEach(function (person) {
      var li = el("li", "", person.pseudonym);
      if (person.role === "facilitator") li.append(" ", el("span", "tag", "facilitator"));
      list.append(li);
    });
    $("roster-count").textContent = String(here.length);
  }

  // Session and room ----------------------------------------------------------------------------

  function renderSession(session) {
    state.session = session;
    var live = session && session.live;
    $("session-state").textContent = live
      ? "Live since " + timeLabel(session.started_at) + "."
      : (session && session.ended_at ? "The session closed at " + timeLabel(session.ended_at) + "." : "No live session yet.");
    $("session-open").hidden = !!live;
    $("session-close").hidden = !live;
    var locked = !!(session && session.joins_locked);
    var lock = $("lock-joins");
    lock.setAttribute("aria-pressed", String(locked));
    lock.textContent = locked ? "Joins are locked: unlock" : "Lock joins";
    var link = $("summary-link");
    if (session && session.summary_url && !live) {
      link.href = session.summary_url;
      link.hidden = false;
    }
    clearInterval(radarTimer);
    if (live) {
      radarTimer = setInterval(askRadar, 15000);
      askRadar();
    }
  }

  function renderRoom(room) {
    state.room = room;
    var slow = $("slow-mode");
    if (String(room.slow_mode_seconds) !== slow.value) {
      if (!slow.querySelector('option[value="' + room.slow_mode_seconds + '"]')) {
        slow.append(el("option", "", "One message per " + room.slow_mode_seconds + " seconds"));
        slow.lastChild.value = String(room.slow_mode_seconds);
      }
      slow.value = String(room.slow_mode_seconds);
    }
    var pause = $("pause-toggle");
    pause.setAttribute("aria-pressed", String(room.paused));
    pause.textContent = room.paused ? "The chat is paused: open it again" : "Pause the chat";
    var circle = room.circle;
    var toggle = $("circle-toggle");
    toggle.setAttribute("aria-pressed", String(circle.on));
    toggle.textContent = circle.on ? "End the listening circle" : "Start a listening circle";
    $("circle-next").hidden = !circle.on;
    $("circle-state").textContent = !circle.on ? "The circle is not on."
      : (circle.floor_holder ? circle.floor_holder.pseudonym + " holds the floor." : "The floor is open.");
    var hands = $("hands");
    hands.replaceChildren();
    circle.raised_hands.forEach(function (person) { hands.append(el("li", "", person.pseudonym)); });
  }

  function feelingLabel(key) { return (vocabulary.feelings || {})[key] || key; }
  function needLabel(key) { return (vocabulary.needs || {})[key] || key; }

  function renderRound(round) {
    state.round = round && round.open ? round : null;
    var open = !!state.round;
    $("round-checkin").hidden = open;
    $("round-gratitude").hidden = open;
    $("round-close").hidden = !open;
    if (open) {
      $("round-state").textContent = (round.kind === "checkin" ? "Check-in" : "Gratitude") + " round open: " + round.prompts.join(" ");
      $("round-cards").replaceChildren();
      (round.cards || []).forEach(renderCard);
    } else if (round && round.summary) {
      $("round-state").textContent = "The round closed with " + round.summary.answers + " answer" + (round.summary.answers === 1 ? "" : "s") + ".";
    } else if (!round || !round.open) {
      $("round-state").textContent = "No round open.";
    }
  }

  function renderCard(card) {
    var list = $("round-cards");
    var existing = list.querySelector('li[data-user="' + card.user.id + '"]');
    var text = card.gratitude ? card.gratitude
      : card.feelings.map(feelingLabel).join(", ") + (card.need ? " · needs " + needLabel(card.need).toLowerCase() : "");
    var li = el("li", "card-answer");
    li.dataset.user = String(card.user.id);
    li.append(el("strong", "", card.user.pseudonym), " ", el("span", "", text));
    if (existing) existing.replaceWith(li); else list.append(li);
  }

  function renderBreathe(breathe) {
    clearTimeout(breatheTimer);
    $("breathe-start").hidden = breathe.on;
    $("breathe-end").hidden = !breathe.on;
    $("breathe-state").textContent = breathe.on ? "Everyone is breathing together until " + timeLabel(breathe.until) + ". Members' posting rests until then." : "";
    if (breathe.on) {
      var left = new Date(breathe.until) - Date.now();
      breatheTimer = setTimeout(function () { renderBreathe({ on: false }); }, Math.max(0, left));
    }
  }

  // Queue -----------------------------------------------------------------------------------------

  function itemKey(item) { return item.kind + ":" + item.id; }

  // Crisis alerts and peers' worries first, then the second opinion's "please look", then the rest.
  function urgency(item) {
    if (item.kind !== "alert") return 2;
    if (item.category === "crisis" || item.category === "worried") return 0;
    return item.category === "possible_crisis" ? 1 : 2;
  }

  function renderQueue() {
    var list = $("queue");
    var items = Object.keys(state.queue).map(function (key) { return state.queue[key]; });
    items.sort(function (a, b) {
      return urgency(a) - urgency(b) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.id - b.id;
    });
    list.replaceChildren();
    items.forEach(function (item) { list.append(queueEntry(item)); });
    $("queue-count").textContent = String(items.length);
    $("queue-empty").hidden = items.length > 0;
  }

  function moderate(action, fields) {
    var frame = { type: "moderate", action: action };
    Object.keys(fields).forEach(function (k) { frame[k] = fields[k]; });
    send(frame);
  }

  function queueEntry(item) {
    var crisis = item.kind === "alert" && (item.category === "crisis" || item.category === "worried");
    var li = el("li", "queue-item kind-" + item.kind + (crisis ? " crisis" : ""));
    li.dataset.key = itemKey(item);
    var label = crisis ? "Crisis alert" : item.private ? "Report of a private message" : KIND_LABELS[item.kind];
    if (item.category === "worried") label = "Worried about them (from " + (item.raised_by ? item.raised_by.pseudonym : "a member") + ")";
    else if (item.category === "possible_crisis") label = "Please look (they saw nothing)";
    var heading = el("p", "queue-kind", label + " · " + item.member.pseudonym);
    li.append(heading);
    if (item.message && item.message.body) li.append(el("blockquote", "", item.message.body));
    if (item.agreement) li.append(el("p", "help", "Agreement " + item.agreement.number + ": " + item.agreement.text));
    if (item.reason) li.append(el("p", "help", "Reported by " + (item.reporter ? item.reporter.pseudonym : "a member") + ": " + item.reason + (item.note ? " (" + item.note + ")" : "")));
    if (item.prompt) li.append(el("p", "help", item.prompt));
    if (crisis && item.resources && item.resources.length) {
      var shown = el("details", "resources-shown");
      shown.append(el("summary", "", "Support lines they were shown"));
      var ul = el("ul");
      item.resources.forEach(function (r) { ul.append(el("li", "", r.name + (r.detail ? ": " + r.detail : ""))); });
      shown.append(ul);
      li.append(shown);
    }
    var row = el("div", "button-row");
    if (item.kind === "held") {
      row.append(button("Approve", function () { moderate("approve", { seq: item.message.seq }); }));
      if (item.agreement) {
        row.append(button("Hide under agreement " + item.agreement.number, function () {
          moderate("hide", { seq: item.message.seq, agreement: item.agreement.number });
        }, true));
      }
      if (item.member && item.member.id) {
        row.append(button("Check in privately", function () { openCheckIn(li, item.member, "held_message"); }, true));
      }
    } else if (item.kind === "report") {
      row.append(button("Mark as looked at", function () {
        moderate("resolve_report", { report: item.id, outcome: "Thank you for telling us. A facilitator has looked at it." });
      }));
    } else if (item.kind === "alert") {
      row.append(button("I'm following up", function () { moderate("acknowledge_alert", { alert: item.id }); }));
      row.append(button("Check in privately", function () { openCheckIn(li, item.member, crisis ? "crisis_alert" : "flagged_message"); }, true));
    } else if (item.kind === "repair") {
      row.append(button("Accept the repair", function () { moderate("accept_repair", { repair: item.id }); }));
    }
    li.append(row);
    return li;
  }

  function takeQueueItem(item) {
    if (item.state && item.state !== "open") delete state.queue[itemKey(item)];
    else state.queue[itemKey(item)] = item;
    renderQueue();
  }

  // Radar -----------------------------------------------------------------------------------------

  function askRadar() { if (state.session && state.session.live) send({ type: "radar" }); }
  function askRadarSoon() {
    clearTimeout(radarSoon);
    radarSoon = setTimeout(askRadar, 400);
  }

  // The words a check-in starts with, by why the facilitator is checking in (console.live.CHECK_IN_WORDS).
  var CHECK_IN_WORDS = {};
  try { CHECK_IN_WORDS = JSON.parse(root.dataset.checkInWords || "{}"); } catch (e) { CHECK_IN_WORDS = {}; }
  function checkInWords(reason) { return CHECK_IN_WORDS[reason] || root.dataset.kindCheckIn || ""; }

  function openCheckIn(container, member, reason) {
    var existing = container.querySelector("form.check-in");
    if (existing) { existing.querySelector("textarea").focus(); return; }
    var form = el("form", "check-in");
    var id = "check-in-" + member.id + "-" + Math.random().toString(36).slice(2, 7);
    var label = el("label", "", "Your private message to " + member.pseudonym);
    label.htmlFor = id;
    var box = el("textarea");
    box.id = id;
    box.rows = 3;
    box.maxLength = 500;
    box.value = checkInWords(reason).replace("{name}", member.pseudonym);
    var row = el("div", "button-row");
    var submit = el("button", "", "Send privately");
    submit.type = "submit";
    row.append(submit, button("Cancel", function () { form.remove(); }, true));
    form.append(label, box, row);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!box.value.trim()) { showError("Please write a few words before sending."); return; }
      if (send({ type: "check_in_with", member: member.id, message: box.value, reason: reason })) form.remove();
    });
    container.append(form);
    box.focus();
  }

  function renderRadar(members) {
    var list = $("radar");
    list.replaceChildren();
    members.forEach(function (entry) {
      var li = el("li", "radar-entry");
      li.append(el("p", "radar-name", entry.member.pseudonym));
      var reasons = el("ul", "radar-reasons");
      entry.concerns.forEach(function (c) { reasons.append(el("li", "", c.text)); });
      li.append(reasons);
      var row = el("div", "button-row");
      row.append(button("Check in with " + entry.member.pseudonym, function () {
        openCheckIn(li, entry.member, entry.concerns[0].reason);
      }, true));
      li.append(row);
      list.append(li);
    });
    $("radar-empty").hidden = members.length > 0;
  }

  // The conversation column: hide it or pin it in view, remembered for this facilitator in this browser ----

  var COLUMN_KEY = "supportcircle.console.conversation." + (root.dataset.me || "");
  function columnChoice() {
    try { return JSON.parse(localStorage.getItem(COLUMN_KEY) || "{}") || {}; } catch (e) { return {}; }
  }
  function rememberColumn(choice) {
    try { localStorage.setItem(COLUMN_KEY, JSON.stringify(choice)); } catch (e) { /* private mode: not kept */ }
  }
  function showColumn(choice) {
    var hidden = !!choice.hidden;
    var pinned = !!choice.pinned;
    $("conversation-body").hidden = hidden;
    $("conversation-hidden-note").hidden = !hidden;
    $("conversation-hide").setAttribute("aria-pressed", String(hidden));
    $("conversation-pin").setAttribute("aria-pressed", String(pinned));
    $("conversation-panel").classList.toggle("pinned", pinned);
    $("conversation-panel").classList.toggle("collapsed", hidden);
  }
  function setUpConversationColumn() {
    showColumn(columnChoice());
    ["hide", "pin"].forEach(function (what) {
      $("conversation-" + what).addEventListener("click", function () {
        var choice = columnChoice();
        var key = what === "hide" ? "hidden" : "pinned";
        choice[key] = this.getAttribute("aria-pressed") !== "true";
        rememberColumn(choice);
        showColumn(choice);
      });
    });
  }

  // Frames ----------------------------------------------------------------------------------------

  var handlers = {
    ready: function (f) {
      statusEl.textContent = "Connected";
      showError("");
      renderRoster(f.here || []);
      if (f.room) renderRoom(f.room);
      renderRound(f.round);
    },
    history: function (f) { f.messages.forEach(renderMessage); },
    message: function (f) { renderMessage(f.message); askRadarSoon(); },
    message_updated: function (f) { renderMessage(f.message); },
    ack: function (f) { stored(f.client_id); renderMessage(f.message); },
    presence: function (f) { renderRoster(f.here); askRadarSoon(); },
    room: function (f) { renderRoom(f.room); },
    round: function (f) { renderRound(f.round); },
    round_card: function (f) { if (state.round) renderCard(f.card); askRadarSoon(); },
    queue_item: function (f) { takeQueueItem(f.item); },
    crisis_alert: function (f) { takeQueueItem(f.alert); askRadarSoon(); },
    crisis_resources: showCrisisCard,
    session: function (f) { renderSession(f.session); },
    breathe: function (f) { renderBreathe(f.breathe); },
    radar: function (f) { renderRadar(f.members); },
    notice: function (f) { showError(""); showNotice(f.message); }
  };

  // How the socket is doing, in this page's words (what each close code means: socket.js).
  function connectionChanged(status, code) {
    clearInterval(radarTimer);
    if (status === "stopped") {
      statusEl.textContent = "Disconnected";
      showError(PERMANENT_CLOSE[code]);
    } else if (status === "waiting") {
      statusEl.textContent = "Waiting for a free connection…";
      showError("You have this group open in a lot of tabs or devices. Closing one you no longer need lets the console connect; we'll keep trying.");
    } else {
      statusEl.textContent = "Reconnecting…";
    }
  }

  // Controls ----------------------------------------------------------------------------------------

  $("session-open").addEventListener("click", function () { send({ type: "session", action: "open" }); });
  $("session-close").addEventListener("click", function () { send({ type: "session", action: "close" }); });
  $("lock-joins").addEventListener("click", function () {
    send({ type: "lock_joins", locked: this.getAttribute("aria-pressed") !== "true" });
  });
  ["round-checkin", "round-gratitude"].forEach(function (id) {
    $(id).addEventListener("click", function () { send({ type: "round_open", kind: this.dataset.kind }); });
  });
  $("round-close").addEventListener("click", function () {
    if (state.round) send({ type: "round_close", round_id: state.round.id });
  });
  $("circle-toggle").addEventListener("click", function () {
    send({ type: "circle", on: this.getAttribute("aria-pressed") !== "true" });
  });
  $("circle-next").addEventListener("click", function () { send({ type: "pass_floor" }); });
  $("slow-mode").addEventListener("change", function () {
    send({ type: "room_settings", slow_mode_seconds: Number(this.value) });
  });
  $("pause-toggle").addEventListener("click", function () {
    send({ type: "room_settings", paused: this.getAttribute("aria-pressed") !== "true" });
  });
  $("breathe-start").addEventListener("click", function () {
    send({ type: "breathe", seconds: Number($("breathe-seconds").value), prompt: $("breathe-prompt").value });
  });
  $("breathe-end").addEventListener("click", function () { send({ type: "breathe", seconds: 0 }); });
  $("console-composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var box = $("console-body");
    if (!box.value.trim() || pendingSend) return;  // one at a time: the one on its way goes first
    var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);
    pendingSend = { client_id: id, body: box.value };
    showError("");
    sendPending();
  });

  setUpConversationColumn();
  socket = window.SupportSocket.open({
    path: root.dataset.wsPath,
    handlers: handlers,
    holds: function (seq) { return state.seen.has(seq); },
    forget: forget,
    unacknowledged: function () { return pendingSend ? [pendingSend] : []; },
    resend: sendPending,
    onSendRefused: sendRefused,
    onStatus: connectionChanged,
    showError: showError
  });
})();
