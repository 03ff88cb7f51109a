// SupportCircle group chat client. No build step, no dependencies.
// Protocol: docs/protocol.md. Every message carries a per-group sequence
// number; we keep the highest number we hold without a gap ("contiguous") and
// ask the server for anything missing, on reconnect and while connected.
(function () {
  "use strict";

  var root = document.getElementById("chat");
  if (!root) return;

  var PERMANENT_CLOSE = { 4401: "You've been logged out. Please log in again to rejoin the conversation.",
    4403: "This chat is for members of the group.",
    4404: "We couldn't find this group.",
    4409: "You're no longer a member of this group, so the chat has closed.",
    4410: "You can't take part in this group right now. If you think this is a mistake, please contact the facilitators." };
  // Too many sockets for this person: say so, and try again slowly (tabs of a crashed server stop counting after a minute).
  var TOO_MANY_SOCKETS = 4429;

  var groupSlug = root.dataset.group;
  var myId = Number(root.dataset.me);
  var list = document.getElementById("messages");
  var statusEl = document.getElementById("connection-status");
  var errorEl = document.getElementById("chat-error");
  var form = document.getElementById("composer");
  var textarea = document.getElementById("composer-body");
  var draftKey = "sc-draft:" + groupSlug;
  var outboxKey = "sc-outbox:" + groupSlug;

  var REFRESH_WINDOW = 50;
  var seen = new Set();
  var contiguous = Number(root.dataset.lastSeq) || 0;
  list.querySelectorAll("li[data-seq]").forEach(function (li) { seen.add(Number(li.dataset.seq)); });

  var socket = null;
  var attempt = 0;
  var backfillPending = false;
  var pingTimer = null;
  var stopped = false;
  var outbox = loadOutbox();
  // Frames the server refused with try_again, each waiting its retry_after: "send:<client_id>",
  // "backfill", "ping". One timer per refused frame, never one per refusal for the whole outbox.
  var retryTimers = {};
  var retryNoteShown = false;

  function loadOutbox() {
    try { return JSON.parse(localStorage.getItem(outboxKey) || "[]"); } catch (e) { return []; }
  }
  function saveOutbox() {
    try { localStorage.setItem(outboxKey, JSON.stringify(outbox)); } catch (e) { /* storage full or blocked */ }
  }
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function setStatus(text) { statusEl.textContent = text; }
  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = !text;
    retryNoteShown = false;
  }

  function timeLabel(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // The newest state of every message we show, by seq (static/js/chat-room.js reads it).
  var messages = {};
  // Functions (li, message) that add controls to a rendered message (chat-room.js: reply, edit, react...).
  var decorators = [];
  var composeExtras = [];

  // Render a message, or re-render it when its state changed (an edit, a removal, a pin, a
  // reaction, or a reconnect refreshing the window): one <li> per seq, always.
  function renderMessage(m) {
    var existing = seen.has(m.seq) ? list.querySelector('li[data-seq="' + m.seq + '"]') : null;
    var sig = JSON.stringify(m);
    if (seen.has(m.seq) && (!existing || existing.dataset.sig === sig)) return;
    seen.add(m.seq);
    messages[m.seq] = m;
    var empty = document.getElementById("empty-note");
    if (empty) empty.remove();
    var li = document.createElement("li");
    li.className = "message" + (m.author.id === myId ? " mine" : "") + (m.pinned ? " pinned" : "");
    li.dataset.seq = String(m.seq);
    li.dataset.sig = sig;
    var author = document.createElement("span");
    author.className = "author";
    author.textContent = m.author.pseudonym;
    var time = document.createElement("time");
    time.dateTime = m.created_at;
    time.textContent = timeLabel(m.created_at);
    var body = document.createElement("p");
    body.className = "body";
    if (m.state === "visible" || m.state === "held") {
      body.textContent = m.body;
    } else {
      var em = document.createElement("em");
      em.textContent = m.state === "removed_under_agreement"
        ? "Removed under agreement " + m.removed_agreement + "."
        : "Message removed by its author.";
      body.appendChild(em);
    }
    li.append(author);
    if (m.author.heard_only) li.append(" ", heardOnlyTag());
    li.append(" ", time);
    if (m.pinned) li.append(" ", tag("pinned-tag", "Pinned"));
    if (m.edited_at && m.state === "visible") li.append(" ", tag("edited-tag", "edited"));
    if (m.content_warning && !m.collapsed && m.state === "visible") {
      li.append(" ", tag("cw-tag", "Content warning: " + (COLLAPSE_LABELS[m.content_warning] || m.content_warning)));
    }
    if (m.reply_to) li.append(quote(m.reply_to));
    li.append(m.collapsed ? collapsedBody(m, body) : body);
    if (m.reactions && m.reactions.length) li.append(reactionLine(m.reactions));
    decorators.forEach(function (decorate) { decorate(li, m); });
    // A reader at the newest message stays there as messages arrive or grow.
    var nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    if (existing) {
      existing.replaceWith(li);
    } else {
      // Keep the list in sequence order even when a backfill fills a gap late.
      var after = null;
      var items = list.querySelectorAll("li[data-seq]");
      for (var i = items.length - 1; i >= 0; i--) {
        if (Number(items[i].dataset.seq) < m.seq) { after = items[i]; break; }
      }
      if (after) after.after(li); else list.prepend(li);
    }
    if (nearBottom) list.scrollTop = list.scrollHeight;
  }

  function tag(className, text) {
    var span = document.createElement("span");
    span.className = "tag " + className;
    span.textContent = text;
    return span;
  }
  function quote(q) {
    var bq = document.createElement("blockquote");
    bq.className = "quote";
    var who = document.createElement("span");
    who.className = "quote-author";
    if (q.withheld) {
      // The quoted words are ones this person chose not to see; the server left them out.
      who.textContent = "Replying to a message hidden for you";
      bq.append(who);
      return bq;
    }
    who.textContent = "Replying to " + (q.author.pseudonym || "a former member") + ": ";
    bq.append(who, q.state === "visible" ? q.excerpt : "(message removed)");
    return bq;
  }
  // Who reacted, by name, never a count (docs/protocol.md "Reactions").
  var REACTION_LABELS = { i_hear_you: "I hear you", me_too: "Me too", sending_care: "Sending care",
    proud_of_you: "Proud of you", thank_you_for_sharing: "Thank you for sharing" };
  function reactionLine(reactions) {
    var byKind = {};
    reactions.forEach(function (r) { (byKind[r.kind] = byKind[r.kind] || []).push(r.user.pseudonym); });
    var ul = document.createElement("ul");
    ul.className = "reactions";
    ul.setAttribute("aria-label", "Reactions");
    Object.keys(REACTION_LABELS).forEach(function (kind) {
      if (!byKind[kind]) return;
      var li = document.createElement("li");
      li.textContent = REACTION_LABELS[kind] + ": " + byKind[kind].join(", ");
      ul.append(li);
    });
    return ul;
  }

  // Personal boundaries (docs/protocol.md): the server marks what arrives collapsed for this person.
  var COLLAPSE_LABELS = { food: "food", body: "bodies and appearance", self_harm: "self-harm",
    trauma_details: "details of trauma", substances: "alcohol and drugs", suicide: "suicide" };
  function heardOnlyTag() {
    var tag = document.createElement("span");
    tag.className = "heard-only";
    tag.textContent = "here to be heard, not advised";
    return tag;
  }
  function collapsedBody(m, body) {
    var details = document.createElement("details");
    details.className = "collapsed";
    var summary = document.createElement("summary");
    summary.textContent = m.collapsed.reason === "muted"
      ? "Collapsed because you muted " + m.author.pseudonym + ". Show message"
      : "Content warning: " + (COLLAPSE_LABELS[m.collapsed.label] || m.collapsed.label) + ". Show message";
    details.append(summary, body);
    return details;
  }
  function showNotice(f) {
    var el = document.getElementById("cannot-post") || document.createElement("p");
    if (!el.id) {
      el.id = "cannot-post";
      el.className = "notice";
      el.setAttribute("role", "status");
      noticeArea().append(el);
    }
    el.textContent = f.message + " ";
    if (f.link) {
      var a = document.createElement("a");
      a.href = f.link;
      a.textContent = "Read the agreements";
      el.append(a);
    }
  }

  // Notices go by the message box (templates/chat/room.html), where the eye is after sending.
  function noticeArea() { return document.getElementById("chat-notices") || list.parentNode; }

  function cssEscape(s) { return (window.CSS && CSS.escape) ? CSS.escape(s) : s.replace(/"/g, '\\"'); }

  function advanceContiguous() {
    while (seen.has(contiguous + 1)) contiguous++;
  }

  function requestBackfill() {
    if (backfillPending || !socket || socket.readyState !== WebSocket.OPEN) return;
    backfillPending = true;
    send({ type: "backfill", after_seq: contiguous });
  }

  function ping() { send({ type: "ping" }); }

  // The server's newest seq is below what we hold without a gap: it lost its newest messages (a
  // database restored from a backup, a failover). What it no longer has goes, and we count from its
  // number again, so what it sends next under those numbers is shown and gaps are asked for.
  function resyncTo(latest) {
    list.querySelectorAll("li[data-seq]").forEach(function (li) {
      if (Number(li.dataset.seq) > latest) li.remove();
    });
    Array.from(seen).forEach(function (seq) {
      if (seq > latest) { seen.delete(seq); delete messages[seq]; }
    });
    contiguous = latest;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function renderPending(item) {
    var li = document.createElement("li");
    li.className = "message mine pending";
    li.dataset.clientId = item.client_id;
    var author = document.createElement("span");
    author.className = "author";
    author.textContent = "You";
    var note = document.createElement("span");
    note.className = "sending";
    note.textContent = "sending…";
    var body = document.createElement("p");
    body.className = "body";
    body.textContent = item.body;
    li.append(author, " ", note, body);
    list.append(li);
  }

  function sendItem(item) {
    // An item may carry more than its words (post_anyway after a moderation nudge).
    return send(Object.assign({ type: "send" }, item));
  }

  // After (re)connecting: every unacknowledged send once, with its own client_id (stored once).
  function resendOutbox() {
    outbox.forEach(function (item) { cancelRetry("send:" + item.client_id); sendItem(item); });
  }

  function outboxItem(clientId) {
    return outbox.find(function (item) { return item.client_id === clientId; });
  }

  function dropFromOutbox(clientId) {
    cancelRetry("send:" + clientId);
    outbox = outbox.filter(function (item) { return item.client_id !== clientId; });
    saveOutbox();
    var pending = list.querySelector('li.pending[data-client-id="' + cssEscape(clientId) + '"]');
    if (pending) pending.remove();
  }

  function saveDraft() {
    try { localStorage.setItem(draftKey, textarea.value); } catch (e) { /* ignore */ }
  }

  // A send the server did not store: its words go back in the box (after anything typed since, so
  // nothing is lost however many come back), for the person to change or send again.
  function giveBack(clientId) {
    var item = outboxItem(clientId);
    dropFromOutbox(clientId);
    if (!item || !textarea || textarea.value.indexOf(item.body) !== -1) return;
    textarea.value = textarea.value ? textarea.value + "\n\n" + item.body : item.body;
    saveDraft();
  }

  // Retrying what the server refused for now (try_again, docs/protocol.md) ------------------------

  function retryLater(key, seconds, retry) {
    clearTimeout(retryTimers[key]);
    retryTimers[key] = setTimeout(function () { delete retryTimers[key]; retry(); }, seconds * 1000);
  }
  function cancelRetry(key) {
    clearTimeout(retryTimers[key]);
    delete retryTimers[key];
  }
  function cancelAllRetries() {
    Object.keys(retryTimers).forEach(cancelRetry);
  }

  // The frame the server could not carry out just now is sent again once, after retry_after: a send
  // by its client_id (if still unacknowledged), a backfill or ping as it would be asked now. Typing
  // and read markers are momentary, and the next keystroke or message sends another.
  function retryRefused(f, type) {
    var wait = f.retry_after || 2;
    if (type === "send") {
      if (!outboxItem(f.ref)) return;
      retryLater("send:" + f.ref, wait, function () {
        var item = outboxItem(f.ref);
        if (item) sendItem(item);
      });
      showError(f.message);
      retryNoteShown = true;  // cleared once every waiting send is stored
    } else if (type === "backfill") {
      retryLater("backfill", wait, requestBackfill);
    } else if (type === "ping") {
      retryLater("ping", wait, ping);
    } else if (type !== "typing" && type !== "read") {
      showError("We couldn't do that just now, so nothing changed. Please try again in a moment.");
    }
  }

  // Frames the page sends by itself: a refusal of one is not the person's to hear about.
  var BACKGROUND_FRAMES = { backfill: true, ping: true, typing: true, read: true };

  function refused(f) {
    var type = f.frame || (f.ref ? "send" : "");
    // Whatever answered it, a backfill is no longer on its way: the next gap may ask again.
    if (type === "backfill") backfillPending = false;
    if (f.code === "try_again") {
      retryRefused(f, type);
    } else if (!BACKGROUND_FRAMES[type]) {
      // Anything else (server_error, rate_limited, too_long...) is not sent again by itself: the
      // words go back in the box, and the person hears why.
      if (f.ref) giveBack(f.ref);
      showError(f.message);
    }
  }

  var handlers = {
    ready: function (f) {
      attempt = 0;
      setStatus("Connected");
      showError("");
      if (form) form.hidden = !f.can_post;
      if (f.latest_seq < contiguous) resyncTo(f.latest_seq);
      resendOutbox();
    },
    notice: function (f) {
      showNotice(f);
      if (form && typeof f.can_post === "boolean") form.hidden = !f.can_post;
    },
    history: function (f) {
      backfillPending = false;
      cancelRetry("backfill");
      // The server's newest is below what we hold: count from its number (see resyncTo).
      if (!f.more && f.through_seq < contiguous) resyncTo(f.through_seq);
      // Catching up is not news: screen readers wait until the list settles.
      list.setAttribute("aria-busy", "true");
      var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      f.messages.forEach(renderMessage);
      list.removeAttribute("aria-busy");
      if (atBottom) list.scrollTop = list.scrollHeight;
      // The server covered everything through through_seq, including any
      // message it withheld from us, so there is no gap below it.
      if (f.through_seq > contiguous) contiguous = f.through_seq;
      advanceContiguous();
      if (f.more) requestBackfill();
    },
    message: function (f) {
      renderMessage(f.message);
      advanceContiguous();
      // Still above the gap-free run after adding it: something before it is missing.
      if (f.message.seq > contiguous) requestBackfill();
    },
    ack: function (f) {
      dropFromOutbox(f.client_id);
      if (retryNoteShown && !outbox.length) showError("");  // the "we'll send it again" note is over
      renderMessage(f.message);
      advanceContiguous();
      if (f.message.seq > contiguous) requestBackfill();
    },
    message_updated: function (f) {
      if (seen.has(f.message.seq)) renderMessage(f.message);
    },
    pong: function (f) {
      cancelRetry("ping");
      if (f.latest_seq < contiguous) resyncTo(f.latest_seq);
      if (f.latest_seq > contiguous) requestBackfill();
    },
    error: refused
  };

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    // Ask from a window below what we hold, so edits, removals, pins and reactions made while we
    // were away are refreshed along with the gap (docs/protocol.md); re-rendering is by seq.
    var from = Math.max(0, contiguous - REFRESH_WINDOW);
    socket = new WebSocket(scheme + location.host + root.dataset.wsPath + "?last_seq=" + from);
    backfillPending = false;
    cancelAllRetries();  // what waits to be retried is asked afresh once the new socket is ready
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      var handler = handlers[frame.type];
      if (handler) handler(frame);
    };
    socket.onopen = function () {
      clearInterval(pingTimer);
      pingTimer = setInterval(ping, 20000);
    };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      if (PERMANENT_CLOSE[event.code]) {
        stopped = true;
        setStatus("Disconnected");
        showError(PERMANENT_CLOSE[event.code]);
        if (form) form.hidden = true;
        return;
      }
      if (stopped) return;
      if (event.code === TOO_MANY_SOCKETS) {
        setStatus("Waiting for a free connection…");
        showError("You have this chat open in a lot of tabs or devices. Closing one you no longer need lets this one connect; we'll keep trying.");
        setTimeout(connect, 30000 + Math.round(Math.random() * 10000));
        return;
      }
      attempt += 1;
      // Exponential backoff with jitter, so a restarted server is not stampeded.
      var base = Math.min(30000, 500 * Math.pow(2, attempt));
      var delay = Math.round(base * (0.5 + Math.random()));
      setStatus("Reconnecting… your messages are safe and will be sent when we're back.");
      setTimeout(connect, delay);
    };
  }

  if (form && textarea) {
    textarea.value = localStorage.getItem(draftKey) || "";
    textarea.addEventListener("input", saveDraft);
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = textarea.value;
      if (!body.trim()) return;
      var item = { client_id: newClientId(), body: body };
      // chat-room.js adds reply_to and content_warning when the member chose them.
      composeExtras.forEach(function (extra) { Object.assign(item, extra()); });
      outbox.push(item);
      saveOutbox();
      renderPending(item);
      textarea.value = "";
      localStorage.removeItem(draftKey);
      showError("");
      sendItem(item);
    });
    outbox.forEach(renderPending);
  }

  // For static/js/moderation.js: add frame handlers, send frames, take back or post an outbox item.
  // Build an element: props "text" and "className" as such, any other as an attribute.
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "text") node.textContent = props[key];
      else if (key === "className") node.className = props[key];
      else node.setAttribute(key, props[key]);
    });
    (children || []).forEach(function (child) { if (child !== null && child !== undefined) node.append(child); });
    return node;
  }

  window.SupportCircleChat = {
    handlers: handlers,
    send: send,
    el: el,
    messages: messages,
    decorators: decorators,
    composeExtras: composeExtras,
    render: renderMessage,
    myId: myId,
    showError: showError,
    contiguous: function () { return contiguous; },
    withdraw: function (clientId) {
      var item = outbox.find(function (i) { return i.client_id === clientId; });
      dropFromOutbox(clientId);
      return item;
    },
    post: function (item) {
      outbox.push(item);
      saveOutbox();
      renderPending(item);
      sendItem(item);
    }
  };

  list.scrollTop = list.scrollHeight;
  connect();
})();
