"""The gateway's keep-alive session reads the environment once: a proxy named there still carries the calls."""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gateways.iotpay import IOTPayClient, IOTPayError
from payments.gateways import _session
from tests.unit.conftest import CannedServer

GATEWAY = "http://iotpay.example.invalid/v1"
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
                   "all_proxy")


def in_new_thread(fn: Any) -> Any:
    """The session is per thread: a new thread builds it from the environment as it is now."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result(timeout=30)


@pytest.fixture
def clean_proxy_environment(monkeypatch: pytest.MonkeyPatch, settings: Any) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    settings.IOTPAY_BASE_URL = GATEWAY
    return monkeypatch


def query_through_session() -> None:
    client = IOTPayClient(base_url=GATEWAY, mch_id="10000576", key="TESTKEY123", session=_session(),
                          connect_timeout=2, read_timeout=5)
    # The canned proxy's answer is not a real order: only where the request went matters here.
    with contextlib.suppress(IOTPayError):
        client.query_order(mch_order_no="SC1")


def test_a_proxy_in_the_environment_carries_the_gateway_calls(
    canned_server: CannedServer, clean_proxy_environment: pytest.MonkeyPatch
) -> None:
    clean_proxy_environment.setenv("HTTP_PROXY", canned_server.url.removesuffix("/v1"))
    canned_server.reply({"retCode": "FAIL", "retMsg": "not a real gateway"})

    in_new_thread(query_through_session)

    # A proxy is asked for the absolute URL: the request went through it, to IOTPay's host.
    assert canned_server.last.path == f"{GATEWAY}/query_order"


def test_no_proxy_for_the_gateway_host_means_a_direct_call(
    canned_server: CannedServer, clean_proxy_environment: pytest.MonkeyPatch
) -> None:
    clean_proxy_environment.setenv("HTTP_PROXY", canned_server.url.removesuffix("/v1"))
    clean_proxy_environment.setenv("NO_PROXY", "iotpay.example.invalid")

    in_new_thread(query_through_session)  # direct: the .invalid host does not resolve, so the call fails

    assert canned_server.received == []


def test_a_forked_child_makes_its_own_session_and_connections(clean_proxy_environment: pytest.MonkeyPatch) -> None:
    """A child shares its parent's open sockets: it must not send its calls on the parent's connections."""
    parent = _session()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, then leave at once (no pytest teardown here)
        child = _session()
        same = child is parent or child.get_adapter("https://x/") is parent.get_adapter("https://x/")
        os.write(write_end, b"same" if same else b"own")
        os._exit(0)
    os.close(write_end)
    try:
        answer = os.read(read_end, 16)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert answer == b"own"
    assert _session() is parent  # the parent's own is unchanged
