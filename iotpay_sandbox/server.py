"""HTTP front of the sandbox: routing, the terminal pages, /_sandbox/ introspection, start/stop."""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from . import pages
from .answers import Reply, json_reply, now_ms
from .config import SandboxConfig
from .gateway import ENDPOINTS, Gateway
from .protocol import ERR_SYSTEM, MAX_BODY
from .store import OrderRow, RefundRow, Store
from .terminals import TerminalRegistry


class SandboxServer(ThreadingHTTPServer):
    """One daemon thread per connection; a deep accept queue for a thousand calls held open at once."""

    daemon_threads = True
    request_queue_size = 4096
    allow_reuse_address = True

    def __init__(self, config: SandboxConfig, gateway: Gateway, store: Store, terminals: TerminalRegistry) -> None:
        if ":" in config.host:
            self.address_family = socket.AF_INET6
        self.config = config
        self.gateway = gateway
        self.store = store
        self.terminals = terminals
        self._active = 0
        self._idle = threading.Condition()
        self._connections = 0  # accepted since start: how often clients opened a new connection
        self._reuses = 0  # requests on a connection that had served one before
        self._reuse_idle = 0.0  # seconds those connections had waited, idle, for them
        self._idle_races = 0  # requests dropped unread on a connection idle past --idle-race
        super().__init__((config.host, config.port), SandboxHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle:
            self._connections += 1
        super().process_request(request, client_address)

    def reused(self, idle_seconds: float) -> None:
        with self._idle:
            self._reuses += 1
            self._reuse_idle += idle_seconds

    def raced(self) -> None:
        with self._idle:
            self._idle_races += 1

    def connection_stats(self) -> dict[str, float]:
        with self._idle:
            return {"connections": self._connections, "reuses": self._reuses,
                    "reuse_idle_seconds": round(self._reuse_idle, 3), "idle_races": self._idle_races}

    def enter(self) -> None:
        with self._idle:
            self._active += 1

    def leave(self) -> None:
        with self._idle:
            self._active -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._active <= 0, timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is normal here (time-outs are part of the scenarios).
        if self.config.verbose:
            super().handle_error(request, client_address)


def order_view(row: OrderRow, create_calls: int, query_calls: int, refunds: list[RefundRow],
               at_ms: int, refund_calls: int | None = None) -> dict[str, Any]:
    return {
        "mchId": row.mch_id, "mchOrderNo": row.mch_order_no, "payOrderId": row.pay_order_id,
        "status": row.status_at(at_ms), "amount": row.amount, "tip": row.tip, "currency": row.currency,
        "device": row.device, "outcome": row.outcome, "create_calls": create_calls, "query_calls": query_calls,
        "refunds": [
            {"refundOrderId": r.refund_order_id, "mchRefundNo": r.mch_refund_no, "refundAmount": r.refund_amount,
             "refundable": r.refundable_after, "createDate": r.created_ms}
            for r in refunds
        ],
        "refundable": row.refundable_at(at_ms), "createDate": row.created_ms,
        **({"refund_calls": refund_calls} if refund_calls is not None else {}),
    }


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY a keep-alive client waits ~40 ms.
    disable_nagle_algorithm = True
    server_version = "IOTPaySandbox/1.0"
    server: SandboxServer

    def setup(self) -> None:
        super().setup()
        # A kept-alive connection idle this long is closed: the time-out applies to every read of the socket, and a
        # call waiting on its cardholder reads nothing meanwhile, so it is not cut short.
        self.connection.settimeout(self.server.config.idle_timeout)
        self._idle_since: float | None = None  # when this connection's last answer went out

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.config.verbose:
            super().log_message(format, *args)

    # ---- plumbing ----------------------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        idle = None if self._idle_since is None else time.monotonic() - self._idle_since
        if idle is not None and 0 < self.server.config.idle_race <= idle:
            # The load balancer closed this connection as the request crossed it: the gateway never reads the
            # request (no order is made) and the client gets no answer, only the connection closed.
            self.server.raced()
            self.close_connection = True
            return
        self.server.enter()
        if idle is not None:
            self.server.reused(idle)
        try:
            body = self._read_body() if method == "POST" else b""
            if body is None:
                return
            try:
                reply = self._route(method, body)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                reply = json_reply({"retCode": "FAIL", "retMsg": f"{ERR_SYSTEM} system error",
                                    "errCode": ERR_SYSTEM}, status=500)
            self._send(reply)
        finally:
            self._idle_since = time.monotonic()
            self.server.leave()

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send(Reply(status=411, body=b"Content-Length required", content_type="text/plain"))
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send(Reply(status=413, body=b"Request body too large", content_type="text/plain"))
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply) -> None:
        if reply.drop:
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up waiting

    # ---- routes ------------------------------------------------------------------------------------
    def _route(self, method: str, body: bytes) -> Reply:
        url = urlsplit(self.path)
        parts = [unquote(part) for part in url.path.split("/")[1:]]
        if url.path == "/":
            return _html(pages.index_page())
        head = parts[0]
        if head == "v1" and len(parts) == 2:
            if parts[1] not in ENDPOINTS:
                return json_reply({"retCode": "FAIL", "retMsg": f"unknown endpoint /v1/{parts[1]}"}, status=404)
            return self.server.gateway.handle(parts[1], method, self.headers.get("Content-Type", ""), body)
        if head == "terminals":
            return self._terminals(method, parts[1:], body)
        if head == "_sandbox" and method == "GET":
            return self._introspect(parts[1:], dict(parse_qsl(url.query)))
        return json_reply({"error": "not found", "path": url.path}, status=404)

    def _terminals(self, method: str, parts: list[str], body: bytes) -> Reply:
        terminals = self.server.terminals
        if not parts:
            return _redirect("/terminals/", 301)
        if parts == [""] and method == "GET":
            devices = sorted(set(terminals.devices()) | set(self.server.store.devices()))
            return _html(pages.terminals_page(devices))
        device = parts[0]
        if len(parts) == 1:
            return _redirect(pages.device_href(device), 301)
        action = parts[1] if len(parts) == 2 else None
        if action == "" and method == "GET":
            return _html(pages.terminal_page(terminals.state(device)))
        if action == "state" and method == "GET":
            return json_reply(terminals.state(device))
        if action == "press" and method == "POST":
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            pressed = terminals.press(device, form.get("action", ""))
            accept = self.headers.get("Accept", "")
            if "text/html" in accept and "application/json" not in accept:
                return _redirect(pages.device_href(device), 303)
            if not pressed:
                return json_reply({"ok": False, "error": "no interactive order is waiting for a press on "
                                   "this terminal (or the action is not approve, decline or cancel)"}, status=409)
            return json_reply({"ok": True, **terminals.state(device)})
        return json_reply({"error": "not found"}, status=404)

    def _introspect(self, parts: list[str], query: dict[str, str]) -> Reply:
        store, at = self.server.store, now_ms()
        if parts == ["health"]:
            return json_reply({"ok": True})
        if parts == ["stats"]:
            counts = store.request_counts()
            stats: dict[str, Any] = {name: counts.get(name, 0) for name in ENDPOINTS}
            stats.update(open_create_calls=self.server.gateway.open_calls,
                         busy_terminals=self.server.terminals.busy_count(),
                         **self.server.connection_stats())
            return json_reply(stats)
        if parts == ["orders"]:
            mch_id = query.get("mchId") or None
            rows = store.orders(mch_id)
            creates, queries = store.create_counts_by_order(mch_id), store.query_counts_by_order(mch_id)
            refunds = store.refunds_for([row.pay_order_id for row in rows])
            return json_reply([
                order_view(row, creates.get((row.mch_id, row.mch_order_no), 0),
                           queries.get((row.mch_id, row.pay_order_id), 0), refunds[row.pay_order_id], at)
                for row in rows
            ])
        if len(parts) == 3 and parts[0] == "orders":
            mch_id, mch_order_no = parts[1], parts[2]
            row = store.order_by_mch_order_no(mch_id, mch_order_no)
            create_calls, query_calls = store.call_counts(row, mch_id, mch_order_no)
            if row is None:
                return json_reply({"error": "no such order", "create_calls": create_calls,
                                   "query_calls": query_calls}, status=404)
            order_refunds = store.refunds_for([row.pay_order_id])[row.pay_order_id]
            return json_reply(order_view(row, create_calls, query_calls, order_refunds, at,
                                         store.refund_calls(mch_id, row.pay_order_id)))
        return json_reply({"error": "not found"}, status=404)


