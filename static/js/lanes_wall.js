/*
 * The live lanes wall of a store.
 *
 * The server renders every tile; this script follows the store's websocket and applies what it
 * pushes: a full snapshot ({"type": "wall"}) on every (re)connect, then one attempt snapshot per
 * change ({"type": "attempt"}). Each tile shows the lane's state, how long it has been in it (ticking
 * here every second, measured on the server's clock), its last result and the day's approved count
 * and sum. A lane stuck too long in one state gets data-stuck="true".
 *
 * Counting approvals once: the wall snapshot's counts include every attempt approved when it was
 * read, and that read agrees with each lane's latest attempt. After it, an attempt is counted when it
 * is first seen APPROVED (ids seen approved are remembered per lane), if it was created on the wall's
 * business day, and if the snapshot cannot have counted it: it is the lane's latest attempt at the
 * snapshot (then not yet approved) or a newer one, or it was approved after the snapshot's `now`.
 *
 * Words come from Django's JavaScript catalog (gettext, ngettext, interpolate: /jsi18n/); money and times
 * follow the page's language ("12,50 $", "14 h 05" in French). Status names stay machine values.
 * Server text is always inserted with textContent. window.lanesWall exposes state() for tests.
 */
(function () {
  "use strict";

  var root = document.getElementById("lanes-wall");
  if (!root) {
    return;
  }

  var FINAL = ["APPROVED", "DECLINED", "FAILED"];
  var IN_FLIGHT = ["CREATED", "SENT", "UNKNOWN"];

  var FORMATS = window.consoleFormats; // static/js/formats.js: the page's language and its money
  var LANG = FORMATS.language;
  var LOCALE = FORMATS.locale;

  var STATE_LABELS = {
    IDLE: pgettext("lane state", "Idle"),
    CREATED: pgettext("lane state", "Sending"),
    SENT: pgettext("lane state", "Waiting for card"),
    UNKNOWN: pgettext("lane state", "Checking outcome"),
    NEEDS_REVIEW: pgettext("payment status", "Needs review"),
  };
  var RESULT_LABELS = {
    APPROVED: pgettext("payment status", "Approved"),
    DECLINED: pgettext("payment status", "Declined"),
    FAILED: pgettext("payment status", "Failed"),
  };
  var ATTENTION = {
    CREATED: gettext("Not sent to the terminal yet"),
    SENT: gettext("Waiting on the terminal for a long time"),
    UNKNOWN: gettext("No answer from the gateway yet: being checked. Do not charge again"),
    NEEDS_REVIEW: gettext("Check the terminal\u2019s record before charging again"),
  };

  var data = root.dataset;
  function seconds(value) {
    return /^\d+$/.test(value || "") ? Number(value) : null;
  }
  var cfg = {
    wsPath: data.wsPath,
    currency: data.currency || "CAD",
    timeZone: data.timeZone || undefined,
    loginUrl: data.loginUrl || "/accounts/login/",
    stuckAfter: { CREATED: seconds(data.stuckCreated), SENT: seconds(data.stuckSent), UNKNOWN: seconds(data.stuckUnknown) },
  };

  var el = {
    grid: document.getElementById("wall-grid"),
    count: document.getElementById("wall-count"),
    sum: document.getElementById("wall-sum"),
    busy: document.getElementById("wall-busy"),
    attention: document.getElementById("wall-attention"),
    attentionItem: document.getElementById("wall-attention-item"),
    notice: document.getElementById("wall-notice"),
    connection: document.getElementById("connection"),
    connectionText: document.getElementById("connection-text"),
  };

  var lanes = {}; // code -> {tile, current, last, count, total, since (ms), seenApproved, watermark}
  var day = data.day;
  var clockOffset = 0; // server clock minus ours, in ms
  var snapshotAt = 0; // the server's clock right after it read the last wall snapshot
  var rolledTo = null; // the day this page last re-read the wall for

  /* ------------------------------------------------------------------ formatting */

  /** 1250 -> "$12.50" in English, "12,50 $" in French (static/js/formats.js); the page's currency by default. */
  function formatMoney(cents, currency) {
    return FORMATS.money(cents, currency || cfg.currency);
  }

  /** 65 -> "1:05"; 3725 -> "1:02:05". */
  function formatDuration(totalSeconds) {
    var s = Math.max(0, Math.floor(totalSeconds));
    var hours = Math.floor(s / 3600);
    var minutes = Math.floor((s % 3600) / 60);
    var secs = s % 60;
    var mm = hours ? String(minutes).padStart(2, "0") : String(minutes);
    return (hours ? hours + ":" : "") + mm + ":" + String(secs).padStart(2, "0");
  }

  var partsFormat = new Intl.DateTimeFormat("en-US", {
    timeZone: cfg.timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  // Shown to people, in the page's language: "14:05" / "14 h 05", and "Nov 27, 14:05" / "27 nov., 14 h 05".
  var timeFormat = new Intl.DateTimeFormat(LOCALE, { timeZone: cfg.timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var dateTimeFormat = new Intl.DateTimeFormat(LOCALE, {
    timeZone: cfg.timeZone,
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });

  /** The moment's business day in the store's time zone: {day: "YYYY-MM-DD"} (a machine format). */
  function local(ms) {
    var p = {};
    partsFormat.formatToParts(new Date(ms)).forEach(function (part) {
      p[part.type] = part.value;
    });
    return { day: p.year + "-" + p.month + "-" + p.day };
  }

  function clock(iso) {
    var ms = Date.parse(iso || "");
    if (isNaN(ms)) {
      return "";
    }
    return local(ms).day === day ? timeFormat.format(new Date(ms)) : dateTimeFormat.format(new Date(ms));
  }

  function serverNow() {
    return Date.now() + clockOffset;
  }

  function isFinal(status) {
    return FINAL.indexOf(status) !== -1;
  }

  function setText(node, text) {
    if (node && node.textContent !== text) {
      node.textContent = text;
    }
  }

  function show(node, visible) {
    if (node) {
      node.hidden = !visible;
    }
  }

  /* ------------------------------------------------------------------ lanes */

  function laneState(lane) {
    return lane.current && !isFinal(lane.current.status) ? lane.current.status : "IDLE";
  }

  /** When the attempt entered its status, as far as its snapshot tells. */
  function sinceOf(attempt) {
    var iso = isFinal(attempt.status) ? attempt.finalized_at || attempt.updated_at : attempt.updated_at;
    var ms = Date.parse(iso || "");
    return isNaN(ms) ? null : ms;
  }

  function resultText(attempt) {
    if (!attempt) {
      return gettext("No payment yet");
    }
    return interpolate(
      gettext("%(result)s %(amount)s at %(time)s"),
      {
        result: RESULT_LABELS[attempt.status] || attempt.status,
        amount: formatMoney(attempt.total, attempt.currency),
        time: clock(attempt.finalized_at || attempt.updated_at),
      },
      true
    );
  }

  function resultDetail(attempt) {
    if (!attempt) {
      return "";
    }
    var card = [attempt.card_brand, attempt.card_last4].filter(Boolean).join(" \u2022\u2022\u2022\u2022 ");
    if (attempt.status === "APPROVED") {
      return card || attempt.terminal_text || "";
    }
    return attempt.terminal_text || attempt.message || card;
  }

  function currentNote(attempt) {
    if (attempt.status === "UNKNOWN") {
      var n = attempt.poll_count || 0;
      return interpolate(ngettext("%(count)s query so far", "%(count)s queries so far", n), { count: n }, true);
    }
    if (attempt.status === "NEEDS_REVIEW") {
      return attempt.message || gettext("Outcome not confirmed");
    }
    return attempt.status === "SENT" ? gettext("On the terminal") : gettext("Sending to the terminal");
  }

  function find(tile, selector) {
    return tile.querySelector(selector);
  }

  function paint(lane) {
    var tile = lane.tile;
    var state = laneState(lane);
    tile.dataset.status = state;
    setText(find(tile, ".tile-state"), STATE_LABELS[state] || state);
    var busy = state !== "IDLE";
    show(find(tile, ".tile-current"), busy);
    setText(find(tile, ".tile-amount"), busy ? formatMoney(lane.current.total, lane.current.currency) : "");
    setText(find(tile, ".tile-note"), busy ? currentNote(lane.current) : "");
    var last = find(tile, ".tile-last");
    last.dataset.result = lane.last ? lane.last.status : "";
    setText(find(tile, ".tile-last__result"), resultText(lane.last));
    var detail = resultDetail(lane.last);
    setText(find(tile, ".tile-last__detail"), detail);
    show(find(tile, ".tile-last__detail"), Boolean(detail));
    setText(find(tile, ".tile-count"), String(lane.count));
    setText(find(tile, ".tile-sum"), formatMoney(lane.total, cfg.currency));
    tick(lane);
  }

  /** The timer and the stuck look: called on every change and every second. */
  function tick(lane) {
    var tile = lane.tile;
    var state = laneState(lane);
    var elapsed = lane.since === null ? null : (serverNow() - lane.since) / 1000;
    show(find(tile, ".tile-since"), elapsed !== null);
    setText(find(tile, ".tile-timer"), elapsed === null ? "" : formatDuration(elapsed));
    var limit = cfg.stuckAfter[state];
    var stuck = state === "NEEDS_REVIEW" || (typeof limit === "number" && elapsed !== null && elapsed >= limit);
    var flag = stuck ? "true" : "false";
    if (tile.dataset.stuck !== flag) {
      tile.dataset.stuck = flag;
    }
    setText(find(tile, ".tile-alert"), stuck ? ATTENTION[state] || "" : "");
    show(find(tile, ".tile-alert"), stuck);
  }

  function summarize() {
    var count = 0;
    var total = 0;
    var busy = 0;
    var attention = 0;
    Object.keys(lanes).forEach(function (code) {
      var lane = lanes[code];
      count += lane.count;
      total += lane.total;
      busy += IN_FLIGHT.indexOf(laneState(lane)) !== -1 ? 1 : 0;
      attention += lane.tile.dataset.stuck === "true" ? 1 : 0;
    });
    setText(el.count, String(count));
    setText(el.sum, formatMoney(total, cfg.currency));
    setText(el.busy, String(busy));
    setText(el.attention, String(attention));
    if (el.attentionItem) {
      el.attentionItem.dataset.active = attention ? "true" : "false";
    }
  }

  /** A full snapshot: replaces everything known, counts included. */
  function applyWall(snapshot) {
    if (!snapshot || !Array.isArray(snapshot.lanes)) {
      return;
    }
    var now = Date.parse(snapshot.now || "");
    clockOffset = isNaN(now) ? 0 : now - Date.now();
    snapshotAt = isNaN(now) ? 0 : now;
    day = snapshot.day || day;
    var tiles = {};
    Array.prototype.forEach.call(el.grid.querySelectorAll("[data-lane]"), function (tile) {
      tiles[tile.dataset.lane] = tile;
    });
    var codes = snapshot.lanes.map(function (lane) {
      return lane.code;
    });
    var sameLanes = codes.length === Object.keys(tiles).length && codes.every(function (code) {
      return tiles[code];
    });
    if (!sameLanes) {
      location.reload(); // lanes were added or removed since the page was rendered
      return;
    }
    lanes = {};
    snapshot.lanes.forEach(function (item) {
      var lane = {
        tile: tiles[item.code],
        current: item.current,
        last: item.last,
        count: item.approved_count,
        total: item.approved_total,
        since: item.since ? Date.parse(item.since) : null,
        seenApproved: new Set(),
        watermark: item.current ? item.current.id : 0,
      };
      [item.current, item.last].forEach(function (attempt) {
        if (attempt && attempt.status === "APPROVED") {
          lane.seenApproved.add(attempt.id);
        }
      });
      lanes[item.code] = lane;
      paint(lane);
    });
    summarize();
  }

  /** One attempt's change, pushed after it was committed. */
  function applyAttempt(attempt) {
    if (!attempt || typeof attempt !== "object") {
      return;
    }
    var lane = lanes[attempt.lane];
    if (!lane) {
      resync(); // a lane this page does not know yet
      return;
    }
    var previous = lane.current;
    if (!previous || attempt.id >= previous.id) {
      var sameState = previous && previous.id === attempt.id && previous.status === attempt.status;
      lane.current = attempt;
      if (!sameState) {
        lane.since = sinceOf(attempt); // a poll of the same UNKNOWN attempt keeps its timer running
      }
    }
    if (isFinal(attempt.status) && (!lane.last || attempt.id >= lane.last.id)) {
      lane.last = attempt;
    }
    if (attempt.status === "APPROVED" && !lane.seenApproved.has(attempt.id)) {
      lane.seenApproved.add(attempt.id);
      var newer = attempt.id >= lane.watermark || Date.parse(attempt.finalized_at || "") > snapshotAt;
      if (newer && local(Date.parse(attempt.created_at)).day === day) {
        lane.count += 1;
        lane.total += attempt.total;
      }
    }
    paint(lane);
    summarize();
  }

  function everySecond() {
    Object.keys(lanes).forEach(function (code) {
      tick(lanes[code]);
    });
    summarize();
    // A new business day: the counts start again from the server's (once per day seen here, so a
    // browser whose time-zone data disagree with the server's does not reconnect every second).
    var today = local(serverNow()).day;
    if (connectionState === "connected" && today !== day && today !== rolledTo) {
      rolledTo = today;
      resync();
    }
  }

  /* ------------------------------------------------------------------ websocket */

  var connectionState = "connecting";

  function setConnection(state, text) {
    connectionState = state;
    if (el.connection) {
      el.connection.dataset.state = state;
    }
    setText(el.connectionText, text);
  }

  function showNotice(text) {
    setText(el.notice, text);
    show(el.notice, Boolean(text));
  }

  function handleMessage(msg) {
    if (msg.type === "wall") {
      socket.connected(gettext("Live"));
      showNotice("");
      applyWall(msg);
    } else if (msg.type === "attempt") {
      applyAttempt(msg.attempt);
    }
  }

  var socket = window.LiveSocket({
    path: cfg.wsPath,
    onMessage: handleMessage,
    onState: setConnection,
    refusedCodes: [4401, 4403, 4404],
    onRefused: function (code) {
      setConnection("disconnected", code === 4401 ? gettext("Logged out") : gettext("Not allowed"));
      showNotice(
        code === 4401
          ? gettext("Your session has ended. Log in again to watch the lanes.")
          : code === 4404
            ? gettext("This store does not exist any more. Reload the page.")
            : gettext("Your account may not watch this store's lanes any more.")
      );
    },
  });

  /** Drops the socket and connects again at once: the snapshot that follows re-reads everything. */
  function resync() {
    socket.resync();
  }

  /* ------------------------------------------------------------------ start */

  var initial = document.getElementById("wall-data");
  if (initial) {
    try {
      applyWall(JSON.parse(initial.textContent));
    } catch (e) {
      /* the server-rendered tiles stay as they are until the websocket's snapshot */
    }
  }
  setInterval(everySecond, 1000);
  socket.start();

  window.lanesWall = {
    formatMoney: formatMoney,
    formatDuration: formatDuration,
    state: function () {
      var out = { connection: connectionState, day: day, lanes: {} };
      Object.keys(lanes).forEach(function (code) {
        var lane = lanes[code];
        out.lanes[code] = {
          status: laneState(lane),
          count: lane.count,
          total: lane.total,
          current: lane.current ? lane.current.id : null,
          seenApproved: Array.from(lane.seenApproved),
        };
      });
      return out;
    },
  };
})();
