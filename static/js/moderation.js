// SupportCircle moderation in the chat: the private nudge under the composer, the crisis card,
// a report button on each message, moderation notices, and the facilitators' live queue.
// Protocol: docs/protocol.md ("Moderation frames"). Loaded after chat.js, which exposes
// window.SupportCircleChat. No inline handlers: everything is wired here.
(function () {
  "use strict";

  var root = document.getElementById("chat");
  var chat = window.SupportCircleChat;
  if (!root || !chat) return;

  var list = document.getElementById("messages");
  // Notices and the crisis card sit by the message box (templates/chat/room.html), not above the messages.
  var noticeArea = document.getElementById("chat-notices") || list.parentNode;
  var form = document.getElementById("composer");
  var textarea = document.getElementById("composer-body");
  var myId = Number(root.dataset.me);
  var isFacilitator = root.dataset.role === "facilitator";
  var reasons = [];
  try { reasons = JSON.parse(root.dataset.reportReasons || "[]"); } catch (e) { reasons = []; }

  var el = chat.el;

  function button(label, onClick, className) {
    var b = el("button", { type: "button", text: label, className: className || "" });
    b.addEventListener("click", onClick);
    return b;
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  // --- Nudge: before the message goes to the group, only its author sees why --------------------

  var nudgePanel = null;

  function closeNudge() {
    if (nudgePanel) nudgePanel.remove();
    nudgePanel = null;
  }

  function showNudge(f) {
    var item = chat.withdraw(f.ref) || { client_id: f.ref, body: "" };
    closeNudge();
    var heading = el("h2", { id: "nudge-heading", tabindex: "-1", text: "Before this goes to the group" });
    var agreement = f.agreement && f.agreement.number
      ? "Agreement " + f.agreement.number + ": " + f.agreement.text
      : (f.agreement ? f.agreement.text : "");
    var parts = [
      heading,
      el("p", { text: f.message }),
      agreement ? el("p", { className: "agreement", text: agreement }) : null,
      f.reason ? el("p", { className: "help", text: "Why we have it: " + f.reason }) : null
    ];
    if (f.suggestion) {
      parts.push(el("p", { text: "One way to say it:" }));
      parts.push(el("blockquote", { className: "suggestion", text: f.suggestion }));
    }
    var actions = el("div", { className: "button-row" });
    if (f.suggestion) {
      actions.append(button("Use this wording", function () {
        textarea.value = f.suggestion;
        closeNudge();
        textarea.focus();
      }));
    }
    actions.append(button("Edit my message", function () {
      textarea.value = item.body;
      closeNudge();
      textarea.focus();
    }, "secondary"));
    actions.append(button("Post anyway", function () {
      closeNudge();
      if (textarea.value === item.body) textarea.value = "";
      // The same item (a reply keeps its reply_to, a content warning stays), now posted as it is.
      chat.post(Object.assign({}, item, { client_id: item.client_id || newClientId(), post_anyway: true }));
      textarea.focus();
    }, "secondary"));
    parts.push(actions);
    nudgePanel = el("section", { className: "nudge", "aria-labelledby": "nudge-heading" }, parts);
    form.after(nudgePanel);
    // Keep their words safe in the box too, in case they close the page.
    if (textarea && !textarea.value) textarea.value = item.body;
    heading.focus();
  }

  // --- Crisis: a warm card with resources, focus moved to it, dismissible ------------------------

  function showCrisisCard(f) {
    var old = document.getElementById("crisis-card");
    if (old) old.remove();
    var heading = el("h2", { id: "crisis-heading", tabindex: "-1", text: f.title });
    var items = (f.resources || []).map(function (r) {
      var name = r.url
        ? el("a", { href: r.url, target: "_blank", rel: "noopener noreferrer", text: r.name })
        : el("strong", { text: r.name });
      return el("li", {}, [name, r.detail ? el("p", { text: r.detail }) : null]);
    });
    var card;
    var close = button("Close this card", function () {
      card.remove();
      if (textarea) textarea.focus();
    }, "secondary");
    var exit = null;
    if (f.quick_exit) {
      // Danger at home: leave the site at once (quick_exit.js replaces this page in the tab's history).
      exit = button("Quick exit", function () {
        var link = document.getElementById("quick-exit");
        if (window.SupportCircleQuickExit) window.SupportCircleQuickExit(link ? link.getAttribute("href") : "about:blank");
      }, "quick-exit");
    }
    card = el("section", { id: "crisis-card", className: "crisis-card", "aria-labelledby": "crisis-heading" }, [
      heading, exit, el("p", { text: f.message }), el("ul", { className: "resources" }, items), close
    ]);
    card.addEventListener("keydown", function (event) {
      if (event.key === "Escape") close.click();
    });
    noticeArea.append(card);
    heading.focus();
  }

  // --- Notices: warnings, time-outs, held messages, report outcomes ------------------------------

  var LINK_TEXT = {
    warning: "Repair", message_hidden: "Repair", timed_out: "Repair",
    report_received: "See my reports", report_answered: "See my reports"
  };
  var MODERATION_NOTICES = ["held_for_review", "message_approved", "message_hidden", "message_withdrawn", "warning", "timed_out",
    "repair_accepted", "report_received", "report_answered", "moderation_done"];
  var statusArea = el("div", { id: "moderation-status", className: "moderation-status", role: "status" });
  noticeArea.append(statusArea);

  // What a notice makes stale: an answer about a held message ends "it is held"; a newer notice of
  // the same kind replaces the older one.
  var SUPERSEDES = { message_approved: ["held_for_review"], message_hidden: ["held_for_review"],
    report_answered: ["report_received"] };
  // Thanks and good news clear themselves after a while; anything that asks something of the member stays.
  var FLEETING = { report_received: true, message_approved: true, repair_accepted: true, moderation_done: true };
  var MOST_NOTICES = 3;

  function showModerationNotice(f) {
    var note = el("p", { className: "notice", "data-code": f.code || "" }, [document.createTextNode(f.message + " ")]);
    if (f.link) note.append(el("a", { href: f.link, text: LINK_TEXT[f.code] || "Open" }));
    note.append(" ", button("Dismiss", function () {
      note.remove();
      if (textarea && !textarea.disabled) textarea.focus();
    }, "link-button"));
    [f.code].concat(SUPERSEDES[f.code] || []).forEach(function (code) {
      statusArea.querySelectorAll('[data-code="' + code + '"]').forEach(function (old) { old.remove(); });
    });
    statusArea.append(note);
    while (statusArea.children.length > MOST_NOTICES) statusArea.firstElementChild.remove();
    if (FLEETING[f.code]) setTimeout(function () { note.remove(); }, 30000);
  }

  var baseNotice = chat.handlers.notice;
  chat.handlers.notice = function (f) {
    if (MODERATION_NOTICES.indexOf(f.code) >= 0) showModerationNotice(f);
    else if (baseNotice) baseNotice(f);
  };
  chat.handlers.nudge = showNudge;
  chat.handlers.crisis_resources = showCrisisCard;

  // --- The second opinion's follow-up, and a hint for peers (issue 25) ----------------------------

  function messageItem(seq) { return list.querySelector('li[data-seq="' + seq + '"]'); }

  chat.handlers.follow_up = function (f) {
    var li = messageItem(f.seq);
    var old = document.getElementById("follow-up-" + f.seq);
    if (old) old.remove();
    var agreement = f.agreement && f.agreement.number
      ? "Agreement " + f.agreement.number + ": " + f.agreement.text : (f.agreement ? f.agreement.text : "");
    var box;
    var parts = [
      el("p", { text: f.message }),
      agreement ? el("p", { className: "agreement", text: agreement }) : null,
      f.suggestion ? el("blockquote", { className: "suggestion", text: f.suggestion }) : null
    ];
    var row = el("div", { className: "button-row" }, [
      button("Edit my message", function () {
        // Opens the message's own edit form (chat-room.js); the words change in place for everyone.
        box.remove();
        var edit = li && Array.prototype.find.call(li.querySelectorAll(".message-actions button"), function (b) {
          return b.textContent === "Edit";
        });
        if (edit) edit.click();
      }),
      button("Leave it as it is", function () { box.remove(); if (textarea) textarea.focus(); }, "secondary")
    ]);
    parts.push(row);
    box = el("section", { id: "follow-up-" + f.seq, className: "follow-up", role: "status" }, parts);
    if (li) li.append(box); else list.before(box);
  };

  chat.handlers.peer_hint = function (f) {
    var li = messageItem(f.seq);
    if (!li || li.querySelector(".peer-hint")) return;
    li.append(el("p", { className: "peer-hint", text: f.message }));
  };

  // --- "I'm worried about them" -------------------------------------------------------------------

  function sendWorry(li, m, toggle) {
    chat.send({ type: "worried", seq: Number(li.dataset.seq) });
    toggle.disabled = true;
    toggle.textContent = "The facilitators know";
    toggle.setAttribute("aria-label", "The facilitators know you're worried about " + m.author.pseudonym);
  }

  var baseNoticeForWorry = chat.handlers.notice;
  chat.handlers.notice = function (f) {
    if (f.code !== "worry_received") { if (baseNoticeForWorry) baseNoticeForWorry(f); return; }
    var items = (f.resources || []).map(function (r) {
      return el("li", {}, [r.url ? el("a", { href: r.url, target: "_blank", rel: "noopener noreferrer", text: r.name })
        : el("strong", { text: r.name }), r.detail ? el("p", { text: r.detail }) : null]);
    });
    var note = el("div", { className: "notice worry-received" }, [el("p", { text: f.message }), el("ul", { className: "resources" }, items)]);
    note.append(button("Dismiss", function () { note.remove(); }, "link-button"));
    statusArea.append(note);
  };

  // --- Report a message --------------------------------------------------------------------------

  function openReportForm(li, toggle) {
    if (li.querySelector("form.report-form")) return;
    var seq = Number(li.dataset.seq);
    var id = "report-" + seq;
    var select = el("select", { id: id + "-reason", name: "reason", required: "required" },
      [el("option", { value: "", text: "Choose a reason" })].concat(reasons.map(function (r) {
        return el("option", { value: r[0], text: r[1] });
      })));
    var note = el("textarea", { id: id + "-note", name: "note", rows: "2", maxlength: "500" });
    var reportForm = el("form", { className: "report-form", "aria-label": "Report this message" }, [
      el("label", { for: id + "-reason", text: "What's the matter?" }), select,
      el("label", { for: id + "-note", text: "Anything the facilitators should know (optional)" }), note,
      el("div", { className: "button-row" }, [
        el("button", { type: "submit", text: "Send to the facilitators" }),
        button("Cancel", function () { reportForm.remove(); toggle.focus(); }, "secondary")
      ])
    ]);
    reportForm.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!select.value) { select.focus(); return; }
      chat.send({ type: "report", seq: seq, reason: select.value, note: note.value });
      reportForm.remove();
      toggle.disabled = true;
      toggle.textContent = "Reported";
    });
    li.append(reportForm);
    select.focus();
  }

  // --- My own held message: take it back, or take it back to word it again -------------------------

  function heldControls(m) {
    var who = "your message held for review";
    var withdraw = button("Take it back", function () {
      chat.send({ type: "withdraw", seq: m.seq });
    }, "link-button");
    withdraw.setAttribute("aria-label", "Take it back: " + who);
    var edit = button("Edit and send again", function () {
      // The words go back in the box first: whatever happens next, nothing they wrote is lost.
      if (textarea) {
        textarea.value = m.body;
        textarea.focus();
      }
      chat.send({ type: "withdraw", seq: m.seq });
    }, "link-button");
    edit.setAttribute("aria-label", "Edit and send again " + who);
    return el("div", { className: "button-row held-actions" }, [withdraw, edit]);
  }

  // chat.js calls each decorator whenever it (re)draws a message: live, in history and after updates.
  chat.decorators.push(function (li, m) {
    if (m.state === "held") {
      li.append(el("p", { className: "held-note", text: "Waiting for a facilitator to read it. Only you can see it for now." }));
      if (m.author.id === myId) li.append(heldControls(m));
    }
    if (m.state !== "visible" || m.author.id === myId) return;
    var toggle = el("button", {
      type: "button",
      className: "link-button report-toggle",
      text: "Report",
      "aria-label": "Report " + m.author.pseudonym + "'s message"
    });
    toggle.addEventListener("click", function () { openReportForm(li, toggle); });
    var worry = el("button", {
      type: "button",
      className: "link-button worried-toggle",
      text: "I'm worried about " + m.author.pseudonym,
      "aria-label": "I'm worried about " + m.author.pseudonym + ": tell the facilitators privately"
    });
    worry.addEventListener("click", function () { sendWorry(li, m, worry); });
    li.append(el("div", { className: "message-care" }, [toggle, worry]));
  });

  // --- Facilitators: the live queue --------------------------------------------------------------

  if (!isFacilitator) return;

  var queueList = el("ul", { className: "queue-list" });
  var emptyNote = el("p", { className: "help", text: "Nothing is waiting. Thank you for holding this space." });
  var alertArea = el("div", { role: "alert", className: "visually-hidden" });
  var panel = el("aside", { className: "queue-panel", "aria-labelledby": "queue-heading" }, [
    el("h2", { id: "queue-heading", text: "Waiting for you" }),
    alertArea, emptyNote, queueList,
    el("a", { href: root.dataset.queueUrl, text: "Open the full queue (warn, time-out, answer reports)" })
  ]);
  (document.getElementById("chat-side") || root).append(panel);

  function describe(item) {
    var who = item.member ? item.member.pseudonym : "A member";
    if (item.kind === "alert") {
      if (item.category === "crisis") return who + " may be in crisis. They were shown the crisis resources.";
      if (item.category === "worried") {
        return (item.raised_by ? item.raised_by.pseudonym : "A member") + " is worried about " + who + ". Please check in.";
      }
      if (item.category === "possible_crisis") return "Please look: " + who + " may be struggling. They saw nothing.";
      return who + "'s message was flagged (" + item.category + ").";
    }
    if (item.kind === "held") return who + "'s message is held for review.";
    if (item.kind === "report") {
      var what = item.private ? "a private message from " + who : who + "'s message";
      return (item.reporter ? item.reporter.pseudonym : "Someone") + " reported " + what + ": " + item.reason + ".";
    }
    return who + " would like to repair: “" + item.prompt + "”";
  }

  function moderate(fields) { chat.send(Object.assign({ type: "moderate" }, fields)); }

  function showItem(item) {
    var key = item.kind + "-" + item.id;
    var existing = queueList.querySelector('[data-key="' + key + '"]');
    if (item.state === "resolved") {
      if (existing) existing.remove();
      if (item.kind === "alert") alertArea.textContent = "";
      emptyNote.hidden = queueList.children.length > 0;
      return;
    }
    var first = item.kind === "alert" && (item.category === "crisis" || item.category === "worried");
    var row = el("li", { className: "queue-item" + (first ? " crisis" : "") }, [
      el("p", { text: describe(item) }),
      item.message && item.message.body ? el("blockquote", { text: item.message.body }) : null
    ]);
    row.dataset.key = key;
    if (item.kind === "held") {
      row.append(button("Approve", function () { moderate({ action: "approve", seq: item.message.seq }); }));
    } else if (item.kind === "alert") {
      row.append(button("I'm following up", function () { moderate({ action: "acknowledge_alert", alert: item.id }); }));
    } else if (item.kind === "repair") {
      row.append(button("Accept the repair", function () { moderate({ action: "accept_repair", repair: item.id }); }));
    }
    if (existing) existing.replaceWith(row);
    else if (first) queueList.prepend(row);
    else queueList.append(row);
    emptyNote.hidden = true;
  }

  chat.handlers.queue_item = function (f) { showItem(f.item); };
  chat.handlers.crisis_alert = function (f) {
    showItem(f.alert);
    alertArea.textContent = describe(f.alert);
  };
})();
