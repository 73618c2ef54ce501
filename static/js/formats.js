/**
 * The page's language and its money, for every page script (loaded by base.html after Django's JavaScript
 * catalog): window.consoleFormats = { language: "fr" | "en", locale: "fr-CA" | "en-CA", money(cents, currency) }.
 * The server writes the same figures (payments/formats.py): "12,50 $" in French, "$12.50" in English.
 */
(function () {
  "use strict";

  var LANG = String(document.documentElement.lang || "en").toLowerCase().split("-")[0];
  var LOCALE = LANG === "fr" ? "fr-CA" : "en-CA";
  var moneyFormats = {};

  /** Integer cents only: Intl gets an exact decimal string ("12.50"), never a float; "—" for anything else. */
  function money(cents, currency) {
    if (typeof cents !== "number" || !Number.isSafeInteger(cents)) {
      return "\u2014";
    }
    var negative = cents < 0;
    var digits = String(negative ? -cents : cents);
    while (digits.length < 3) {
      digits = "0" + digits;
    }
    var decimal = (negative ? "-" : "") + digits.slice(0, -2) + "." + digits.slice(-2);
    var code = String(currency || "CAD").toUpperCase();
    if (!moneyFormats[code]) {
      try {
        moneyFormats[code] = new Intl.NumberFormat(LOCALE, { style: "currency", currency: code });
      } catch (e) {
        return decimal + " " + code; // a currency code Intl does not know
      }
    }
    return moneyFormats[code].format(decimal);
  }

  window.consoleFormats = { language: LANG, locale: LOCALE, money: money };
})();
