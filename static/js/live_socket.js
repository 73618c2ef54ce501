/*
 * A websocket that stays connected, shared by the checkout page and the lanes wall:
 * exponential back-off with jitter (0.5 s doubling to 10 s), a ping every 25 s, a socket silent for 60 s
 * is treated as dead, and it reconnects at once when the browser comes back online or the tab is shown.
 * Its state words come from Django's JavaScript catalog (gettext, from /jsi18n/).
 *
 *   var socket = LiveSocket({
 *     path: "/ws/lanes/1/",
 *     onMessage: function (msg) { ...; socket.connected("Connected"); },  // call connected() on the snapshot
 *     onState: function (state, text) { ... },     // "connecting" | "connected" | "disconnected"
 *     refusedCodes: [4403],                         // close codes that mean: do not try again
 *     onRefused: function (code) { ... },
 *     onRetry: function () { ... },                 // each time a reconnect is scheduled (optional)
 *   });
 *   socket.start();
 */
(function () {
  "use strict";

  var PING_EVERY_MS = 25000;
  var SILENCE_LIMIT_MS = 60000; // no message (not even a pong) for this long: the socket is dead
  var BACKOFF_START_MS = 500;
  var BACKOFF_MAX_MS = 10000;

  function LiveSocket(opts) {
    var ws = null;
    var failures = 0;
    var everConnected = false;
    var refused = false;
    var reconnectTimer = null;
    var pingTimer = null;
    var lastMessageAt = 0;
    var refusedCodes = opts.refusedCodes || [4403];

    function url() {
      return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + opts.path;
    }

    function offline() {
      return failures >= 3 || navigator.onLine === false;
    }

    function connect() {
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      if (refused || ws) {
        return;
      }
      if (offline()) {
        opts.onState("disconnected", gettext("Offline"));
      } else {
        opts.onState("connecting", everConnected ? gettext("Reconnecting\u2026") : gettext("Connecting\u2026"));
      }
      var sock;
      try {
        sock = new WebSocket(url());
      } catch (e) {
        scheduleReconnect();
        return;
      }
      ws = sock;
      sock.onopen = function () {
        lastMessageAt = Date.now();
        startPing();
      };
      sock.onmessage = function (event) {
        if (sock !== ws) {
          return;
        }
        lastMessageAt = Date.now();
        var msg;
        try {
          msg = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (msg && typeof msg === "object") {
          opts.onMessage(msg);
        }
      };
      sock.onclose = function (event) {
        if (sock !== ws) {
          return;
        }
        ws = null;
        stopPing();
        if (refusedCodes.indexOf(event.code) !== -1) {
          refused = true;
          opts.onRefused(event.code);
          return;
        }
        scheduleReconnect();
      };
    }

    function scheduleReconnect() {
      if (refused || reconnectTimer) {
        return;
      }
      var base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * Math.pow(2, failures));
      var delay = Math.min(BACKOFF_MAX_MS, Math.round(base * (0.8 + Math.random() * 0.4)));
      failures += 1;
      if (offline()) {
        opts.onState("disconnected", gettext("Offline"));
      } else {
        opts.onState("connecting", gettext("Reconnecting\u2026"));
      }
      if (opts.onRetry) {
        opts.onRetry();
      }
      reconnectTimer = setTimeout(connect, delay);
    }

    function closeSocket() {
      var sock = ws;
      ws = null;
      stopPing();
      if (sock) {
        try {
          sock.close();
        } catch (e) {
          /* already closing */
        }
      }
    }

    function startPing() {
      stopPing();
      pingTimer = setInterval(function () {
        if (!ws || ws.readyState !== WebSocket.OPEN) {
          return;
        }
        if (Date.now() - lastMessageAt > SILENCE_LIMIT_MS) {
          closeSocket(); // half-open connection: no pong for too long
          scheduleReconnect();
          return;
        }
        try {
          ws.send(JSON.stringify({ type: "ping" }));
        } catch (e) {
          closeSocket();
          scheduleReconnect();
        }
      }, PING_EVERY_MS);
    }

    function stopPing() {
      clearInterval(pingTimer);
      pingTimer = null;
    }

    function reconnectNow() {
      if (refused || ws) {
        return;
      }
      failures = Math.min(failures, 1);
      connect();
    }

    window.addEventListener("online", reconnectNow);
    window.addEventListener("offline", function () {
      if (!ws) {
        opts.onState("disconnected", gettext("Offline"));
      }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        reconnectNow();
      }
    });

    return {
      start: connect,
      /** The page got its snapshot: the connection is good. Returns whether this was a reconnect. */
      connected: function (text) {
        var reconnected = everConnected;
        everConnected = true;
        failures = 0;
        opts.onState("connected", text);
        return reconnected;
      },
      /** Drop the socket and connect again at once: the snapshot that follows re-reads everything. */
      resync: function () {
        closeSocket();
        failures = 0;
        clearTimeout(reconnectTimer);
        reconnectTimer = null;
        connect();
      },
    };
  }

  window.LiveSocket = LiveSocket;
})();
