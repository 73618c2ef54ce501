"""Error reports (store_console/error_reports.py) against a real HTTP server standing in for Sentry's intake:
sent only with SENTRY_DSN, and with merchant keys, signatures, tokens and card data scrubbed out."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.processes import ROOT

SECRET_KEY_VALUE = "mk-0123456789abcdef-SECRET"
CARD_LAST4 = "4021"
SIGN_VALUE = "D41D8CD98F00B204E9800998ECF8427E"

SCRIPT = f"""
import sentry_sdk
from store_console.error_reports import init_error_reports

started = init_error_reports("unit test")
print("started" if started else "off")

def charge():
    merchant_key = {SECRET_KEY_VALUE!r}
    card = {{"card_last4": {CARD_LAST4!r}, "card_brand": "VISA"}}
    sign = {SIGN_VALUE!r}
    raise RuntimeError("the gateway said no")

try:
    charge()
except RuntimeError as exc:
    sentry_sdk.capture_exception(exc)
sentry_sdk.flush(5)
"""


class Intake:
    """Records every envelope POSTed to it, decompressed."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                outer.bodies.append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def run(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in {**os.environ, **env}.items() if k != "SENTRY_DSN" or v})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_an_error_is_reported_with_keys_signatures_and_card_data_scrubbed():
    intake = Intake()
    try:
        assert run({"SENTRY_DSN": f"http://public@127.0.0.1:{intake.port}/1"}) == "started"
    finally:
        intake.server.shutdown()
    sent = b"".join(intake.bodies)
    assert b"RuntimeError" in sent and b"the gateway said no" in sent and b"charge" in sent
    assert SECRET_KEY_VALUE.encode() not in sent
    assert SIGN_VALUE.encode() not in sent
    # As a value, not as four digits anywhere: the envelope also carries random ids, times and the DSN's port
    # (a port 40213 holds "4021"), and the SDK writes a variable's string as its repr ('4021').
    assert not re.search(rb"(?<![0-9A-Za-z])" + CARD_LAST4.encode() + rb"(?![0-9A-Za-z])", sent)
    assert b"VISA" not in sent
    assert b"[Filtered]" in sent  # the variables are there, their values are not


def test_nothing_is_sent_without_a_dsn():
    assert run({"SENTRY_DSN": ""}) == "off"


# A worker as it starts (its start-up signal, where error reports begin); the test adds Daphne's application. The SDK
# and its integrations cost each process about 3 MiB and 80 modules (store_console/error_reports.py).
WORKER = """
from celery.signals import celeryd_init
from store_console.celery import app
celeryd_init.send(sender="gateway@test", instance=None, conf=app.conf, options={})
"""


def test_no_process_loads_sentry_without_a_dsn():
    script = WORKER + "import store_console.asgi, sys\nprint(sorted(m for m in sys.modules if m.startswith('sentry')))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "SENTRY_DSN"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
