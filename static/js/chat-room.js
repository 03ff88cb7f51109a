// SupportCircle chat: conversation features and the room's practices, on top of chat.js
// (window.SupportCircleChat). Replies, edits, removals, pins, reactions, typing, who is here now,
// the unread marker, slow mode and pause notices, the listening circle, and check-in and gratitude
// rounds. Protocol: docs/protocol.md. No inline handlers: everything is wired here.
(function () {
  "use strict";

  var root = document.getElementById("chat");
  var chat = window.SupportCircleChat;
  if (!root || !chat) return;

  var myId = chat.myId;
  var isFacilitator = root.dataset.role === "facilitator";
  var list = document.getElementById("messages");
  var textarea = document.getElementById("composer-body");
  var vocabulary = { reactions: {}, feelings: {}, needs: {} };
  var room = null;
  var currentRound = null;

  var el = chat.el;
  function button(label, onClick, className) {
    var b = el("button", { type: "button", text: label, className: className || "link-button" });
    b.addEventListener("click", onClick);
    return b;
  }
  function byId(id) { return document.getElementById(id); }

  // Chain a frame handler after what chat.js (and moderation.js) already do with it.
  function after(type, fn) {
    var base = chat.handlers[type];
    chat.handlers[type] = function (f) {
      if (base) base(f);
      fn(f);
    };
  }

  // --- Replies ------------------------------------------------------------------------------------

  var replyTo = null;
  var replyPreview = byId("reply-preview");
  var replyText = byId("reply-preview-text");
  var cwSelect = byId("composer-cw");

  function startReply(m) {
    if (!replyPreview) return;
    replyTo = m.seq;
    replyText.textContent = "Replying to " + m.author.pseudonym + ": " + m.body.slice(0, 80) + (m.body.length > 80 ? "…" : "");
    replyPreview.hidden = false;
    textarea.focus();
  }
  function cancelReply() {
    replyTo = null;
    if (replyPreview) replyPreview.hidden = true;
  }
  if (byId("reply-cancel")) byId("reply-cancel").addEventListener("click", function () { cancelReply(); textarea.focus(); });

  chat.composeExtras.push(function () {
    var extra = {};
    if (replyTo) extra.reply_to = replyTo;
    if (cwSelect && cwSelect.value) extra.content_warning = cwSelect.value;
    cancelReply();
    if (cwSelect) cwSelect.value = "";
    return extra;
  });

  // --- Controls on each message ---------------------------------------------------------------------

  function myReactionKinds(m) {
    return (m.reactions || []).filter(function (r) { return r.user.id === myId; }).map(function (r) { return r.kind; });
  }

  function reactionPicker(m, toggle) {
    var mine = myReactionKinds(m);
    var group = el("div", { className: "reaction-picker", role: "group", "aria-label": "React to " + m.author.pseudonym + "'s message" });
    Object.keys(vocabulary.reactions).forEach(function (kind) {
      var pressed = mine.indexOf(kind) >= 0;
      var b = button(vocabulary.reactions[kind], function () {
        chat.send({ type: "react", seq: m.seq, kind: kind, on: !pressed });
        group.remove();
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }, "reaction-button");
      b.setAttribute("aria-pressed", pressed ? "true" : "false");
      group.append(b);
    });
    closeOnEscape(group, toggle);
    return group;
  }

  // Escape closes the picker and gives focus back to its React button.
  function closeOnEscape(picker, toggle) {
    picker.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      event.preventDefault();
      picker.remove();
      toggle.setAttribute("aria-expanded", "false");
      toggle.focus();
    });
  }

  function editForm(li, m) {
    var id = "edit-" + m.seq;
    var area = el("textarea", { id: id, rows: "3", maxlength: root.dataset.maxBody || "4000" });
    area.value = m.body;
    var form = el("form", { className: "edit-form", "aria-label": "Edit your message" }, [
      el("label", { for: id, text: "Edit your message" }), area,
      el("div", { className: "button-row" }, [
        el("button", { type: "submit", text: "Save" }),
        button("Cancel", function () { form.remove(); li.querySelector(".message-actions button").focus(); }, "secondary")
      ])
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!area.value.trim()) { area.focus(); return; }
      chat.send({ type: "edit", seq: m.seq, body: area.value });
      form.remove();
    });
    return form;
  }

  function confirmRemoval(li, m, opener) {
    var box = el("div", { className: "confirm", role: "group", "aria-label": "Remove this message?" }, [
      el("p", { text: "Remove this message for everyone? The group will see that you removed it." }),
      el("div", { className: "button-row" }, [
        button("Remove it", function () { chat.send({ type: "delete", seq: m.seq }); box.remove(); }, ""),
        button("Keep it", function () { box.remove(); opener.focus(); }, "secondary")
      ])
    ]);
    return box;
  }

  chat.decorators.push(function (li, m) {
    if (m.state !== "visible") return;
    var bar = el("div", { className: "message-actions" });
    var who = m.author.pseudonym;
    var reply = button("Reply", function () { startReply(m); });
    reply.setAttribute("aria-label", "Reply to " + who);
    var react = button("React", function () {
      var open = li.querySelector(".reaction-picker");
      if (open) { open.remove(); react.setAttribute("aria-expanded", "false"); return; }
      var picker = reactionPicker(m, react);
      bar.after(picker);
      react.setAttribute("aria-expanded", "true");
      picker.querySelector("button").focus();
    });
    react.setAttribute("aria-expanded", "false");
    react.setAttribute("aria-label", "React to " + who + "'s message");
    bar.append(reply, react);
    if (m.author.id === myId) {
      var edit = button("Edit", function () {
        if (!li.querySelector(".edit-form")) { bar.after(editForm(li, m)); li.querySelector(".edit-form textarea").focus(); }
      });
      var remove = button("Remove", function () {
        if (!li.querySelector(".confirm")) { var box = confirmRemoval(li, m, remove); bar.after(box); box.querySelector("button").focus(); }
      });
      bar.append(edit, remove);
    }
    if (isFacilitator) {
      bar.append(button(m.pinned ? "Unpin" : "Pin", function () { chat.send({ type: "pin", seq: m.seq, pinned: !m.pinned }); }));
    }
    li.append(bar);
  });

  // --- Reactions, edits, pins arriving -----------------------------------------------------------------

  chat.handlers.reaction = function (f) {
    var m = chat.messages[f.seq];
    if (!m) return;
    var others = (m.reactions || []).filter(function (r) { return !(r.kind === f.kind && r.user.id === f.user.id); });
    if (f.on) others.push({ kind: f.kind, user: f.user });
    chat.render(Object.assign({}, m, { reactions: others }));
  };

  var pinnedSection = byId("pinned");
  var pinnedList = byId("pinned-list");
  function showPinned(m) {
    if (!pinnedList) return;
    var existing = pinnedList.querySelector('li[data-seq="' + m.seq + '"]');
    if (existing) existing.remove();
    if (m.pinned && m.state === "visible" && !m.collapsed) {
      pinnedList.append(el("li", { "data-seq": String(m.seq) }, [el("span", { className: "author", text: m.author.pseudonym }), ": " + m.body]));
    }
    pinnedSection.hidden = !pinnedList.children.length;
  }
  after("message_updated", function (f) { showPinned(f.message); });

  // --- Typing ----------------------------------------------------------------------------------------

  var typingEl = byId("typing");
  var typists = {};
  var typedAt = 0;
  function showTypists() {
    var names = Object.keys(typists).map(function (id) { return typists[id].name; });
    if (!names.length) typingEl.textContent = "";
    else if (names.length === 1) typingEl.textContent = names[0] + " is typing…";
    else typingEl.textContent = names.slice(0, -1).join(", ") + " and " + names[names.length - 1] + " are typing…";
  }
  chat.handlers.typing = function (f) {
    if (f.user.id === myId) return;
    var entry = typists[f.user.id];
    if (entry) clearTimeout(entry.timer);
    typists[f.user.id] = {
      name: f.user.pseudonym,
      timer: setTimeout(function () { delete typists[f.user.id]; showTypists(); }, 5000)
    };
    showTypists();
  };
  after("message", function (f) {
    var entry = typists[f.message.author.id];
    if (entry) { clearTimeout(entry.timer); delete typists[f.message.author.id]; showTypists(); }
  });
  if (textarea) {
    textarea.addEventListener("input", function () {
      var now = Date.now();
      if (now - typedAt < 3000 || !textarea.value.trim()) return;
      typedAt = now;
      chat.send({ type: "typing" });
    });
  }

  // --- Here now ----------------------------------------------------------------------------------------

  var hereList = byId("here-now");
  function showHere(people) {
    hereList.replaceChildren();
    people.forEach(function (person) {
      var label = person.pseudonym + (person.id === myId ? " (you)" : "") + (person.role === "facilitator" ? ", facilitator" : "");
      hereList.append(el("li", { text: label }));
    });
  }
  chat.handlers.presence = function (f) { showHere(f.here); };

  // --- Unread marker: tell the server how far this member has read, while the page is in view ----------

  var readTimer = null;
  var lastReadSent = Number(root.dataset.lastRead) || 0;
  function noteRead() {
    if (readTimer || document.visibilityState !== "visible") return;
    readTimer = setTimeout(function () {
      readTimer = null;
      var seq = chat.contiguous();
      if (seq > lastReadSent && chat.send({ type: "read", seq: seq })) lastReadSent = seq;
    }, 2000);
  }
  document.addEventListener("visibilitychange", noteRead);
  after("history", noteRead);
  after("message", noteRead);

  // --- The room: slow mode, pause, listening circle ----------------------------------------------------

  var notice = byId("room-notice");
  function roomNotice(r) {
    if (r.paused) return "The facilitator has paused the chat for a moment, perhaps for a grounding exercise. Only facilitators post until it opens again; you can still read and react.";
    if (r.circle.on) return "A listening circle is on: one person holds the floor and everyone else listens. You can react, or raise your hand to share next.";
    if (r.slow_mode_seconds) return "Slow mode is on: each of us posts at most once every " + r.slow_mode_seconds + " seconds, so there is room to read and breathe.";
    return "";
  }

  function showRoom(r) {
    room = r;
    var text = roomNotice(r);
    notice.textContent = text;
    notice.hidden = !text;
    var circle = r.circle;
    byId("circle-panel").hidden = !circle.on;
    byId("circle-floor").textContent = circle.floor_holder
      ? (circle.floor_holder.id === myId ? "You hold the floor. Take your time; everyone is listening." : circle.floor_holder.pseudonym + " holds the floor. Everyone else is listening.")
      : "The floor is open: raise your hand to share next.";
    byId("circle-hands").textContent = circle.raised_hands.length
      ? "Hands raised, in order: " + circle.raised_hands.map(function (p) { return p.pseudonym; }).join(", ")
      : "No hands raised yet.";
    var raised = circle.raised_hands.some(function (p) { return p.id === myId; });
    var holding = circle.floor_holder && circle.floor_holder.id === myId;
    var raise = byId("raise-hand");
    raise.setAttribute("aria-pressed", raised ? "true" : "false");
    raise.textContent = raised ? "Lower my hand" : "Raise my hand";
    raise.hidden = holding;
    byId("pass-floor").hidden = !holding;
    if (isFacilitator) {
      var pause = byId("toggle-pause");
      pause.setAttribute("aria-pressed", r.paused ? "true" : "false");
      pause.textContent = r.paused ? "Open the chat again" : "Pause the chat (only facilitators post)";
      var circleToggle = byId("toggle-circle");
      circleToggle.setAttribute("aria-pressed", circle.on ? "true" : "false");
      circleToggle.textContent = circle.on ? "End the listening circle" : "Start a listening circle";
      byId("pass-next").hidden = !circle.on;
      byId("slow-mode").value = String(r.slow_mode_seconds);
    }
  }
  chat.handlers.room = function (f) { showRoom(f.room); };

  byId("raise-hand").addEventListener("click", function () {
    var raised = room && room.circle.raised_hands.some(function (p) { return p.id === myId; });
    chat.send({ type: "raise_hand", raised: !raised });
  });
  byId("pass-floor").addEventListener("click", function () { chat.send({ type: "pass_floor" }); });

  if (isFacilitator) {
    byId("toggle-pause").addEventListener("click", function () { chat.send({ type: "room_settings", paused: !(room && room.paused) }); });
    byId("toggle-circle").addEventListener("click", function () { chat.send({ type: "circle", on: !(room && room.circle.on) }); });
    byId("pass-next").addEventListener("click", function () { chat.send({ type: "pass_floor" }); });
    byId("slow-mode").addEventListener("change", function (event) {
      chat.send({ type: "room_settings", slow_mode_seconds: Number(event.target.value) });
    });
    byId("open-checkin").addEventListener("click", function () { chat.send({ type: "round_open", kind: "checkin" }); });
    byId("open-gratitude").addEventListener("click", function () { chat.send({ type: "round_open", kind: "gratitude" }); });
    byId("close-round").addEventListener("click", function () {
      if (currentRound) chat.send({ type: "round_close", round_id: currentRound.id });
    });
  }

  // --- Check-in and gratitude rounds --------------------------------------------------------------------

  var roundPanel = byId("round-panel");
  var roundForm = byId("round-form");
  var cardsList = byId("round-cards");
  var summaryEl = byId("round-summary");

  function lower(label) { return label ? label.charAt(0).toLowerCase() + label.slice(1) : ""; }

  function showCard(card) {
    var existing = cardsList.querySelector('li[data-user="' + card.user.id + '"]');
    var feelings = card.feelings.map(function (k) { return lower(vocabulary.feelings[k] || k); }).join(", ");
    var text = "";
    if (feelings) text += " feels " + feelings;
    if (card.need) text += "; needs " + lower(vocabulary.needs[card.need] || card.need);
    if (card.gratitude) text += ": grateful for " + card.gratitude;
    var li = el("li", { className: "round-card", "data-user": String(card.user.id) }, [
      el("span", { className: "author", text: card.user.pseudonym }), text,
      card.note ? el("p", { className: "card-note", text: card.note }) : null
    ]);
    if (existing) existing.replaceWith(li); else cardsList.append(li);
  }

  function showSummary(summary) {
    var parts = ["Round closed. " + summary.answers + (summary.answers === 1 ? " person" : " people") + " answered."];
    var feelings = Object.keys(summary.feelings).map(function (k) { return lower(vocabulary.feelings[k] || k) + " (" + summary.feelings[k] + ")"; });
    var needs = Object.keys(summary.needs).map(function (k) { return lower(vocabulary.needs[k] || k) + " (" + summary.needs[k] + ")"; });
    if (feelings.length) parts.push("Feelings: " + feelings.join(", ") + ".");
    if (needs.length) parts.push("Needs: " + needs.join(", ") + ".");
    summaryEl.textContent = parts.join(" ");
    summaryEl.append(" ", button("Hide this summary", function () {
      roundPanel.hidden = true;
      if (textarea) textarea.focus();
    }));
    summaryEl.hidden = false;
  }

  // A round that opens while the page is open is said aloud, and focus goes to it unless the person is
  // in the middle of writing (their words and place in the box come first).
  function announceRound(r) {
    var label = r.kind === "gratitude" ? "A gratitude round" : "A check-in round";
    announce(label + " has opened. Your answer, if you'd like to give one, is in the round panel.");
    var active = document.activeElement;
    var writing = active && (active.tagName === "TEXTAREA" || active.tagName === "INPUT") && active.value;
    if (!writing) byId("round-title").focus();
  }

  // A closed round goes away for members; the facilitator keeps its summary until they hide it.
  function roundClosed(r) {
    var hadFocus = roundPanel.contains(document.activeElement);
    roundPanel.hidden = !r.summary;
    if (hadFocus && textarea && !textarea.disabled) textarea.focus();
  }

  function announce(text) {
    var live = byId("chat-announcer");
    if (live) live.textContent = text;
  }

  function showRound(r, fromReady) {
    var opened = r && r.open && (!currentRound || currentRound.id !== r.id) && !fromReady;
    currentRound = r && r.open ? r : null;
    if (isFacilitator) byId("close-round").hidden = !currentRound;
    if (!r) { roundPanel.hidden = true; return; }
    roundPanel.hidden = false;
    roundPanel.dataset.roundId = String(r.id);
    byId("round-title").textContent = (r.kind === "gratitude" ? "Gratitude round" : "Check-in round") + (r.open ? "" : " (closed)");
    byId("round-prompts").replaceChildren.apply(byId("round-prompts"), r.prompts.map(function (p) { return el("li", { text: p }); }));
    roundForm.hidden = !r.open;
    roundForm.querySelectorAll(".checkin-only").forEach(function (n) { n.hidden = r.kind !== "checkin"; });
    roundForm.querySelectorAll(".gratitude-only").forEach(function (n) { n.hidden = r.kind !== "gratitude"; });
    if (r.open) {
      summaryEl.hidden = true;
      if (fromReady || Number(cardsList.dataset.roundId) !== r.id) cardsList.replaceChildren();
      cardsList.dataset.roundId = String(r.id);
      (r.cards || []).forEach(showCard);
    }
    if (r.summary) showSummary(r.summary);
    if (!r.open) roundClosed(r);
    else if (opened) announceRound(r);
  }
  chat.handlers.round = function (f) { showRound(f.round, false); };
  chat.handlers.round_card = function (f) {
    if (currentRound && f.card.round_id === currentRound.id) showCard(f.card);
  };

  roundForm.addEventListener("change", function (event) {
    // At most three feelings: further boxes wait until one is unticked.
    if (event.target.name !== "feelings") return;
    var ticked = roundForm.querySelectorAll('input[name="feelings"]:checked').length;
    roundForm.querySelectorAll('input[name="feelings"]').forEach(function (box) { box.disabled = !box.checked && ticked >= 3; });
  });
  roundForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!currentRound) return;
    var frame = { type: "round_answer", round_id: currentRound.id };
    if (currentRound.kind === "checkin") {
      frame.feelings = Array.prototype.map.call(roundForm.querySelectorAll('input[name="feelings"]:checked'), function (b) { return b.value; });
      if (!frame.feelings.length) { chat.showError("Choose at least one feeling, whatever is closest right now."); return; }
      frame.need = byId("round-need").value;
      frame.note = byId("round-note").value;
    } else {
      frame.gratitude = byId("round-gratitude").value.trim();
      if (!frame.gratitude) { chat.showError("Write one thing, however small, that you're grateful for."); byId("round-gratitude").focus(); return; }
    }
    chat.showError("");
    chat.send(frame);
  });

  // --- What the server says on connect ------------------------------------------------------------------

  after("ready", function (f) {
    vocabulary = f.vocabulary || vocabulary;
    showHere(f.here || []);
    if (f.room) showRoom(f.room);
    showRound(f.round, true);
    if (pinnedList) {
      pinnedList.replaceChildren();
      (f.pinned || []).forEach(showPinned);
      pinnedSection.hidden = !pinnedList.children.length;
    }
  });
})();
