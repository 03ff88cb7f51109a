// SupportCircle group chat client. No build step, no dependencies.
// Protocol: docs/protocol.md. Every message carries a per-group sequence
// number; the shared socket client (static/js/socket.js, loaded first) keeps the
// highest number we hold without a gap and asks the server for anything missing,
// on reconnect and while connected. This page draws, and keeps the outbox.
(function () {
  "use strict";

  var root = document.getElementById("chat");
  if (!root) return;

  // What this page says when the socket closes for good (the codes' meanings: static/js/socket.js).
  var PERMANENT_CLOSE = { 4401: "You've been logged out. Please log in again to rejoin the conversation.",
    4403: "This chat is for members of the group.",
    4404: "We couldn't find this group.",
    4409: "You're no longer a member of this group, so the chat has closed.",
    4410: "You can't take part in this group right now. If you think this is a mistake, please contact the facilitators." };

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
  list.querySelectorAll("li[data-seq]").forEach(function (li) { seen.add(Number(li.dataset.seq)); });

  // The group socket (static/js/socket.js): connecting, catching up and retrying live there.
  var socket = null;
  var outbox = loadOutbox();
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

  // The server lost its newest messages (a restored database, a failover): what it no longer has
  // goes, and socket.js counts from its number again.
  function forget(latest) {
    list.querySelectorAll("li[data-seq]").forEach(function (li) {
      if (Number(li.dataset.seq) > latest) li.remove();
    });
    Array.from(seen).forEach(function (seq) {
      if (seq > latest) { seen.delete(seq); delete messages[seq]; }
    });
  }

  function send(frame) { return socket.send(frame); }

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

  function outboxItem(clientId) {
    return outbox.find(function (item) { return item.client_id === clientId; });
  }

  function dropFromOutbox(clientId) {
    outbox = outbox.filter(function (item) { return item.client_id !== clientId; });
    saveOutbox();
    var pending = list.querySelector('li.pending[data-client-id="' + cssEscape(clientId) + '"]');
    if (pending) pending.remove();
  }

  function saveDraft() {
    try { localStorage.setItem(draftKey, textarea.value); } catch (e) { /* ignore */ }
  }

  // A send the server did not store: its words go back in the box (after anything typed since, so
  // nothing is lost however many come back), for the person to change or send again. Several refused
  // at once go back in the order they were written, whichever answer arrives first.
  var givenBack = [];  // [{id, body, ahead: client ids written before it}], while the box still ends with them
  function giveBack(clientId) {
    var position = outbox.findIndex(function (i) { return i.client_id === clientId; });
    var ahead = outbox.slice(0, Math.max(position, 0)).map(function (i) { return i.client_id; });
    var item = outboxItem(clientId);
    dropFromOutbox(clientId);
    if (!item || !textarea || textarea.value.indexOf(item.body) !== -1) return;
    var returned = givenBack.map(function (g) { return g.body; }).join("\n\n");
    var typed = textarea.value;
    if (returned && typed.slice(-returned.length) === returned) {
      typed = typed.slice(0, -returned.length);
      if (typed.slice(-2) === "\n\n") typed = typed.slice(0, -2);
    } else {
      givenBack = [];
    }
    var at = givenBack.findIndex(function (g) { return g.ahead.indexOf(clientId) !== -1; });
    givenBack.splice(at === -1 ? givenBack.length : at, 0, { id: clientId, body: item.body, ahead: ahead });
    returned = givenBack.map(function (g) { return g.body; }).join("\n\n");
    textarea.value = typed ? typed + "\n\n" + returned : returned;
    saveDraft();
  }

  // A send the server refused (socket.js retries a try_again once, by itself): the person hears why,
  // and anything else (server_error, rate_limited, too_long...) puts the words back in the box.
  function sendRefused(f, item, retrying) {
    if (!retrying) giveBack(f.ref);
    showError(f.message);
    if (retrying) retryNoteShown = true;  // cleared once every waiting send is stored
  }

  var handlers = {
    ready: function (f) {
      setStatus("Connected");
      showError("");
      if (form) form.hidden = !f.can_post;
    },
    notice: function (f) {
      showNotice(f);
      if (form && typeof f.can_post === "boolean") form.hidden = !f.can_post;
    },
    history: function (f) {
      // Catching up is not news: screen readers wait until the list settles.
      list.setAttribute("aria-busy", "true");
      var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
      f.messages.forEach(renderMessage);
      list.removeAttribute("aria-busy");
      if (atBottom) list.scrollTop = list.scrollHeight;
    },
    message: function (f) {
      renderMessage(f.message);
    },
    ack: function (f) {
      dropFromOutbox(f.client_id);
      if (retryNoteShown && !outbox.length) showError("");  // the "we'll send it again" note is over
      renderMessage(f.message);
    },
    message_updated: function (f) {
      if (seen.has(f.message.seq)) renderMessage(f.message);
    }
  };

  // How the socket is doing, in this page's words (what each close code means: socket.js).
  function connectionChanged(status, code) {
    if (status === "stopped") {
      setStatus("Disconnected");
      showError(PERMANENT_CLOSE[code]);
      if (form) form.hidden = true;
    } else if (status === "waiting") {
      setStatus("Waiting for a free connection…");
      showError("You have this chat open in a lot of tabs or devices. Closing one you no longer need lets this one connect; we'll keep trying.");
    } else {
      setStatus("Reconnecting… your messages are safe and will be sent when we're back.");
    }
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
    contiguous: function () { return socket.contiguous(); },
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
  // The socket opens once every script of the page has run (they are deferred, and DOMContentLoaded comes
  // after the last), so the welcome's frames find each page's handlers in place (session.js's breathe
  // guide for one: a slow fetch of a later script let them arrive first, and the guide was never shown).
  document.addEventListener("DOMContentLoaded", function () {
    socket = window.SupportSocket.open({
      path: root.dataset.wsPath,
      handlers: handlers,
      contiguous: Number(root.dataset.lastSeq) || 0,
      // Ask from a window below what we hold, so edits, removals, pins and reactions made while we
      // were away are refreshed along with the gap (docs/protocol.md); re-rendering is by seq.
      askFrom: function (held) { return Math.max(0, held - REFRESH_WINDOW); },
      holds: function (seq) { return seen.has(seq); },
      forget: forget,
      unacknowledged: function () { return outbox; },
      resend: sendItem,
      onSendRefused: sendRefused,
      onStatus: connectionChanged,
      showError: showError
    });
  });
})();
