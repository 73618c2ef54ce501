"""Talking to the IOTPay sandbox directly, on IOTPay's wire, without the console's client: signed bodies,
its own test endpoints, and the times it recorded for each order."""

from __future__ import annotations

import http.client
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from iotpay_sandbox.signing import sign
from iotpay_sandbox.store import read_order_times

ROOT = Path(__file__).resolve().parent.parent


def iotpay_body(fields: dict[str, Any], key: str) -> bytes:
    """A signed IOTPay request body (`params=<JSON>`, form-encoded), signed with the sandbox's own signing
    code (the bench talks to the sandbox without the console's client)."""


    signed = {**fields, "sign": sign(fields, key)}
    return urlencode({"params": json.dumps(signed, separators=(",", ":"))}).encode()


def sandbox_request(port: int, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request to the sandbox on a fresh connection: its keep-alive answers lag ~40 ms (headers and body
    leave in two writes, the second held by Nagle until the client's delayed ACK), which would blur a 10 ms
    probe."""

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = urlencode(form) if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def sandbox_order_times(data_path: Path, gateway_account: str) -> dict[str, dict[str, float | None]]:
    """receivedAt / paidAt / answeredAt (epoch seconds) of every order of a merchant, by mchOrderNo, read
    from the sandbox's data file (`Console` keeps it at `<workdir>/sandbox.sqlite3`)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    return read_order_times(str(data_path), gateway_account)
