// The member's side of a live session in the chat: the pause & breathe guide, a facilitator's private
// check-in, the "session is live" line, and "I'm here to listen today".
// Protocol: docs/protocol.md ("Facilitator console frames"). Loaded after chat.js, which exposes
// window.SupportCircleChat. No inline handlers: everything is wired here.
(function () {
  "use strict";

  var root = document.getElementById("chat");
  var chat = window.SupportCircleChat;
  if (!root || !chat) return;

  var form = document.getElementById("composer");
  var overlay = null;
  var tick = null;
  var ends = null;
  var returnFocus = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A polite line above the messages for the session and for what just changed.
  var banner = el("p", "session-banner");
  banner.id = "session-banner";
  banner.setAttribute("role", "status");
  banner.setAttribute("aria-live", "polite");
  banner.hidden = true;
  var list = document.getElementById("messages");
  // By the message box (templates/chat/room.html), where the eye is after sending.
  var noticeArea = document.getElementById("chat-notices") || list.parentNode;
  noticeArea.append(banner);

  // A fleeting line ("the chat is open again") clears itself once it is stale; others stay until replaced.
  var sayTimer = null;
  function say(text, fleeting) {
    clearTimeout(sayTimer);
    banner.textContent = text;
    banner.hidden = !text;
    if (fleeting) sayTimer = setTimeout(function () { say(""); }, 20000);
  }

  function secondsLeft(until) { return Math.max(0, Math.ceil((new Date(until) - Date.now()) / 1000)); }

  // Hide the guide (the breathing pause itself goes on until the server's `until`).
  function hideGuide() {
    clearInterval(tick);
    if (overlay) overlay.remove();
    overlay = null;
    setPageInert(false);
    var back = returnFocus;
    returnFocus = null;
    if (back && document.body.contains(back) && !back.disabled) back.focus();
    else if (document.getElementById("messages")) document.getElementById("messages").focus();
  }

  // While the guide is open, the page behind it is out of reach (the dialog is modal).
  function setPageInert(on) {
    Array.prototype.forEach.call(document.body.children, function (node) {
      if (node === overlay || node.tagName === "SCRIPT") return;
      if (on) node.setAttribute("inert", "");
      else node.removeAttribute("inert");
    });
  }

  // Posting rests during the pause: the box and its Send button are disabled (what is typed stays).
  function setPostingRests(on) {
    if (!form) return;
    var box = document.getElementById("composer-body");
    if (box) box.disabled = on;
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = on; });
    form.classList.toggle("resting", on);
  }

  // Leaving the guide (its button or Escape) hides it for this member only: the pause itself goes on,
  // posting still rests, and the chat opens again by itself when the facilitator's time is up.
  function leaveGuide(b) {
    hideGuide();
    var s = secondsLeft(b.until);
    say("We're still breathing together; the chat opens again by itself" + (s > 0 ? " in about " + s + " seconds." : "."));
  }

  function breathingEnded() {
    clearTimeout(ends);
    ends = null;
    hideGuide();
    setPostingRests(false);
    // A "you can post again in N seconds" refusal from the pause is over now.
    chat.showError("");
    say("The chat is open again. Thank you for breathing together.", true);
  }

  function trapFocus(event) {
    if (event.key === "Escape") { event.preventDefault(); overlay.leave(); return; }
    if (event.key !== "Tab") return;
    var focusable = overlay.querySelectorAll("button, a[href], [tabindex='0']");
    var first = focusable[0];
    var last = focusable[focusable.length - 1];
    if (!first) { event.preventDefault(); return; }
    if (event.shiftKey && (document.activeElement === first || !overlay.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !overlay.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  }

  function showBreathing(b) {
    var back = overlay ? returnFocus : document.activeElement;
    hideGuide();
    clearTimeout(ends);
    ends = setTimeout(breathingEnded, secondsLeft(b.until) * 1000);
    setPostingRests(true);
    returnFocus = back;
    overlay = el("div", "breathe-overlay");
    overlay.id = "breathe-overlay";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-labelledby", "breathe-heading");
    overlay.setAttribute("aria-describedby", "breathe-prompt");
    var card = el("div", "breathe-card");
    var heading = el("h2", "", "Let's pause and breathe");
    heading.id = "breathe-heading";
    heading.tabIndex = -1;
    var prompt = el("p", "breathe-prompt", b.prompt);
    prompt.id = "breathe-prompt";
    var circle = el("div", "breathe-circle");
    circle.setAttribute("aria-hidden", "true");
    var left = el("p", "breathe-left");
    var note = el("p", "help", "Posting rests until then and opens again by itself. You can hide this guide (Escape) and keep reading.");
    var close = el("button", "secondary", "Hide this guide");
    close.type = "button";
    overlay.leave = function () { leaveGuide(b); };
    close.addEventListener("click", overlay.leave);
    card.append(heading, prompt, circle, left, note, close);
    overlay.append(card);
    overlay.addEventListener("keydown", trapFocus);
    document.body.append(overlay);
    setPageInert(true);
    heading.focus();
    function update() {
      var s = secondsLeft(b.until);
      left.textContent = s > 0 ? "About " + s + " second" + (s === 1 ? "" : "s") + " left." : "";
    }
    update();
    tick = setInterval(update, 1000);
  }

  chat.handlers.breathe = function (f) {
    if (f.breathe.on) showBreathing(f.breathe);
    else if (ends) breathingEnded();
  };

  // A "you can post again in N seconds" refusal (the pause, slow mode) is over once N seconds have
  // passed: it goes then, even if it arrived after this page saw the pause end.
  var WAITS = { breathing: true, slow_mode: true, rate_limited: true };
  var baseError = chat.handlers.error;
  chat.handlers.error = function (f) {
    if (baseError) baseError(f);
    if (!WAITS[f.code] || !f.retry_after) return;
    var shown = f.message;
    setTimeout(function () {
      var errorEl = document.getElementById("chat-error");
      if (errorEl && errorEl.textContent === shown) chat.showError("");
    }, f.retry_after * 1000);
  };

  // When the facilitator opens a paused chat again, the "the chat is paused" refusal is over too.
  var baseRoom = chat.handlers.room;
  var wasPaused = false;
  chat.handlers.room = function (f) {
    if (baseRoom) baseRoom(f);
    if (wasPaused && !f.room.paused) chat.showError("");
    wasPaused = !!f.room.paused;
  };

  chat.handlers.session = function (f) {
    var s = f.session;
    if (s.live) say("The live session is on. Welcome; share or simply listen, whatever feels right.");
    else if (s.ended_at) say("The live session has ended. Thank you for being here.");
  };

  chat.handlers.care = function (f) {
    var box = el("section", "care-note");
    box.setAttribute("role", "status");
    box.setAttribute("aria-label", "A private message from " + f.from.pseudonym);
    box.append(el("strong", "", f.from.pseudonym + " (facilitator), just to you: "), el("span", "", f.message));
    var dismiss = el("button", "link-button", "Thank you, hide this");
    dismiss.type = "button";
    dismiss.addEventListener("click", function () { box.remove(); });
    box.append(" ", dismiss);
    noticeArea.append(box);
  };

  // "I'm here to listen today": the facilitators' radar will not worry about a quiet member.
  if (form) {
    var wrap = el("p", "listening-toggle");
    var box = el("input");
    box.type = "checkbox";
    box.id = "listening-today";
    var label = el("label", "inline", "I'm here to listen today");
    label.htmlFor = "listening-today";
    wrap.append(box, " ", label);
    form.parentNode.insertBefore(wrap, form.nextSibling);
    box.addEventListener("change", function () { chat.send({ type: "listening", on: box.checked }); });
  }

  var baseNotice = chat.handlers.notice;
  chat.handlers.notice = function (f) {
    if (f.code === "listening_noted" || f.code === "care_sent") { say(f.message); return; }
    if (baseNotice) baseNotice(f);
  };
})();
