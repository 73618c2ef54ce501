"""HTML of the virtual terminal pages. Every value rendered goes through ``html.escape``; the page's
script only ever sets ``textContent``, so a device name or receipt text cannot inject markup."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

_STYLE = """
:root { color-scheme: dark; }
body { margin: 0; min-height: 100vh; background: #1c1e22; color: #e8eaed;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 420px; margin: 24px auto; padding: 0 12px; }
a { color: #8ab4f8; }
.banner { font-size: 13px; color: #f6c26b; text-align: center; margin-bottom: 10px; }
.terminal { background: #0b0c0e; border-radius: 28px; padding: 22px 18px 26px;
            box-shadow: 0 10px 40px #000a, inset 0 0 0 2px #2a2d33; }
.brand { text-align: center; letter-spacing: .3em; color: #777d86; font-size: 12px; margin-bottom: 10px; }
.screen { background: #f4f7fb; color: #101418; border-radius: 10px; padding: 18px 16px; min-height: 230px;
          display: flex; flex-direction: column; justify-content: space-between; }
.device { font-size: 13px; color: #4d5560; word-break: break-all; }
.amount { font-size: 46px; font-weight: 700; text-align: center; margin: 14px 0 6px;
          font-variant-numeric: tabular-nums; }
.display { font-size: 22px; text-align: center; font-weight: 600; min-height: 2.4em; }
.state-result .display { font-size: 18px; }
.meta { font-size: 12px; color: #5b636e; text-align: center; min-height: 1.2em; word-break: break-all; }
.keys { display: grid; grid-template-columns: repeat(3, 1fr); gap: 10px; margin-top: 18px; }
.keys form { margin: 0; }
.keys button { width: 100%; padding: 16px 0; border: 0; border-radius: 10px; font-size: 17px; font-weight: 700;
               color: #fff; cursor: pointer; }
.keys button:disabled { opacity: .3; cursor: not-allowed; }
.approve { background: #1e9e4a; } .decline { background: #d9a400; } .cancel { background: #d33b2c; }
.conn { font-size: 12px; color: #777d86; text-align: center; margin-top: 12px; }
ul.devices { list-style: none; padding: 0; } ul.devices li { margin: 10px 0; font-size: 18px; }
"""

_SCRIPT = """
(function () {
  var el = function (id) { return document.getElementById(id); };
  var buttons = document.querySelectorAll(".keys button");
  function render(s) {
    el("amount").textContent = s.amount || "";
    el("display").textContent = s.display || "Idle";
    el("meta").textContent = s.mchOrderNo ? "Order " + s.mchOrderNo : (s.lastResult ? "Last result" : "");
    document.body.className = "state-" + s.state;
    buttons.forEach(function (b) { b.disabled = !s.canPress; });
    el("conn").textContent = "Updated " + new Date().toLocaleTimeString();
  }
  function refresh() {
    fetch("state", {cache: "no-store"}).then(function (r) { return r.json(); }).then(render)
      .catch(function () { el("conn").textContent = "Sandbox not reachable"; });
  }
  document.querySelectorAll(".keys form").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var action = form.querySelector("input[name=action]").value;
      fetch("press", {method: "POST", body: new URLSearchParams({action: action}),
                      headers: {"Accept": "application/json"}}).then(refresh);
    });
  });
  setInterval(refresh, 500);
  refresh();
})();
"""


def _page(title: str, body: str, script: str = "") -> bytes:
    tail = f"<script>{script}</script>" if script else ""
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><p class=\"banner\">IOTPay SANDBOX — test use only, not IOTPay</p>{body}</main>{tail}"
        "</body></html>"
    ).encode()


def device_href(device: str) -> str:
    return f"/terminals/{quote(device, safe='')}/"


def index_page() -> bytes:
    return _page("IOTPay sandbox", (
        "<h1>IOTPay sandbox</h1><ul>"
        "<li><a href=\"/terminals/\">Virtual PAX terminals</a></li>"
        "<li>API: POST /v1/create_order, /v1/query_order, /v1/refund_order</li>"
        "<li><a href=\"/_sandbox/stats\">/_sandbox/stats</a></li></ul>"
    ))


def terminals_page(devices: list[str]) -> bytes:
    if devices:
        items = "".join(f"<li><a href=\"{escape(device_href(d))}\">{escape(d)}</a></li>" for d in devices)
        listing = f"<ul class=\"devices\">{items}</ul>"
    else:
        listing = "<p>No terminal yet: a device appears when a create_order names it.</p>"
    return _page("Virtual PAX terminals", f"<h1>Virtual PAX terminals</h1>{listing}")


def terminal_page(state: dict[str, Any]) -> bytes:
    """The screen of one device; it refreshes itself from ``state`` every 500 ms."""
    device = str(state["device"])
    disabled = "" if state.get("canPress") else " disabled"
    keys = "".join(
        f"<form method=\"post\" action=\"press\"><input type=\"hidden\" name=\"action\" value=\"{action}\">"
        f"<button type=\"submit\" class=\"{action}\"{disabled}>{label}</button></form>"
        for action, label in (("approve", "Approve"), ("decline", "Decline"), ("cancel", "Cancel"))
    )
    meta = f"Order {state['mchOrderNo']}" if state.get("mchOrderNo") else ""
    body = (
        "<div class=\"terminal\"><div class=\"brand\">PAX · VIRTUAL</div><div class=\"screen\">"
        f"<div class=\"device\">Terminal {escape(device)}</div>"
        f"<div class=\"amount\" id=\"amount\">{escape(str(state.get('amount', '')))}</div>"
        f"<div class=\"display\" id=\"display\">{escape(str(state.get('display', 'Idle')))}</div>"
        f"<div class=\"meta\" id=\"meta\">{escape(meta)}</div></div>"
        f"<div class=\"keys\">{keys}</div><div class=\"conn\" id=\"conn\"></div></div>"
        "<p><a href=\"/terminals/\">All terminals</a></p>"
    )
    return _page(f"Terminal {device}", body, _SCRIPT)
