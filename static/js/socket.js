// SupportCircle's one browser client for the group socket, shared by the chat page (chat.js) and
// the facilitator console (console.js). No build step, no dependencies; load it before either.
// Protocol: docs/protocol.md ("The browser client"). It owns the plumbing, the pages own what is
// drawn: connect and reconnect with backoff, what each close code means, a ping every 20 s, the run
// of seqs held without a gap (backfill when a gap shows, following a server that lost its newest
// messages), the resend of unacknowledged sends on `ready`, and the one retry of a frame the server
// refused with try_again.
//
//   var socket = SupportSocket.open({
//     path: "/ws/groups/<slug>/",        // the socket's path on this host
//     handlers: { ready: fn, ... },      // the page's frame handlers, looked up as each frame arrives
//     contiguous: 12,                    // the highest seq the page already shows without a gap
//     askFrom: fn(contiguous),           // ?last_seq= on (re)connect; null asks for none (the latest 50)
//     holds: fn(seq),                    // does the page show (or was it covered for) this seq?
//     forget: fn(latest),                // drop what the page shows above latest (the server lost it)
//     unacknowledged: fn(),              // the sends still waiting for their ack: [{client_id, ...}]
//     resend: fn(item),                  // put one of them on the wire again
//     onSendRefused: fn(f, item, retrying), // a send was refused; retrying: it goes again by itself
//     onStatus: fn(status, code),        // "reconnecting", "waiting" (4429) or "stopped" (for good)
//     showError: fn(text)                // a sentence for the person about a refused control
//   });
//   socket.send(frame) -> true if it went; socket.contiguous() -> the gap-free seq.
(function () {
  "use strict";

  // Close codes (docs/protocol.md, "Close codes"): stop for good, wait for a free socket, or reconnect.
  // Any code not here (a network drop, 1001, 1006, 1011) reconnects with backoff too.
  var CLOSE_CODES = {
    4401: { name: "NOT_LOGGED_IN", then: "stop" },
    4403: { name: "NOT_A_MEMBER", then: "stop" },
    4404: { name: "GROUP_NOT_FOUND", then: "stop" },
    4409: { name: "MEMBERSHIP_ENDED", then: "stop" },
    4410: { name: "BANNED", then: "stop" },
    // Too many sockets for this person: try again slowly (sockets of a crashed server stop counting after a minute).
    4429: { name: "TOO_MANY_SOCKETS", then: "wait" },
    4408: { name: "TOO_SLOW", then: "reconnect" },
    4503: { name: "SERVER_RESTARTING", then: "reconnect" }
  };
  var PING_EVERY_MS = 20000;
  // Frames a page sends by itself: a refusal of one is not the person's to hear about.
  var BACKGROUND_FRAMES = { backfill: true, ping: true, typing: true, read: true, radar: true };
  var NOTHING_CHANGED = "We couldn't do that just now, so nothing changed. Please try again in a moment.";

  function open(options) {
    var handlers = options.handlers;
    var contiguous = options.contiguous || 0;
    var askFrom = options.askFrom || function (held) { return held || null; };
    var unacknowledged = options.unacknowledged || function () { return []; };
    var onStatus = options.onStatus || function () {};
    var socket = null;
    var attempt = 0;
    var stopped = false;
    var pingTimer = null;
    var backfillPending = false;
    // Frames the server refused with try_again, each waiting its retry_after: "send:<client_id>",
    // "backfill", "ping". One timer per refused frame, never one per refusal for the whole outbox.
    var retryTimers = {};

    function send(frame) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(frame));
        return true;
      }
      return false;
    }
    function ping() { send({ type: "ping" }); }
    function resend(item) {
      if (options.resend) options.resend(item);
      else send(Object.assign({ type: "send" }, item));
    }
    function waiting(clientId) {
      return unacknowledged().find(function (item) { return item.client_id === clientId; });
    }

    // Sequence bookkeeping: every seq up to `contiguous` is shown, or was covered by the server. ------

    function requestBackfill() {
      if (backfillPending || !send({ type: "backfill", after_seq: contiguous })) return;
      backfillPending = true;
    }
    function advanceContiguous() {
      while (options.holds(contiguous + 1)) contiguous++;
    }
    // Still above the gap-free run after adding it: something before it is missing.
    function caughtUpTo(seq) {
      advanceContiguous();
      if (seq > contiguous) requestBackfill();
    }
    // The server's newest seq is below what we hold without a gap: it lost its newest messages (a
    // database restored from a backup, a failover). What it no longer has goes, and we count from its
    // number again, so what it sends next under those numbers is shown and gaps are asked for.
    function resyncTo(latest) {
      options.forget(latest);
      contiguous = latest;
    }

    // Retrying what the server refused for now (try_again, docs/protocol.md) ----------------------

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
    // and read markers are momentary, and a control the person pressed is theirs to press again.
    // Any other refusal is not sent again by itself: the page hears of it.
    function refused(f) {
      var type = f.frame || (f.ref ? "send" : "");
      var wait = f.retry_after || 2;
      // Whatever answered it, a backfill is no longer on its way: the next gap may ask again.
      if (type === "backfill") backfillPending = false;
      if (type === "send" && f.ref) {
        var item = waiting(f.ref);
        var retrying = f.code === "try_again";
        if (retrying && !item) return;  // stored since, or taken back
        if (retrying) {
          retryLater("send:" + f.ref, wait, function () {
            var still = waiting(f.ref);
            if (still) resend(still);
          });
        } else {
          cancelRetry("send:" + f.ref);
        }
        options.onSendRefused(f, item, retrying);
      } else if (f.code === "try_again") {
        if (type === "backfill") retryLater("backfill", wait, requestBackfill);
        else if (type === "ping") retryLater("ping", wait, ping);
        else if (!BACKGROUND_FRAMES[type]) options.showError(NOTHING_CHANGED);
      } else if (!BACKGROUND_FRAMES[type]) {
        options.showError(f.message);
      }
    }

    // What the client does with a frame before and after the page's own handler. --------------------

    var before = {
      ready: function () { attempt = 0; },
      history: function (f) {
        backfillPending = false;
        cancelRetry("backfill");
        if (!f.more && f.through_seq < contiguous) resyncTo(f.through_seq);
      },
      ack: function (f) { cancelRetry("send:" + f.client_id); },
      pong: function (f) {
        cancelRetry("ping");
        if (f.latest_seq < contiguous) resyncTo(f.latest_seq);
        if (f.latest_seq > contiguous) requestBackfill();
      },
      error: refused
    };
    var after = {
      // After (re)connecting: every unacknowledged send once, with its own client_id (stored once).
      ready: function (f) {
        if (f.latest_seq < contiguous) resyncTo(f.latest_seq);
        unacknowledged().forEach(function (item) { cancelRetry("send:" + item.client_id); resend(item); });
      },
      history: function (f) {
        // The server covered everything through through_seq, including any message it withheld
        // from us, so there is no gap below it.
        if (f.through_seq > contiguous) contiguous = f.through_seq;
        advanceContiguous();
        if (f.more) requestBackfill();
      },
      message: function (f) { caughtUpTo(f.message.seq); },
      ack: function (f) { caughtUpTo(f.message.seq); }
    };

    function receive(frame) {
      if (before[frame.type]) before[frame.type](frame);
      var handler = handlers[frame.type];
      if (handler) handler(frame);
      if (after[frame.type]) after[frame.type](frame);
    }

    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var from = askFrom(contiguous);
      socket = new WebSocket(scheme + location.host + options.path + (from === null ? "" : "?last_seq=" + from));
      backfillPending = false;
      cancelAllRetries();  // what waits to be retried is asked afresh once the new socket is ready
      socket.onmessage = function (event) {
        var frame;
        try { frame = JSON.parse(event.data); } catch (e) { return; }
        receive(frame);
      };
      socket.onopen = function () {
        clearInterval(pingTimer);
        pingTimer = setInterval(ping, PING_EVERY_MS);
      };
      socket.onclose = function (event) {
        clearInterval(pingTimer);
        var then = (CLOSE_CODES[event.code] || {}).then;
        if (then === "stop") {
          stopped = true;
          onStatus("stopped", event.code);
          return;
        }
        if (stopped) return;
        if (then === "wait") {
          onStatus("waiting", event.code);
          setTimeout(connect, 30000 + Math.round(Math.random() * 10000));
          return;
        }
        attempt += 1;
        // Exponential backoff with jitter, so a restarted server is not stampeded.
        var base = Math.min(30000, 500 * Math.pow(2, attempt));
        onStatus("reconnecting", event.code);
        setTimeout(connect, Math.round(base * (0.5 + Math.random())));
      };
    }

    connect();
    return {
      send: send,
      contiguous: function () { return contiguous; }
    };
  }

  window.SupportSocket = { open: open, CLOSE_CODES: CLOSE_CODES };
})();