def _html(body: bytes) -> Reply:
    return Reply(body=body, content_type="text/html; charset=utf-8")


def _redirect(location: str, status: int) -> Reply:
    return Reply(status=status, body=b"", content_type="text/plain", headers={"Location": quote(location, safe="/%")})


class RunningSandbox:
    """A sandbox serving in a background thread of this process (tests, benchmarks, the CLI)."""

    def __init__(self, config: SandboxConfig, server: SandboxServer, stopping: threading.Event) -> None:
        self.config = config
        self._server = server
        self._stopping = stopping
        self.host = config.host
        self.port: int = server.server_address[1]
        url_host = "127.0.0.1" if config.host in ("", "0.0.0.0") else config.host  # noqa: S104 - display only
        url_host = f"[{url_host}]" if ":" in url_host else url_host
        self.url = f"http://{url_host}:{self.port}"
        self.base_url = f"{self.url}/v1"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="iotpay-sandbox", daemon=True)
        self._thread.start()
        self._stopped = False

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, wake every call waiting on a cardholder (answered by a dropped connection)."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        self._server.terminals.abort_all()
        self._server.shutdown()
        self._server.server_close()
        self._server.wait_idle(timeout)
        self._server.store.close()
        self._thread.join(timeout)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(config: SandboxConfig) -> RunningSandbox:
    """Bind, open the store and serve in a daemon thread; returns at once, ready for requests."""
    store = Store(config.data_path)
    terminals = TerminalRegistry()
    stopping = threading.Event()
    gateway = Gateway(config, store, terminals, stopping)
    try:
        server = SandboxServer(config, gateway, store, terminals)
    except OSError:
        store.close()
        raise
    return RunningSandbox(config, server, stopping)


def run_server(config: SandboxConfig) -> None:
    """Serve until SIGINT or SIGTERM (the CLI); prints the listening line once ready."""
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    sandbox = start_sandbox(config)
    print(f"IOTPay sandbox listening on http://{config.host}:{sandbox.port}/v1", flush=True)
    try:
        while not done.wait(1.0):
            pass
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
