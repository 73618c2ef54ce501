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
import requests

from gateways.base import Charge, ChargeOutcome, Sale
from gateways.iotpay import IOTPayClient, IOTPayError, IOTPayGateway
from payments.gateways import _session
from tests.sandbox.conftest import KEY, MCH_ID, Client, SandboxProcess, new_id

PEAK = 16


def sandbox_with(tmp_path_factory: pytest.TempPathFactory, *options: str) -> Iterator[SandboxProcess]:
    tmp: Path = tmp_path_factory.mktemp("sandbox")
    proc = SandboxProcess(tmp / "sb.sqlite3", tmp, *options)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def quick_closing_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """A sandbox that closes a connection idle for a second."""
    yield from sandbox_with(tmp_path_factory, "--idle-timeout", "1")


_readings: dict[str, int] = {}


def stats(client: Client) -> dict[str, float]:
    """The sandbox's counts, read on a new connection each time (a kept-alive one would meet the race it counts);
    the connections of these readings are taken off ``connections``."""
    read = requests.get(f"{client.url}/_sandbox/stats", headers={"Connection": "close"}, timeout=5).json()
    _readings[client.url] = _readings.get(client.url, 0) + 1
    return {**read, "connections": read["connections"] - _readings[client.url]}


def connections(client: Client) -> int:
    return int(stats(client)["connections"])


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


# --- A request that crosses the gateway's close of an idle connection -----------------------------------------
# A load balancer closes a kept-alive connection left idle past its limit. A request the client sends at that
# moment is never read: no order is made, and the client sees the connection closed with no answer. For a
# create_order that is a payment in doubt (UNKNOWN, then polling) for nothing. The console sends on no connection
# idle longer than IOTPAY_KEEPALIVE_IDLE_MAX, well under any gateway's limit, so it never sends into that moment.
# The sandbox's --idle-race stands for that moment: a request on a connection idle that long is dropped unread.


@pytest.fixture(scope="module")
def racing_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """A sandbox whose close of a connection idle for a second crosses the next request on it."""
    yield from sandbox_with(tmp_path_factory, "--idle-race", "1")


def a_sale() -> Sale:
    return Sale(order_reference=new_id(), amount=1000, tip=0, currency="CAD", terminal="PAX-RACE-1", operator="cashier1",
                client_ip="127.0.0.1", title="Race lane 1", description="Sale at the race lane", timeout=10)


def a_charge(client: Client) -> Charge:
    gateway = IOTPayGateway(base_url=f"{client.url}/v1", mch_id=MCH_ID, key=KEY, session=_session(),
                            connect_timeout=2, read_timeout=5)
    return gateway.charge(a_sale())


def test_the_sandbox_drops_unread_a_request_on_a_connection_idle_past_its_race_time(
    racing_sandbox: SandboxProcess
) -> None:
    client = Client(racing_sandbox.url)
    port = int(racing_sandbox.url.rsplit(":", 1)[1])
    before = stats(client)["idle_races"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/_sandbox/health")
        assert conn.getresponse().read() == b'{"ok": true}'
        time.sleep(1.2)
        conn.request("GET", "/_sandbox/health")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            conn.getresponse()
    finally:
        conn.close()
    assert stats(client)["idle_races"] == before + 1


def test_a_charge_after_a_quiet_spell_goes_out_on_a_fresh_connection(
    racing_sandbox: SandboxProcess, settings: Any
) -> None:
    settings.GATEWAY_KEEPALIVE_IDLE_MAX = 0.5  # the gateway's own limit here is 1 s
    client = Client(racing_sandbox.url)
    settings.IOTPAY_BASE_URL = f"{client.url}/v1"
    assert a_charge(client).outcome is ChargeOutcome.CONFIRMED  # a kept-alive connection now in the pool
    before = stats(client)
    time.sleep(1.2)  # a quiet spell at the lanes, longer than the gateway keeps the connection

    charge = a_charge(client)

    assert charge.outcome is ChargeOutcome.CONFIRMED, charge.reason
    after = stats(client)
    assert after["idle_races"] == before["idle_races"]
    assert after["connections"] == before["connections"] + 1  # not sent on the connection the gateway was closing


def test_calls_close_together_still_share_a_kept_alive_connection(racing_sandbox: SandboxProcess, settings: Any) -> None:
    settings.GATEWAY_KEEPALIVE_IDLE_MAX = 0.5
    client = Client(racing_sandbox.url)
    a_charge(client)
    before = stats(client)
    for _ in range(4):
        time.sleep(0.1)
        assert a_charge(client).outcome is ChargeOutcome.CONFIRMED
    assert stats(client)["connections"] == before["connections"]


def test_a_charge_sent_as_the_gateway_closes_its_connection_is_in_doubt_never_failed(
    racing_sandbox: SandboxProcess, settings: Any
) -> None:
    """What the cap prevents, shown with a cap longer than the gateway's limit: the order was never read, yet the
    console cannot know that, so the charge is unanswered (UNKNOWN, then polling), not refused or failed."""
    settings.GATEWAY_KEEPALIVE_IDLE_MAX = 30.0
    client = Client(racing_sandbox.url)
    a_charge(client)
    before = stats(client)
    time.sleep(1.2)

    charge = a_charge(client)

    assert charge.outcome is ChargeOutcome.NO_ANSWER
    assert stats(client)["idle_races"] == before["idle_races"] + 1


def test_an_idle_limit_of_nought_opens_a_connection_for_every_call(client: Client, settings: Any) -> None:
    settings.GATEWAY_KEEPALIVE_IDLE_MAX = 0
    settings.IOTPAY_BASE_URL = f"{client.url}/v1"
    query = a_query(client)
    before = stats(client)["connections"]
    for _ in range(3):
        query()
    assert stats(client)["connections"] == before + 3
