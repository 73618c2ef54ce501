"""The console's calls to the gateway over TLS: verified as before, with the CA bundle read once per process.

An HTTPS server of the test's own (certificates from ``trustme``) answers every call, and closes the connection
after it, so every call is a new TLS connection (one test keeps them alive). The bundle is named by ``REQUESTS_CA_BUNDLE``, as on a store's
server (gateways/transport.py).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from gateways.iotpay import GatewayRefused, IOTPayClient, OutcomeUnknown
from payments.gateways import _session

ANSWER = json.dumps({"retCode": "FAIL", "retMsg": "not a real gateway"}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _CountingServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.count()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER)))
        if not self.server.keep_alive:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(ANSWER)
        self.close_connection = not self.server.keep_alive

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    requests_received = 0
    connections_accepted = 0
    keep_alive = False
    _lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self.connections_accepted += 1
        super().process_request(request, client_address)

    def count(self) -> None:
        with self._lock:
            self.requests_received += 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that refused our certificate hangs up: expected here


@dataclass
class TlsGateway:
    url: str
    server: _CountingServer
    ca_bundle: Path  # the authority that signed the server's certificate, as a PEM file


def tls_gateway(tmp_path: Path, host_in_certificate: str) -> Iterator[TlsGateway]:
    authority = trustme.CA()
    server = _CountingServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert(host_in_certificate).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    bundle = tmp_path / "gateway-ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    try:
        yield TlsGateway(f"https://localhost:{server.server_address[1]}/v1", server, bundle)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[TlsGateway]:
    yield from tls_gateway(tmp_path, "localhost")


@pytest.fixture
def gateway_named_otherwise(tmp_path: Path) -> Iterator[TlsGateway]:
    yield from tls_gateway(tmp_path, "gateway.elsewhere.example")


def query_in_new_thread(url: str, settings: Any) -> BaseException:
    """A query_order as a gateway worker's new thread makes it (its session reads the environment); the error the
    call ended in (the test server's answer is a refusal)."""
    settings.IOTPAY_BASE_URL = url

    def query() -> BaseException:
        client = IOTPayClient(base_url=url, mch_id="10000576", key="TESTKEY123", session=_session(),
                              connect_timeout=2, read_timeout=5)
        try:
            client.query_order(mch_order_no="SC1")
        except Exception as exc:  # the test looks at which
            return exc
        raise AssertionError("the test server's refusal did not reach the caller")

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(query).result(timeout=30)


def test_calls_verify_against_the_bundle_the_environment_names(gateway: TlsGateway, settings: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(gateway.ca_bundle))

    for _ in range(3):  # three new connections: the server closes each after its answer
        assert isinstance(query_in_new_thread(gateway.url, settings), GatewayRefused)

    assert gateway.server.requests_received == 3


def test_a_certificate_from_another_authority_is_refused(gateway: TlsGateway, settings: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))

    error = query_in_new_thread(gateway.url, settings)

    assert isinstance(error, OutcomeUnknown) and "CERTIFICATE_VERIFY_FAILED" in str(error)
    assert gateway.server.requests_received == 0


def test_a_certificate_for_another_host_is_refused(gateway_named_otherwise: TlsGateway, settings: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(gateway_named_otherwise.ca_bundle))

    error = query_in_new_thread(gateway_named_otherwise.url, settings)

    assert isinstance(error, OutcomeUnknown)
    assert gateway_named_otherwise.server.requests_received == 0


def test_the_bundle_is_read_once_not_for_every_new_connection(gateway: TlsGateway, settings: Any,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(gateway.ca_bundle))
    assert isinstance(query_in_new_thread(gateway.url, settings), GatewayRefused)

    # The file now names another authority only. Read again for the next connection, it would refuse the server;
    # the process's copy, read at the first connection, still verifies it (a new bundle takes a restart).
    trustme.CA().cert_pem.write_to_path(str(gateway.ca_bundle))
    assert isinstance(query_in_new_thread(gateway.url, settings), GatewayRefused)

    assert gateway.server.requests_received == 2


def test_a_connection_idle_past_the_limit_is_replaced_by_a_new_verified_one(
    gateway: TlsGateway, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(gateway.ca_bundle))
    gateway.server.keep_alive = True
    settings.GATEWAY_KEEPALIVE_IDLE_MAX = 0.3
    settings.IOTPAY_BASE_URL = gateway.url
    client = IOTPayClient(base_url=gateway.url, mch_id="10000576", key="TESTKEY123", session=_session(),
                          connect_timeout=2, read_timeout=5)
    for pause in (0, 0.05, 0.5, 0.05):  # kept alive, kept alive, idle too long, kept alive
        time.sleep(pause)
        with pytest.raises(GatewayRefused):  # the server's answer, read over a verified connection
            client.query_order(mch_order_no="SC1")

    assert gateway.server.requests_received == 4
    assert gateway.server.connections_accepted == 2
