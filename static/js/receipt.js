/*
 * The receipt page: the Print button (shown only when this script runs, since it needs it).
 * No inline script anywhere, so the page works under a strict Content-Security-Policy.
 */
(function () {
  "use strict";

  var buttons = document.querySelectorAll("[data-receipt-print]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
