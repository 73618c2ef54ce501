#!/usr/bin/env python3
"""A register's first step with the store console: charge a sale on a lane, hear how it ended.

What a point-of-sale program does, in one file with `requests` as its only dependency:

1. it listens on a local port for the console's webhooks (a small HTTP server on a thread);
2. it charges the sale: ``POST /api/lanes/<lane>/payments`` with ``Authorization: Bearer <API key>``, the
   amount in cents, its own ``reference`` and an ``Idempotency-Key`` (sent again, the same request charges
   once);
3. it waits for the webhook of that payment (``payment.approved``, ``payment.declined``, ...), checks its
   ``Console-Signature`` with the endpoint's secret (HMAC-SHA256 of ``"<t>.<raw body>"``, at most five minutes
   old) and prints the outcome. If no webhook comes in time, it reads the payment with
   ``GET /api/payments/<id>`` instead: webhooks are delivered at least once, but a register never hangs on one.

Set-up (docs/api.md, docs/webhooks.md; the README's "Integrating a register"):

    python manage.py create_api_key --store "Demo Store" --name register-1 \\
        --scopes payments:write payments:read                      # prints the key on its last line
    python manage.py add_webhook --store "Demo Store" --url http://127.0.0.1:8099/webhooks \\
        --events payment.approved payment.declined payment.failed payment.needs_review payment.unknown
                                                                   # prints the secret on its last line
    CONSOLE_API_KEY=sck_... CONSOLE_WEBHOOK_SECRET=whsec_... \\
        python examples/pos_client.py --console http://127.0.0.1:8000 --lane 1 --amount 1250 --listen 8099

Exit status: 0 approved, 1 declined or failed, 2 needs review / unknown (look at the terminal and the back
office before charging again), 3 a usage or connection error.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

TOLERANCE = 300  # seconds: an older signature is refused (a replayed webhook)
FINAL = {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}
EXIT = {"APPROVED": 0, "DECLINED": 1, "FAILED": 1, "NEEDS_REVIEW": 2, "UNKNOWN": 2}


def verify_signature(secret: str, header: str, body: bytes, *, now: float | None = None) -> bool:
    """True when ``Console-Signature: t=<unix seconds>,v1=<hex>`` signs this exact body with ``secret``."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


class Webhooks:
    """A local HTTP server that accepts the console's webhooks, keeps the verified ones, refuses the others."""

    def __init__(self, port: int, secret: str, path: str = "/webhooks") -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: set[str] = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != path or not verify_signature(secret, self.headers.get("Console-Signature", ""), body):
                    self.send_response(400)
                    self.end_headers()
                    return
                self.send_response(204)  # answer fast; the work is done on our side of the queue
                self.end_headers()
                event = json.loads(body)
                if event["id"] not in outer.seen:  # at least once: the same event may come twice
                    outer.seen.add(event["id"])
                    outer.events.put(event)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, payment_id: int, timeout: float) -> dict[str, Any] | None:
        """The first verified event about this payment that says how it ended, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if event["type"].startswith("payment.") and event["data"].get("id") == payment_id:
                return event
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def charge(console: str, key: str, lane: str, amount: int, reference: str) -> dict[str, Any]:
    """POST the sale; the payment's snapshot (it is on its way to the terminal), or SystemExit on an error."""
    response = requests.post(
        f"{console}/api/lanes/{lane}/payments",
        json={"amount": amount, "reference": reference},
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"{reference}-{amount}"},
        timeout=15,
    )
    body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
    if response.status_code not in (200, 201):
        print(f"refused: HTTP {response.status_code} {body.get('code', '')}: {body.get('error', response.text)}")
        raise SystemExit(3)
    return dict(body)


def read_payment(console: str, key: str, payment_id: int) -> dict[str, Any]:
    response = requests.get(f"{console}/api/payments/{payment_id}", headers={"Authorization": f"Bearer {key}"},
                            timeout=15)
    response.raise_for_status()
    return dict(response.json())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--console", default="http://127.0.0.1:8000", help="the console's address")
    parser.add_argument("--lane", required=True, help="the lane's code, e.g. 1")
    parser.add_argument("--amount", type=int, required=True, help="in cents: 1250 is $12.50")
    parser.add_argument("--reference", default="", help="the register's own reference (default: a new one)")
    parser.add_argument("--listen", type=int, default=8099, help="local port for the webhooks (8099)")
    parser.add_argument("--wait", type=float, default=180, help="seconds to wait for the outcome (180)")
    args = parser.parse_args(argv)
    key, secret = os.environ.get("CONSOLE_API_KEY", ""), os.environ.get("CONSOLE_WEBHOOK_SECRET", "")
    if not key or not secret:
        print("set CONSOLE_API_KEY (create_api_key) and CONSOLE_WEBHOOK_SECRET (add_webhook)", file=sys.stderr)
        return 3
    reference = args.reference or f"REG-{uuid.uuid4().hex[:10].upper()}"
    hooks = Webhooks(args.listen, secret)
    try:
        try:
            payment = charge(args.console.rstrip("/"), key, args.lane, args.amount, reference)
        except requests.RequestException as exc:
            print(f"could not reach the console: {exc}")
            return 3
        print(f"payment {payment['id']} ({reference}) sent to lane {args.lane}: {payment['status']}")
        event = hooks.wait_for(payment["id"], args.wait) if payment["status"] not in FINAL else None
        if event is not None:
            print(f"webhook {event['type']} ({event['id']}) for {event['data'].get('reference')}, "
                  "signature verified")
            payment = event["data"]
        elif payment["status"] not in FINAL:
            print("no webhook in time: reading the payment instead")
            payment = read_payment(args.console.rstrip("/"), key, payment["id"])
    finally:
        hooks.close()
    status = payment["status"]
    card = f"{payment.get('card_brand') or ''} {payment.get('card_last4') or ''}".strip()
    print(f"outcome: {status} {payment.get('message') or ''}".rstrip() + (f" ({card})" if card else ""))
    return EXIT.get(status, 2)


if __name__ == "__main__":
    raise SystemExit(main())
