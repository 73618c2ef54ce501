"""What a new connection to an HTTPS gateway costs the console's CPU, and what the console's transport saves of it.

Claim (issue 16, part 1, "connection reuse to the gateway"): against IOTPay (HTTPS), a call on a new connection
costs the calling thread far more CPU than a call on a kept-alive one, most of it urllib3 reading the CA bundle
again for every new connection; ``gateways.transport.GatewayAdapter`` reads it once per process, and the process's
one pool of connections (``payments.gateways``) makes new connections rare (push_latency prints how many).

How: an HTTPS server in this process (certificates from ``trustme``; TLS 1.3, the server's key RSA 2048 as most
public sites' are) answers each call at once; the client is the console's ``IOTPayClient`` sending query_order.
The bundle is the machine's (``REQUESTS_CA_BUNDLE``, else certifi's) with the test authority added, so it is as
large as a store's server reads. Three ways, alternated, ``--calls`` calls each per round, ``--rounds`` rounds:
(1) a new connection per call with requests' own adapter (what the console did before), (2) a new connection per
call with ``GatewayAdapter``, (3) one kept-alive connection. The figure is the calling thread's CPU per call
(``time.thread_time``; the server's threads are not in it).

    .venv/bin/python -m bench.gateway_tls [--calls 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import trustme
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from bench import figures, measure
from bench.figures import Row
from gateways.iotpay import IOTPayClient, IOTPayError
from gateways.transport import GatewayAdapter

BENCH = "gateway_tls"
ANSWER = json.dumps({"retCode": "FAIL", "retMsg": "benchmark"}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms wait for the client's ACK

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@contextlib.contextmanager
def https_server(authority: trustme.CA) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("localhost", key_type=trustme.KeyType.RSA).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://localhost:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def session(adapter: HTTPAdapter, bundle: Path) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = str(bundle)
    s.mount("https://", adapter)
    return s


def one_call(url: str, s: requests.Session) -> None:
    client = IOTPayClient(base_url=url, mch_id="10000576", key="TESTKEY123", session=s)
    with contextlib.suppress(IOTPayError):  # the benchmark server refuses every call: an answer all the same
        client.query_order(mch_order_no="BENCH1")


def cpu_per_call(calls: int, call: Callable[[], None]) -> float:
    started = time.thread_time()
    for _ in range(calls):
        call()
    return (time.thread_time() - started) / calls


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per way per round (100)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, the three ways alternated (5)")
    parser.add_argument("--rows-json", help="also write the rows to this JSON file (used by run_all.py)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-gateway-tls-"))
    authority = trustme.CA()
    system_bundle = Path(os.environ.get("REQUESTS_CA_BUNDLE") or DEFAULT_CA_BUNDLE_PATH)
    bundle = workdir / "bundle.pem"
    bundle.write_bytes(system_bundle.read_bytes() + b"\n" + authority.cert_pem.bytes())
    authorities = bundle.read_bytes().count(b"BEGIN CERTIFICATE")

    with https_server(authority) as url:
        shared = session(GatewayAdapter(max_retries=0), bundle)
        kept_alive = session(GatewayAdapter(max_retries=0), bundle)

        def new_with_requests_adapter() -> None:
            one_call(url, session(HTTPAdapter(max_retries=0), bundle))

        def new_with_gateway_adapter() -> None:
            one_call(url, shared)
            shared.close()  # its pools emptied: the next call opens a new connection, on the same adapter

        ways: dict[str, Callable[[], None]] = {
            "(1) new connection per call, requests' HTTPAdapter (before)": new_with_requests_adapter,
            "(2) new connection per call, GatewayAdapter (the console's)": new_with_gateway_adapter,
            "(3) kept-alive connection": lambda: one_call(url, kept_alive),
        }
        for call in ways.values():
            call()  # warm: imports, the process's context for the bundle
        samples: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, call in ways.items():
                samples[name].append(cpu_per_call(args.calls, call))

    rows = [replace(figures.summarize(BENCH, f"client CPU per query_order call over TLS: {name}", seconds),
                    unit="ms CPU") for name, seconds in samples.items()]
    before, after, warm = (figures.percentile(s, 50) for s in samples.values())
    print(f"\n{BENCH}: an HTTPS server in this process, TLS 1.3, an RSA 2048 certificate; the CA bundle "
          f"{system_bundle} plus the test authority ({authorities} authorities); {args.rounds} rounds of "
          f"{args.calls} calls per way, alternated; medians of the rounds' CPU per call")
    print(f"machine: {measure.machine_summary()}")
    print(f"- a new connection costs {1000 * (before - warm):.1f} ms more than a kept-alive call with requests' "
          f"adapter, {1000 * (after - warm):.1f} ms more with GatewayAdapter ({before / after:.1f}x less CPU per "
          f"new-connection call)")
    return figures.finish(rows, rows_json=args.rows_json, workdir=workdir)


if __name__ == "__main__":
    main(sys.argv[1:])
