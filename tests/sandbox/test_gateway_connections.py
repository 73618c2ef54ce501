"""The console's calls to the gateway reuse the process's warmest connection, whichever thread makes them.

A gateway worker runs its tasks on a pool of threads (Celery's ``threads`` pool is a ``ThreadPoolExecutor``) that,
once a peak has made many threads, hands the next tasks to them in turn. With a connection per thread, every call
after a peak met a connection idle for the whole round of threads: one the gateway had closed (a new connection, a
TLS handshake against IOTPay) or was closing as the call went out. The process's connections are one pool, the one
used last handed out first (docs/performance.md, issue 16, eleventh pass). Counted by the sandbox itself
(``/_sandbox/stats``), which closes a connection left idle for ``--idle-timeout`` as a gateway's load balancer does.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gateways.iotpay import IOTPayClient, IOTPayError
from payments.gateways import _session
from tests.sandbox.conftest import KEY, MCH_ID, Client, SandboxProcess, new_id

PEAK = 16


@pytest.fixture(scope="module")
def quick_closing_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """A sandbox that closes a connection idle for a second."""
    tmp: Path = tmp_path_factory.mktemp("sandbox-idle")
    proc = SandboxProcess(tmp / "sb.sqlite3", tmp, "--idle-timeout", "1")
    yield proc
    proc.stop()


def connections(client: Client) -> int:
    # Read on the test's own kept-alive session: after its first reading, reading opens no connection.
    return int(client.http.get(f"{client.url}/_sandbox/stats", timeout=5).json()["connections"])


def a_query(client: Client) -> Callable[[], None]:
    def query() -> None:
        gateway = IOTPayClient(base_url=f"{client.url}/v1", mch_id=MCH_ID, key=KEY, session=_session(),
                               connect_timeout=2, read_timeout=5)
        with contextlib.suppress(IOTPayError):  # no such order: an answer all the same
            gateway.query_order(mch_order_no=new_id())

    return query


def at_the_same_time(pool: ThreadPoolExecutor, query: Callable[[], None], n: int) -> None:
    together = threading.Barrier(n)

    def at_once() -> None:
        together.wait(timeout=10)
        query()

    for future in [pool.submit(at_once) for _ in range(n)]:
        future.result(timeout=30)


def test_after_a_peak_calls_one_at_a_time_reuse_the_warmest_connection(
    quick_closing_sandbox: SandboxProcess, settings: Any
) -> None:
    client = Client(quick_closing_sandbox.url)
    settings.IOTPAY_BASE_URL = f"{client.url}/v1"
    query = a_query(client)
    connections(client)
    with ThreadPoolExecutor(max_workers=PEAK) as pool:
        at_the_same_time(pool, query, PEAK)  # a peak: the pool now has PEAK threads
        after_peak = connections(client)

        # A store's pace: a call every 0.1 s. The pool hands them to its threads in turn, so a connection per
        # thread would wait PEAK x 0.1 s between calls, longer than the sandbox keeps an idle one open.
        for _ in range(24):
            pool.submit(query).result(timeout=30)
            time.sleep(0.1)

        assert connections(client) - after_peak <= 2


def test_calls_at_once_open_a_connection_each_and_later_calls_reuse_them(client: Client, settings: Any) -> None:
    settings.IOTPAY_BASE_URL = f"{client.url}/v1"
    query = a_query(client)
    before = connections(client)
    with ThreadPoolExecutor(max_workers=4) as pool:
        at_the_same_time(pool, query, 4)
    opened = connections(client) - before
    assert 1 <= opened <= 4

    with ThreadPoolExecutor(max_workers=4) as pool:  # other threads, one call after another
        for _ in range(6):
            pool.submit(query).result(timeout=30)
    assert connections(client) - before == opened


def test_the_sandbox_closes_a_connection_left_idle_past_its_idle_timeout(
    quick_closing_sandbox: SandboxProcess
) -> None:
    port = int(quick_closing_sandbox.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/_sandbox/health")
        assert conn.getresponse().read() == b'{"ok": true}'
        conn.request("GET", "/_sandbox/health")  # at once: the same connection answers
        assert conn.getresponse().read() == b'{"ok": true}'
        time.sleep(1.5)
        assert conn.sock is not None
        assert conn.sock.recv(1) == b""  # the sandbox has closed its end
    finally:
        conn.close()
