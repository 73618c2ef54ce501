/*
 * The back office's payment page.
 * - Refunds in flight ([data-refund-live] = the refund's JSON URL) are polled every second; the page
 *   reloads once one is final, so the balance, the trail and the receipt link are the server's.
 * - The refund form: "Full" fills the balance, the button says how much, a second press is ignored
 *   (the server refunds once per idempotency key anyway).
 * No inline script, so the page works under a strict Content-Security-Policy. Words come from Django's
 * JavaScript catalog (gettext, interpolate, pgettext: /jsi18n/); the amount on the button follows the page's
 * language ("Rembourser 12,50 $").
 */
(function () {
  "use strict";

  // A refund is sent once: with no clear answer it needs review (the page reloads to offer the check).
  var IN_FLIGHT = { CREATED: true, SENT: true };
  var page = document.querySelector("[data-gateway]");
  var GATEWAY = (page && page.getAttribute("data-gateway")) || gettext("the gateway"); // its name, as staff know it
  var named = { gateway_name: GATEWAY };
  var BANNER_WORDS = {
    CREATED: interpolate(gettext("sending to %(gateway_name)s…"), named, true),
    SENT: interpolate(gettext("sent to %(gateway_name)s, waiting for its answer…"), named, true),
  };
  var BADGE_WORDS = {
    CREATED: pgettext("payment status", "Created"),
    SENT: interpolate(gettext("Sent to %(gateway_name)s"), named, true),
  };

  /* ------------------------------------------------------------------ live refunds */

  var live = document.querySelectorAll("[data-refund-live]");
  var urls = [];
  Array.prototype.forEach.call(live, function (el) {
    var url = el.getAttribute("data-refund-live");
    if (url && urls.indexOf(url) === -1) {
      urls.push(url);
    }
  });

  function paint(url, snapshot) {
    Array.prototype.forEach.call(live, function (el) {
      if (el.getAttribute("data-refund-live") !== url) {
        return;
      }
      var isBanner = el.classList.contains("refund-banner");
      if (isBanner) {
        el.setAttribute("data-status", snapshot.status);
      }
      var label = el.querySelector("[data-refund-label]");
      if (label) {
        label.setAttribute("data-status", snapshot.status);
        label.textContent = (isBanner ? BANNER_WORDS : BADGE_WORDS)[snapshot.status] || snapshot.status;
      }
    });
  }

  function poll(url) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (snapshot) {
        if (IN_FLIGHT[snapshot.status]) {
          paint(url, snapshot);
          window.setTimeout(poll, 1000, url);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        window.setTimeout(poll, 2000, url); // offline for a moment: keep trying, a little slower
      });
  }

  urls.forEach(function (url) {
    window.setTimeout(poll, 1000, url);
  });

  /* ------------------------------------------------------------------ refund form */

  var form = document.getElementById("refund-form");
  if (!form) {
    return;
  }
  var amount = document.getElementById("id_amount");
  var submit = document.getElementById("refund-submit");
  var submitLabel = submit.querySelector("[data-submit-label]");

  function dollars(text) {
    var cleaned = String(text || "").trim().replace(/^\$/, "").trim();
    var match = /^(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d{1,2}))?$/.exec(cleaned);
    if (!cleaned || !match || (match[1] === undefined && match[2] === undefined)) {
      return null;
    }
    var cents = parseInt((match[1] || "0").replace(/,/g, ""), 10) * 100 + parseInt((match[2] || "0").padEnd(2, "0"), 10);
    return cents > 0 ? cents : null;
  }

  function label() {
    var cents = dollars(amount.value);
    submitLabel.textContent = cents === null
      ? pgettext("verb", "Refund")
      : interpolate(pgettext("verb", "Refund %(amount)s"), { amount: window.consoleFormats.money(cents, "CAD") }, true);
  }

  Array.prototype.forEach.call(form.querySelectorAll("[data-fill-amount]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      amount.value = button.getAttribute("data-fill-amount");
      label();
      document.getElementById("id_reason").focus();
    });
  });
  amount.addEventListener("input", label);
  label();

  var sent = false;
  form.addEventListener("submit", function (event) {
    if (sent) {
      event.preventDefault();
      return;
    }
    sent = true;
    submit.classList.add("is-loading");
    submit.setAttribute("aria-disabled", "true");
  });
})();
