/*
 * The checkout page of a lane.
 *
 * The cashier types an amount; the page sends it to the JSON API and then shows the lane's state
 * exactly as the server reports it: a snapshot from the POST response, from the lane's websocket,
 * or from GET /api/payments/<id> after a reconnect. Nothing here guesses a payment's outcome.
 *
 * Money is integer cents everywhere (parsed with string and integer operations only, formatted by
 * Intl.NumberFormat in the page's language from an exact decimal string). Words come from Django's
 * JavaScript catalog (gettext, ngettext, interpolate, pgettext: /jsi18n/, loaded by base.html); status
 * names are machine values and never shown as such. Server text is always inserted with textContent.
 *
 * window.checkout exposes hooks for tests and screenshots: render(snapshot), receive(snapshot),
 * newSale(), parseCents(text), formatMoney(cents, currency), state().
 */
(function () {
  "use strict";

  var root = document.getElementById("checkout");
  if (!root) {
    return;
  }

  var IN_FLIGHT = ["CREATED", "SENT", "UNKNOWN"];
  var RETRYABLE = ["DECLINED", "FAILED"];
  var POST_TIMEOUT_MS = 20000;
  var POST_RESENDS = 2; // automatic re-sends of the same request (same Idempotency-Key) on network errors

  // The page's language picks the number and date formats: "12,50 $" and "14 h 05" in French.
  var FORMATS = window.consoleFormats; // static/js/formats.js: the page's language and its money
  var LANG = FORMATS.language;
  // Times as the server writes them (payments/formats.py): "2:05 PM" in English (en-CA would say "p.m."), "14 h 05".
  var CLOCK_LOCALE = LANG === "fr" ? "fr-CA" : "en-US";

  var data = root.dataset;
  var GATEWAY = data.gateway || gettext("the gateway"); // the payment gateway's name, as staff know it
  var cfg = {
    lane: data.laneCode,
    payUrl: data.payUrl,
    paymentUrl: data.paymentUrl || "/api/payments/{id}",
    requeryUrl: data.requeryUrl || "/api/payments/{id}/requery",
    canOverride: data.canOverride === "true",
    receiptUrl: data.receiptUrl || "/payments/{id}/receipt/",
    wsPath: data.wsPath,
    loginUrl: data.loginUrl || "/accounts/login/",
    tipsEnabled: data.tipsEnabled === "true",
    maxAmount: /^\d+$/.test(data.maxAmount || "") ? Number(data.maxAmount) : null,
    currency: data.currency || "CAD",
    timeZone: data.timeZone || undefined,
  };

  function $(id) {
    return document.getElementById(id);
  }

  var el = {
    form: $("pay-form"),
    amount: $("amount-input"),
    tip: $("tip-input"), // absent when the store has no tips
    amountError: $("field-error-amount"),
    tipError: $("field-error-tip"),
    total: $("total-display"),
    formError: $("form-error"),
    pay: $("pay-button"),
    payLabel: $("pay-button-label"),
    limitHint: $("limit-hint"),
    maxAmount: $("max-amount-display"),
    state: $("lane-state"),
    caption: $("state-caption"),
    title: $("state-title"),
    stateAmount: $("state-amount"),
    breakdown: $("state-breakdown"),
    detail: $("state-detail"),
    hint: $("state-hint"),
    pollCount: $("poll-count"),
    cardDetails: $("card-details"),
    cardInfo: $("card-info"),
    entryMethod: $("entry-method"),
    authNum: $("auth-num"),
    actions: $("state-actions"),
    retry: $("retry-button"),
    checkAgain: $("check-again-button"),
    receipt: $("receipt-link"),
    override: $("override-button"),
    overrideForm: $("override-form"),
    overrideReason: $("override-reason"),
    overrideCredentials: $("override-credentials"),
    overrideSupervisor: $("override-supervisor"),
    overridePassword: $("override-password"),
    overrideError: $("override-error"),
    overrideCancel: $("override-cancel"),
    newSale: $("new-sale-button"),
    meta: $("state-meta"),
    notice: $("notice"),
    connection: $("connection"),
    connectionText: $("connection-text"),
  };

  function inFlight(status) {
    return IN_FLIGHT.indexOf(status) !== -1;
  }

  /* ------------------------------------------------------------------ money */

  /** 1250 -> "$12.50" in English, "12,50 $" in French (static/js/formats.js); the page's currency by default. */
  function formatMoney(cents, currency) {
    return FORMATS.money(cents, currency || cfg.currency);
  }

  /** 1250 -> "12.50", for putting an amount back into an input. */
  function plainAmount(cents) {
    var digits = String(cents);
    while (digits.length < 3) {
      digits = "0" + digits;
    }
    return digits.slice(0, -2) + "." + digits.slice(-2);
  }

  /**
   * "12.50" -> {ok: true, cents: 1250}; "12" -> 1200; "$3.5" -> 350; in French also "12,50" and "12,50 $".
   * Split on the decimal mark with at most two decimals; anything else is refused with a message. A comma
   * is a decimal mark only in French: in English "1,250" would be a thousands separator, never 12.50.
   */
  function parseCents(text, allowEmpty) {
    var s = String(text == null ? "" : text).trim();
    if (s.charAt(0) === "$") {
      s = s.slice(1).trim();
    } else if (LANG === "fr" && s.charAt(s.length - 1) === "$") {
      s = s.slice(0, -1).trim();
    }
    if (LANG === "fr") {
      s = s.replace(",", ".");
    }
    if (s === "") {
      return allowEmpty ? { ok: true, cents: 0, empty: true } : { ok: false, error: gettext("Type the amount, like 12.50.") };
    }
    var parts = s.split(".");
    if (parts.length > 2) {
      return { ok: false, error: gettext("Use one dot at most, like 12.50.") };
    }
    var whole = parts[0];
    var frac = parts.length === 2 ? parts[1] : "";
    if (!/^\d*$/.test(whole) || !/^\d*$/.test(frac)) {
      return { ok: false, error: gettext("Use digits and one dot only, like 12 or 12.50.") };
    }
    if (whole === "" && frac === "") {
      return { ok: false, error: gettext("Type the amount, like 12.50.") };
    }
    if (frac.length > 2) {
      return { ok: false, error: gettext("At most 2 digits after the dot (cents), like 12.50.") };
    }
    whole = whole.replace(/^0+(?=\d)/, "");
    if (whole.length > 9) {
      return { ok: false, error: gettext("That amount is too large.") };
    }
    var cents = Number(whole || "0") * 100 + Number((frac + "00").slice(0, 2));
    return { ok: true, cents: cents };
  }

  /* ------------------------------------------------------------------ time */

  var ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

  /** Microseconds since the epoch: Django's ISO times carry microseconds, which Date would drop. */
  function micros(iso) {
    if (typeof iso !== "string") {
      return null;
    }
    var m = ISO_RE.exec(iso);
    if (!m) {
      var parsed = Date.parse(iso);
      return isNaN(parsed) ? null : parsed * 1000;
    }
    var ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    var tz = m[8];
    if (tz && tz !== "Z") {
      var sign = tz.charAt(0) === "-" ? -1 : 1;
      var hh = Number(tz.slice(1, 3));
      var mm = Number(tz.slice(-2));
      ms -= sign * (hh * 60 + mm) * 60000;
    }
    return ms * 1000 + Number(((m[7] || "") + "000000").slice(0, 6));
  }

  function formatTime(iso) {
    var us = micros(iso);
    if (us === null) {
      return "";
    }
    var date = new Date(Math.floor(us / 1000));
    try {
      return new Intl.DateTimeFormat(CLOCK_LOCALE, { hour: "numeric", minute: "2-digit", timeZone: cfg.timeZone }).format(date);
    } catch (e) {
      return date.toLocaleTimeString();
    }
  }

  /* ------------------------------------------------------------------ page state */

  var current = null; // the snapshot on screen, or null when ready for a new sale
  var dismissedId = null; // highest attempt id the cashier put away with "New sale"
  var seenUpdated = new Map(); // attempt id -> updated_at (µs) of the newest snapshot seen
  var seenStatus = new Map(); // attempt id -> status of that snapshot
  var liveIds = new Set(); // attempts this page saw in flight or sent itself
  var requestInFlight = false;
  var intent = null; // {json, key, baseId}: the Pay request being sent; re-sent with the same key

  function isBusy() {
    return requestInFlight || !!(current && inFlight(current.status));
  }

  function isSnapshot(s) {
    return !!s && typeof s === "object" && Number.isSafeInteger(s.id) && typeof s.status === "string";
  }

  /**
   * A snapshot from anywhere (POST, websocket, GET). Applies the ordering rules and shows it when it
   * belongs on screen. Returns true when shown.
   */
  function receive(s) {
    if (!isSnapshot(s)) {
      return false;
    }
    if (s.lane && cfg.lane && s.lane !== cfg.lane) {
      return false;
    }
    var t = micros(s.updated_at);
    var prevT = seenUpdated.get(s.id);
    if (prevT !== undefined && t !== null && t < prevT) {
      return false; // older than what we already have for this attempt
    }
    var prevStatus = seenStatus.get(s.id);
    if (t !== null) {
      seenUpdated.set(s.id, t);
    }
    seenStatus.set(s.id, s.status);

    if (current && s.id === current.id) {
      show(s);
      return true;
    }
    var floor = Math.max(current ? current.id : -Infinity, dismissedId === null ? -Infinity : dismissedId);
    if (s.id > floor) {
      show(s);
      return true;
    }
    // An earlier attempt changed (e.g. a payment under review was resolved): tell, don't take over.
    if (prevStatus && prevStatus !== s.status) {
      showNotice(s);
    }
    return false;
  }

  /** Puts a snapshot (or null: ready) on screen. Exposed as window.checkout.render for tests. */
  function show(s) {
    var prev = current;
    var wasBusy = isBusy();
    current = isSnapshot(s) ? s : null;
    if (current) {
      if (inFlight(current.status)) {
        liveIds.add(current.id);
      }
      if (intent && intent.baseId !== current.id) {
        intent = null; // our request landed (or another attempt took the lane): the key is spent
      }
    }
    paint(current);

    var finishedHere = current && prev && prev.id === current.id && inFlight(prev.status) && !inFlight(current.status);
    if (finishedHere) {
      clearInputs(); // never leave the charged amount in the field for a second Enter
    }
    if (current && !inFlight(current.status) && el.formError.dataset.kind === "busy") {
      clearFormError();
    }
    updateForm();
    if (wasBusy && !isBusy()) {
      focusAmount();
    }
  }

  var VIEWS = {
    IDLE: { caption: gettext("Ready"), title: gettext("Ready for the next sale"), hint: gettext("Type the amount and press Pay.") },
    CREATED: { caption: gettext("Payment in progress"), title: gettext("Sending to the terminal\u2026"), hint: gettext("One moment, please.") },
    SENT: {
      caption: gettext("Payment in progress"),
      title: gettext("Waiting for the card on the terminal"),
      hint: gettext("Ask the customer to tap, insert or swipe"),
    },
    APPROVED: { caption: gettext("Payment complete"), title: pgettext("payment status", "Approved"), hint: "" },
    DECLINED: { caption: gettext("Payment not completed"), title: pgettext("payment status", "Declined"), hint: "" },
    FAILED: { caption: gettext("Payment not completed"), title: gettext("Payment failed"), hint: "" },
    UNKNOWN: {
      caption: gettext("Result pending"),
      title: gettext("Checking the outcome\u2026"),
      hint: gettext("Do not charge again. Keep the customer here; the result usually arrives within a minute."),
    },
    UNKNOWN_APPROVED: {
      caption: gettext("Result pending"),
      title: gettext("Approved by the terminal, confirming\u2026"),
      hint: interpolate(
        gettext("Do not charge again. The receipt can be printed now; %(gateway)s's confirmation usually follows within a minute."),
        { gateway: GATEWAY },
        true
      ),
    },
    NEEDS_REVIEW: {
      caption: gettext("Action needed"),
      title: pgettext("payment status", "Needs review"),
      hint: gettext("Do not charge the customer again. Check the terminal's last transaction or the customer's bank notification, and call a supervisor."),
    },
  };

  var ENTRY_LABELS = {
    CHIP: pgettext("card entry", "Chip"),
    TAP: pgettext("card entry", "Tap"),
    SWIPE: pgettext("card entry", "Swipe"),
    MANUAL: pgettext("card entry", "Keyed in"),
  };

  function setText(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  /** The terminal approved it but the gateway has not confirmed it yet: the card data is already there. */
  function approvedByTerminal(s) {
    return !!s && (s.status === "UNKNOWN" || s.status === "NEEDS_REVIEW") && s.terminal_outcome === "APPROVED";
  }

  function paint(s) {
    var status = s ? s.status : "IDLE";
    var viewKey = status === "UNKNOWN" && approvedByTerminal(s) ? "UNKNOWN_APPROVED" : status;
    var view = VIEWS[viewKey] || { caption: gettext("Payment"), title: status, hint: "" };
    el.state.dataset.status = status;

    var caption = view.caption;
    if (s && !inFlight(status) && !liveIds.has(s.id)) {
      caption = gettext("Last payment"); // finished before this page was opened
    }
    setText(el.caption, caption);
    el.title.textContent = view.title;

    setText(el.stateAmount, s ? formatMoney(s.total, s.currency) : "");
    setText(
      el.breakdown,
      s && s.tip > 0
        ? interpolate(gettext("Sale %(amount)s + tip %(tip)s"), { amount: formatMoney(s.amount, s.currency), tip: formatMoney(s.tip, s.currency) }, true)
        : ""
    );

    var detail = "";
    if (status === "DECLINED") {
      detail = s.terminal_text || s.message || gettext("The card was declined.");
    } else if (status === "FAILED") {
      detail = s.message || s.terminal_text || gettext("The payment could not be completed.");
    } else if (status === "NEEDS_REVIEW") {
      detail = s.message || s.terminal_text || "";
    }
    setText(el.detail, detail);
    setText(el.hint, view.hint);

    if (status === "UNKNOWN") {
      var n = Number.isSafeInteger(s.poll_count) ? s.poll_count : 0;
      setText(el.pollCount, interpolate(ngettext("Checked %(count)s time", "Checked %(count)s times", n), { count: n }, true));
    } else {
      setText(el.pollCount, "");
    }

    var showCard = status === "APPROVED" || status === "DECLINED" || approvedByTerminal(s);
    var card = "";
    if (showCard && (s.card_brand || s.card_last4)) {
      card = (s.card_brand || gettext("Card")) + (s.card_last4 ? " \u2022\u2022\u2022\u2022 " + s.card_last4 : "");
    }
    var entry = showCard && s.entry_method ? ENTRY_LABELS[s.entry_method] || s.entry_method : "";
    var auth = status === "APPROVED" || approvedByTerminal(s) ? s.auth_num || "" : "";
    setRow(el.cardInfo, card);
    setRow(el.entryMethod, entry);
    setRow(el.authNum, auth);
    el.cardDetails.hidden = !(card || entry || auth);

    var canRetry = RETRYABLE.indexOf(status) !== -1;
    var done = s && !inFlight(status);
    var review = status === "NEEDS_REVIEW";
    el.retry.hidden = !canRetry;
    el.newSale.hidden = !done;
    // Needs review: the card may have been charged. The main action is to find out, never a new sale.
    el.checkAgain.hidden = !review;
    el.override.hidden = !review;
    if (!review) {
      hideOverride();
    }
    // A card receipt exists for every outcome that reached the card network, declines included, and for
    // an approval by the terminal that the gateway has not confirmed yet (it prints as such).
    var hasReceipt = !!s && (s.receipt_available === true ||
      (s.receipt_available === undefined && (status === "APPROVED" || status === "DECLINED")));
    el.receipt.hidden = !hasReceipt;
    if (hasReceipt) {
      el.receipt.href = cfg.receiptUrl.replace("{id}", encodeURIComponent(String(s.id)));
    } else {
      el.receipt.removeAttribute("href");
    }
    el.newSale.classList.toggle("btn--primary", status === "APPROVED");
    el.newSale.classList.toggle("btn--secondary", status !== "APPROVED");
    el.actions.hidden = !(done || hasReceipt);

    var meta = "";
    if (s) {
      var when = formatTime(s.finalized_at || s.answered_at || s.updated_at || s.created_at);
      meta = interpolate(gettext("Payment #%(id)s"), { id: s.id }, true) + (when ? " \u00b7 " + when : "") +
        (s.order_reference ? " \u00b7 " + interpolate(gettext("Order %(reference)s"), { reference: s.order_reference }, true) : "");
    }
    setText(el.meta, meta);
  }

  function setRow(dd, text) {
    dd.textContent = text || "";
    dd.parentNode.hidden = !text;
  }

  function showNotice(s) {
    var view = VIEWS[s.status];
    el.notice.textContent = interpolate(
      gettext("Update on earlier payment #%(id)s (%(amount)s): %(outcome)s."),
      {
        id: s.id,
        amount: formatMoney(s.total, s.currency),
        outcome: (view ? view.title.replace(/\u2026$/, "") : s.status) + (s.terminal_text ? " \u2014 " + s.terminal_text : ""),
      },
      true
    );
    el.notice.hidden = false;
  }

  /* ------------------------------------------------------------------ form */

  function focusAmount() {
    if (!el.amount.disabled) {
      el.amount.focus();
    }
  }

  function clearInputs() {
    el.amount.value = "";
    if (el.tip) {
      el.tip.value = "";
    }
    clearFieldErrors();
    updateTotal();
  }

  function fieldParts(name) {
    if (name === "amount") {
      return { input: el.amount, error: el.amountError };
    }
    if (name === "tip" && el.tip && el.tipError) {
      return { input: el.tip, error: el.tipError };
    }
    return null;
  }

  function setFieldError(name, message) {
    var parts = fieldParts(name);
    if (!parts) {
      return false;
    }
    parts.error.textContent = message;
    parts.input.setAttribute("aria-invalid", "true");
    parts.input.closest(".field").classList.add("has-error");
    return true;
  }

  function clearFieldErrors() {
    ["amount", "tip"].forEach(function (name) {
      var parts = fieldParts(name);
      if (parts) {
        parts.error.textContent = "";
        parts.input.removeAttribute("aria-invalid");
        parts.input.closest(".field").classList.remove("has-error");
      }
    });
  }

  function showFormError(message, options) {
    options = options || {};
    el.formError.textContent = "";
    var text = document.createElement("span");
    text.textContent = message;
    el.formError.appendChild(text);
    if (options.linkText && options.linkHref) {
      el.formError.appendChild(document.createTextNode(" "));
      var link = document.createElement("a");
      link.href = options.linkHref;
      link.textContent = options.linkText;
      el.formError.appendChild(link);
    }
    el.formError.dataset.kind = options.kind || "";
    el.formError.hidden = false;
  }

  function clearFormError() {
    el.formError.textContent = "";
    el.formError.dataset.kind = "";
    el.formError.hidden = true;
  }

  function capitalize(text) {
    text = String(text || "");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  /** The amounts typed, or null after showing what is wrong. */
  function readForm() {
    clearFieldErrors();
    var amount = parseCents(el.amount.value, false);
    var tip = el.tip ? parseCents(el.tip.value, true) : { ok: true, cents: 0 };
    var ok = true;
    if (!amount.ok) {
      setFieldError("amount", amount.error);
      ok = false;
    } else if (amount.cents <= 0) {
      setFieldError("amount", interpolate(gettext("The amount must be more than %(zero)s."), { zero: formatMoney(0) }, true));
      ok = false;
    }
    if (!tip.ok) {
      setFieldError("tip", tip.error);
      ok = false;
    }
    if (ok && cfg.maxAmount !== null && amount.cents + tip.cents > cfg.maxAmount) {
      var limit = { limit: formatMoney(cfg.maxAmount) };
      setFieldError(
        "amount",
        el.tip
          ? interpolate(gettext("Amount plus tip is above this store's limit of %(limit)s."), limit, true)
          : interpolate(gettext("The amount is above this store's limit of %(limit)s."), limit, true)
      );
      ok = false;
    }
    if (!ok) {
      var firstBad = el.form.querySelector("[aria-invalid=true]");
      if (firstBad) {
        firstBad.focus();
      }
      return null;
    }
    return { amount: amount.cents, tip: tip.cents };
  }

  function typedTotal() {
    var amount = parseCents(el.amount.value, false);
    var tip = el.tip ? parseCents(el.tip.value, true) : { ok: true, cents: 0 };
    return amount.ok && tip.ok && amount.cents > 0 ? amount.cents + tip.cents : null;
  }

  function updateTotal() {
    var total = typedTotal();
    el.total.textContent = formatMoney(total === null ? 0 : total);
    el.total.classList.toggle("is-empty", total === null);
    updatePayLabel();
  }

  function updatePayLabel() {
    var label;
    if (requestInFlight) {
      label = gettext("Sending\u2026");
    } else if (current && inFlight(current.status)) {
      label = gettext("Payment in progress");
    } else {
      var total = typedTotal();
      label = total === null ? gettext("Pay") : interpolate(gettext("Pay %(amount)s"), { amount: formatMoney(total) }, true);
    }
    el.payLabel.textContent = label;
  }

  function updateForm() {
    var busy = isBusy();
    el.amount.disabled = busy;
    if (el.tip) {
      el.tip.disabled = busy;
    }
    el.pay.disabled = busy;
    el.pay.classList.toggle("is-loading", requestInFlight);
    el.pay.setAttribute("aria-busy", requestInFlight ? "true" : "false");
    el.retry.disabled = requestInFlight;
    el.newSale.disabled = requestInFlight;
    root.classList.toggle("is-busy", busy);
    updatePayLabel();
  }

  /* ------------------------------------------------------------------ API */

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; a console on plain http in the store's LAN still has getRandomValues.
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) {
      return decodeURIComponent(m[1]);
    }
    var input = el.form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  function fetchJson(url, options, timeoutMs) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, timeoutMs) : null;
    options = Object.assign({ credentials: "same-origin" }, options, controller ? { signal: controller.signal } : {});
    return fetch(url, options).then(
      function (response) {
        return response.text().then(function (text) {
          clearTimeout(timer);
          var body = null;
          try {
            body = text ? JSON.parse(text) : null;
          } catch (e) {
            body = null;
          }
          return { status: response.status, body: body };
        });
      },
      function (err) {
        clearTimeout(timer);
        throw err;
      }
    );
  }

  /**
   * Sends a payment. The same body re-sent (network error, server error, the cashier pressing Pay
   * again) keeps its Idempotency-Key, so the server never starts a second charge for it.
   */
  async function sendPayment(body) {
    if (requestInFlight) {
      return;
    }
    var json = JSON.stringify(body);
    if (!intent || intent.json !== json) {
      intent = { json: json, key: newKey(), baseId: current ? current.id : null };
    }
    var sending = intent;
    requestInFlight = true;
    clearFormError();
    updateForm();
    try {
      for (var resends = 0; ; resends++) {
        var res = null;
        try {
          res = await fetchJson(
            cfg.payUrl,
            {
              method: "POST",
              headers: {
                "Content-Type": "application/json",
                Accept: "application/json",
                "X-CSRFToken": csrfToken(),
                "Idempotency-Key": sending.key,
              },
              body: sending.json,
            },
            POST_TIMEOUT_MS
          );
        } catch (err) {
          res = null;
        }
        if (res && res.status < 500) {
          handlePaymentResponse(res.status, res.body);
          return;
        }
        if (resends < POST_RESENDS) {
          await sleep(1000 * (resends + 1));
          continue;
        }
        showFormError(
          (res
            ? interpolate(gettext("The console server had a problem (HTTP %(status)s)."), { status: res.status }, true)
            : gettext("Could not reach the console server.")) +
            " " +
            gettext("Check the lane's status, then press Pay again: it re-sends the same payment and never charges twice."),
          { kind: "network" }
        );
        if (current) {
          refreshAttempt(current.id);
        }
        return;
      }
    } finally {
      requestInFlight = false;
      updateForm();
      if (!isBusy() && (document.activeElement === document.body || !document.activeElement)) {
        focusAmount();
      }
    }
  }

  function handlePaymentResponse(status, body) {
    body = body && typeof body === "object" ? body : {};
    if (status === 200 || status === 201) {
      intent = null;
      if (isSnapshot(body)) {
        liveIds.add(body.id);
        receive(body);
      }
      return;
    }
    intent = null; // a definite answer: nothing was started, the next Pay is a new request
    if (status === 400) {
      var errors = body.errors && typeof body.errors === "object" ? body.errors : {};
      var leftovers = [];
      Object.keys(errors).forEach(function (field) {
        var messages = [].concat(errors[field]).map(capitalize).join(" ");
        if (!setFieldError(field, messages)) {
          leftovers.push(messages);
        }
      });
      if (leftovers.length || !Object.keys(errors).length) {
        showFormError(leftovers.length ? leftovers.join(" ") : body.error || gettext("The payment was not sent: check the amount."));
      }
      var firstBad = el.form.querySelector("[aria-invalid=true]");
      if (firstBad) {
        setTimeout(function () { firstBad.focus(); }, 0);
      }
      return;
    }
    if (status === 401) {
      showFormError(gettext("Your session has ended; the payment was not sent."), {
        kind: "auth",
        linkText: gettext("Log in again"),
        linkHref: cfg.loginUrl,
      });
      return;
    }
    if (status === 403 && body.code === "override_not_allowed") {
      el.overrideError.textContent = body.error || gettext("A supervisor's user name and password are needed.");
      el.overridePassword.value = "";
      el.overrideSupervisor.focus();
      return;
    }
    if (status === 403) {
      if (body.code === "csrf") {
        showFormError(gettext("This page is out of date; the payment was not sent. Reload the page and try again."));
      } else {
        showFormError(body.error || gettext("You are not allowed to take payments on this lane."));
      }
      return;
    }
    if (status === 404) {
      showFormError(body.error || gettext("This lane does not exist any more."));
      return;
    }
    if (status === 409 && /^sale_/.test(body.code || "")) {
      // The sale is paid, or may be: show the attempt that says so instead of charging again.
      showFormError(body.error || gettext("This sale may not be charged again."), { kind: "sale" });
      if (isSnapshot(body.attempt)) {
        liveIds.add(body.attempt.id);
        show(body.attempt);
      }
      return;
    }
    if (status === 409) {
      if (body.code === "terminal_busy") {
        showFormError(body.error || gettext("Terminal busy: a payment is already in progress on this lane."), { kind: "busy" });
        if (isSnapshot(body.attempt)) {
          receive(body.attempt);
        }
      } else {
        showFormError(body.error || gettext("The terminal cannot take payments right now."));
      }
      return;
    }
    showFormError(body.error || interpolate(gettext("The payment was not sent (HTTP %(status)s)."), { status: status }, true));
  }

  function refreshAttempt(id) {
    return fetchJson(cfg.paymentUrl.replace("{id}", encodeURIComponent(String(id))), { headers: { Accept: "application/json" } }, 10000)
      .then(function (res) {
        if (res.status === 200) {
          receive(res.body);
        } else if (res.status === 401) {
          showFormError(gettext("Your session has ended."), { kind: "auth", linkText: gettext("Log in again"), linkHref: cfg.loginUrl });
        }
      })
      .catch(function () {
        /* offline: the next reconnect tries again */
      });
  }

  /* ------------------------------------------------------------------ actions */

  function newSale() {
    if (isBusy()) {
      return;
    }
    if (current) {
      dismissedId = dismissedId === null ? current.id : Math.max(dismissedId, current.id);
    }
    intent = null;
    show(null);
    clearInputs();
    clearFormError();
    el.notice.hidden = true;
    focusAmount();
  }

  function retry() {
    if (!current || RETRYABLE.indexOf(current.status) === -1 || requestInFlight) {
      return;
    }
    var s = current;
    clearFieldErrors();
    el.amount.value = plainAmount(s.amount);
    if (el.tip) {
      el.tip.value = s.tip > 0 ? plainAmount(s.tip) : "";
    }
    updateTotal();
    // A new attempt of the same sale: a new request body (sale_id), hence a new Idempotency-Key.
    sendPayment({ amount: s.amount, tip: s.tip, sale_id: s.sale_id });
  }

  el.form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (isBusy()) {
      return;
    }
    var nothingTyped = el.amount.value.trim() === "" && (!el.tip || el.tip.value.trim() === "");
    if (nothingTyped && current && current.status === "APPROVED") {
      newSale(); // Enter after an approval clears the screen for the next customer
      return;
    }
    var values = readForm();
    if (!values) {
      return;
    }
    sendPayment({ amount: values.amount, tip: cfg.tipsEnabled ? values.tip : 0 });
  });

  el.amount.addEventListener("input", updateTotal);
  if (el.tip) {
    el.tip.addEventListener("input", updateTotal);
  }
  [el.amount, el.tip].forEach(function (input) {
    if (!input) {
      return;
    }
    input.addEventListener("input", function () {
      if (input.getAttribute("aria-invalid") === "true") {
        var name = input === el.amount ? "amount" : "tip";
        var parts = fieldParts(name);
        parts.error.textContent = "";
        input.removeAttribute("aria-invalid");
        input.closest(".field").classList.remove("has-error");
      }
    });
  });
  /* "Check again" on a payment that needs review: the gateway is asked once more; the answer comes by websocket. */
  function checkAgain() {
    if (!current || current.status !== "NEEDS_REVIEW") {
      return;
    }
    var id = current.id;
    el.checkAgain.disabled = true;
    fetchJson(
      cfg.requeryUrl.replace("{id}", encodeURIComponent(String(id))),
      { method: "POST", headers: { Accept: "application/json", "X-CSRFToken": csrfToken() } },
      10000
    )
      .then(function (res) {
        if (res.status === 202) {
          showFormError(
            interpolate(gettext("Asked %(gateway)s again. The result shows here as soon as it answers."), { gateway: GATEWAY }, true),
            { kind: "info" }
          );
        } else if (res.status === 409 && res.body && isSnapshot(res.body.attempt)) {
          receive(res.body.attempt);
        } else {
          showFormError(
            (res.body && res.body.error) ||
              interpolate(gettext("Could not ask %(gateway)s again (HTTP %(status)s)."), { gateway: GATEWAY, status: res.status }, true)
          );
        }
      })
      .catch(function () {
        showFormError(gettext("Could not reach the console server. Try again in a moment."));
      })
      .then(function () {
        setTimeout(function () {
          el.checkAgain.disabled = false;
        }, 3000);
      });
  }

  /* "Charge again…": a supervisor's reason (and, unless they are the one logged in, their password). */
  function showOverride() {
    if (!current || current.status !== "NEEDS_REVIEW") {
      return;
    }
    el.overrideCredentials.hidden = cfg.canOverride;
    el.overrideForm.hidden = false;
    el.override.setAttribute("aria-expanded", "true");
    el.overrideError.textContent = "";
    el.overrideReason.focus();
  }

  function hideOverride() {
    el.overrideForm.hidden = true;
    el.override.setAttribute("aria-expanded", "false");
    el.overridePassword.value = "";
    el.overrideError.textContent = "";
  }

  el.overrideForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!current || current.status !== "NEEDS_REVIEW" || requestInFlight) {
      return;
    }
    var reason = el.overrideReason.value.trim();
    if (!reason) {
      el.overrideError.textContent = gettext("Say why the sale is charged again.");
      el.overrideReason.focus();
      return;
    }
    var body = { amount: current.amount, tip: current.tip, sale_id: current.sale_id, override_reason: reason };
    if (!cfg.canOverride) {
      body.supervisor = el.overrideSupervisor.value.trim();
      body.supervisor_password = el.overridePassword.value;
      if (!body.supervisor || !body.supervisor_password) {
        el.overrideError.textContent = gettext("A supervisor types their user name and password.");
        (body.supervisor ? el.overridePassword : el.overrideSupervisor).focus();
        return;
      }
    }
    var before = current.id;
    sendPayment(body).then(function () {
      intent = null; // the password is not kept for a re-send
      if (!current || current.id !== before) {
        hideOverride();
        el.overrideReason.value = "";
        el.overrideSupervisor.value = "";
      }
    });
  });

  el.retry.addEventListener("click", retry);
  el.checkAgain.addEventListener("click", checkAgain);
  el.override.addEventListener("click", function () {
    if (el.overrideForm.hidden) {
      showOverride();
    } else {
      hideOverride();
    }
  });
  el.overrideCancel.addEventListener("click", hideOverride);
  el.newSale.addEventListener("click", newSale);

  /* ------------------------------------------------------------------ websocket */

  var connectionState = "connecting";

  function setConnection(state, text) {
    connectionState = state;
    el.connection.dataset.state = state;
    el.connectionText.textContent = text;
  }

  function handleMessage(msg) {
    if (msg.type === "snapshot") {
      var reconnected = socket.connected(gettext("Connected"));
      if (msg.attempt) {
        receive(msg.attempt);
      }
      // After a reconnect, also re-read the attempt we know: pushes sent while we were away are lost.
      var known = current ? current.id : dismissedId;
      if (reconnected && known !== null) {
        refreshAttempt(known);
      }
    } else if (msg.type === "attempt") {
      receive(msg.attempt);
    }
    // "pong" only keeps the socket known to be alive
  }

  var socket = window.LiveSocket({
    path: cfg.wsPath,
    onMessage: handleMessage,
    onState: setConnection,
    refusedCodes: [4401, 4403],
    onRefused: function (code) {
      if (code === 4401) {
        setConnection("disconnected", gettext("Logged out"));
        showFormError(gettext("Your session has ended on this lane."), {
          kind: "auth",
          linkText: gettext("Log in again"),
          linkHref: cfg.loginUrl,
        });
        return;
      }
      setConnection("disconnected", gettext("Not allowed on this lane"));
      showFormError(gettext("Not allowed on this lane. Reload the page, or log in as a cashier of this lane."), {
        kind: "auth",
        linkText: gettext("Log in"),
        linkHref: cfg.loginUrl,
      });
    },
    onRetry: function () {
      // While the socket is down, an attempt in flight is still followed over plain HTTP.
      if (current && inFlight(current.status)) {
        refreshAttempt(current.id);
      }
    },
  });

  /* ------------------------------------------------------------------ start */

  if (cfg.maxAmount !== null && el.maxAmount && el.limitHint) {
    el.maxAmount.textContent = formatMoney(cfg.maxAmount);
    el.limitHint.hidden = false;
  }
  paint(null);
  updateTotal();
  updateForm();
  focusAmount();
  socket.start();

  window.checkout = {
    render: show,
    receive: receive,
    newSale: newSale,
    parseCents: parseCents,
    formatMoney: formatMoney,
    state: function () {
      return {
        status: current ? current.status : "IDLE",
        attempt: current,
        requestInFlight: requestInFlight,
        connection: connectionState,
        idempotencyKey: intent ? intent.key : null,
      };
    },
  };
})();
