"""A real HTTP server on 127.0.0.1 that answers what the test queued: the client is tested over the wire,
nothing patched."""

from __future__ import annotations

import json
import queue
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "iotpay"


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def gateway_signed(data: dict[str, Any], key: str, *, nested: str = "compact") -> dict[str, Any]:
    """``data`` signed as IOTPay's gateway signs an answer: nested objects as their JSON text.

    ``nested``: "compact" (key order as sent, the gateway's default), "sorted" (keys sorted), "spaced" (a
    serialisation no client can reproduce: the answer is unverifiable), "flat" (nested objects left out).
    """
    from gateways.iotpay.signing import sign

    body = {k: v for k, v in data.items() if k != "sign"}
    fields: dict[str, Any] = {}
    for name, value in body.items():
        if not isinstance(value, dict | list):
            fields[name] = value
        elif nested == "compact":
            fields[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        elif nested == "sorted":
            fields[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        elif nested == "spaced":
            fields[name] = json.dumps(value, ensure_ascii=False)
    body["sign"] = sign(fields, key)
    return body


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] = b""
    content_type: str = "application/json"
    delay: float = 0.0
    drop: bool = False  # close the connection without answering
    declared_length: int | None = None  # a Content-Length larger than the body: the body is cut off
    headers: dict[str, str] = field(default_factory=dict)  # more headers (a load balancer's cookie)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    raw_body: bytes
    form: dict[str, list[str]]
    params: dict[str, Any] | None


@dataclass
class CannedServer:
    url: str
    replies: queue.Queue[Reply] = field(default_factory=queue.Queue)
    received: list[Received] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def reply(
        self,
        body: bytes | str | dict[str, Any] = b"",
        *,
        status: int = 200,
        content_type: str = "application/json",
        delay: float = 0.0,
        drop: bool = False,
        declared_length: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.replies.put(Reply(status, body, content_type, delay, drop, declared_length, headers or {}))

    @property
    def last(self) -> Received:
        assert self.received, "the server received no request"
        return self.received[-1]


def _handler(server: CannedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            params = json.loads(form["params"][0]) if "params" in form else None
            server.received.append(
                Received(self.command, self.path, dict(self.headers.items()), raw, form, params)
            )
            try:
                reply = server.replies.get_nowait()
            except queue.Empty:
                reply = Reply(status=599, body=b"no reply queued", content_type="text/plain")
            if reply.delay and server.stopping.wait(reply.delay):
                return
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            body = reply.body
            if isinstance(body, dict):
                body = json.dumps(body, ensure_ascii=False)
            if isinstance(body, str):
                body = body.encode("utf-8")
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(reply.declared_length or len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
                if reply.declared_length:
                    self.wfile.flush()
                    self.close_connection = True
            except OSError:
                self.close_connection = True  # the client gave up (time-out test)

    return Handler


@pytest.fixture
def canned_server() -> Iterator[CannedServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    server = CannedServer(url=f"http://{host}:{port}/v1")
    httpd.RequestHandlerClass = _handler(server)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="canned-iotpay", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    """A URL on which nothing listens: the connection is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
