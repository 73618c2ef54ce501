/* Reconciliation dashboard: start "verify the day" without leaving the page and follow its progress; close an
 * exception with the page's one close form.
 *
 * The page works without this script (the Verify form posts and redirects back, Re-query posts), except for
 * closing an exception, whose Close… buttons stay hidden without it. With it, the POST is sent with fetch, the
 * run's small JSON progress is read once a second, and when the run finishes the day's figures and exceptions are
 * re-read from the server and swapped in. Its few words come from Django's JavaScript catalog (gettext, from
 * /jsi18n/); the run's label is the server's, already translated.
 *
 * The server draws the close form once, in a <template>, not once per exception: opening a row's Close… moves
 * that form into the row, its action the row's close URL and its kind the row's.
 */
(function () {
  "use strict";

  var POLL_MS = 1000;
  var timer = null;

  function $(id) { return document.getElementById(id); }

  // The bar's width is set here, not in a style attribute: the Content-Security-Policy allows no inline style.
  function paintBars(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(".bo-progress__fill[data-percent]"), function (fill) {
      fill.style.width = Math.max(0, Math.min(100, Number(fill.dataset.percent) || 0)) + "%";
    });
  }
  paintBars(document);

  function render(run) {
    var panel = $("verification");
    if (!panel || !run) return;
    panel.dataset.status = run.status;
    var bar = $("verify-bar");
    if (bar) {
      bar.setAttribute("aria-valuemax", String(run.total));
      bar.setAttribute("aria-valuenow", String(run.done));
      var fill = bar.querySelector(".bo-progress__fill");
      if (fill) fill.style.width = run.percent + "%";
    }
    var label = $("verify-progress");
    if (label) label.textContent = run.label + (run.status === "FINISHED" ? " · " + pgettext("verification", "finished") : "");
    var meta = $("verification-meta");
    if (meta) meta.textContent = run.meta || "";
    var button = $("verify-button");
    if (button) button.disabled = run.status === "RUNNING" && !run.stalled;
  }

  function refreshDay() {
    // The server renders the figures; re-read them rather than recomputing anything here.
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("day-data");
        var current = $("day-data");
        if (fresh && current) {
          current.replaceWith(fresh);
          showCloseButtons(fresh);
        }
      })
      .catch(function () { /* the figures stay as they were; a reload shows them */ });
  }

  function poll(url) {
    if (timer) clearTimeout(timer);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body || !body.run) { timer = setTimeout(function () { poll(url); }, POLL_MS * 3); return; }
        render(body.run);
        if (body.run.status === "RUNNING") {
          // A stopped run is still polled, more slowly: a manager may resume it from another window.
          timer = setTimeout(function () { poll(url); }, body.run.stalled ? POLL_MS * 10 : POLL_MS);
        } else {
          refreshDay().then(function () {
            render(body.run);
            var panel = $("verification");
            if (panel) panel.dataset.progressUrl = url;
          });
        }
      })
      .catch(function () { timer = setTimeout(function () { poll(url); }, POLL_MS * 3); });
  }

  function startVerify(event) {
    var form = event.target;
    if (!window.fetch || !form || form.id !== "verify-form") return;
    event.preventDefault();
    var button = $("verify-button");
    if (button) button.disabled = true;
    var label = $("verify-progress");
    if (label) label.textContent = gettext("Starting…");
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]").value
      },
      body: new FormData(form)
    })
      .then(function (response) { return response.json().then(function (body) { return [response, body]; }); })
      .then(function (pair) {
        var response = pair[0], body = pair[1];
        if (!response.ok || !body.run) {
          if (label) label.textContent = (body && body.error) || gettext("Could not start the verification.");
          if (button) button.disabled = false;
          return;
        }
        var panel = $("verification");
        if (panel) panel.dataset.progressUrl = body.progress_url;
        render(body.run);
        poll(body.progress_url);
      })
      .catch(function () {
        if (label) label.textContent = gettext("Could not reach the console. Try again.");
        if (button) button.disabled = false;
      });
  }

  document.addEventListener("submit", startVerify);

  function showCloseButtons(root) {
    Array.prototype.forEach.call(root.querySelectorAll(".bo-close[hidden]"), function (details) {
      details.hidden = false;
    });
  }
  showCloseButtons(document);

  function closeForm() {
    var form = $("close-form");
    if (form) return form;
    var template = $("close-form-template");
    return template ? template.content.firstElementChild.cloneNode(true) : null;
  }

  function openClose(details) {
    Array.prototype.forEach.call(document.querySelectorAll(".bo-close[open]"), function (other) {
      if (other !== details) other.open = false;
    });
    var form = closeForm();
    var row = details.closest("[data-kind]");
    if (!form || !row) return;
    if (form.parentNode !== details) {
      form.reset();  // what was typed for another exception
      details.appendChild(form);
    }
    form.action = details.dataset.url;
    form.elements.kind.value = row.dataset.kind;
    var needsOutcome = details.hasAttribute("data-needs-outcome");
    var outcome = form.querySelector(".bo-close__outcome");
    outcome.hidden = !needsOutcome;
    outcome.disabled = !needsOutcome;  // a disabled fieldset's fields are neither required nor sent
    (needsOutcome ? form.elements.outcome : form.elements.reason).focus();
  }

  // "toggle" does not bubble: it is caught on its way down.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.classList && details.classList.contains("bo-close") && details.open) openClose(details);
  }, true);

  document.addEventListener("keydown", function (event) {
    var open = event.key === "Escape" ? document.querySelector(".bo-close[open]") : null;
    if (!open) return;
    open.open = false;
    open.querySelector("summary").focus();
  });

  // Choosing another store or day shows it at once.
  ["store-select", "day-input"].forEach(function (id) {
    var field = $(id);
    if (field) field.addEventListener("change", function () { if (field.value) field.form.submit(); });
  });

  var panel = $("verification");
  if (panel && panel.dataset.status === "RUNNING" && panel.dataset.progressUrl) {
    poll(panel.dataset.progressUrl);
  }
})();
