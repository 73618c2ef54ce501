"""Which gateway serves a merchant, built from the settings: the one place Django meets a gateway package.

Adding a provider: a package under ``gateways/`` implementing ``gateways.base.PaymentGateway``, a choice in
``Merchant.Gateway``, and a builder in ``_BUILDERS`` (docs/architecture.md, "Adding a gateway").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import requests
from django.conf import settings

from gateways.base import PaymentGateway
from gateways.iotpay import IOTPayGateway
from gateways.transport import GatewayAdapter
from payments.models import Merchant

_local = threading.local()

POOL_SIZE = 1024
"""Connections a process keeps to the gateway: at least as many as it may have calls open at once (a gateway
worker's threads, CELERY_GATEWAY_CONCURRENCY), so none is closed after its call only for want of room. It
bounds nothing: with ``pool_block`` off a call beyond it opens a connection and closes it afterwards."""

_adapter_lock = threading.Lock()
_adapter: tuple[tuple[int, float], GatewayAdapter] | None = None


def _shared_adapter() -> GatewayAdapter:
    """The process's pool of connections to the gateway (plain or TLS), shared by every thread's session.

    urllib3's pools are thread-safe and hand out the connection used last first. Once a peak has made many threads,
    a gateway worker's thread pool hands the next tasks to them in turn, so with a connection per thread a store's
    payments, one now and then, each met a connection idle for the whole round of threads: a new one (a TLS
    handshake against IOTPay) or one the gateway's side may be closing as the call goes out. Shared, a call gets
    the warmest connection. Made again in a forked child (its parent's sockets are not its own), and when
    ``GATEWAY_KEEPALIVE_IDLE_MAX`` changes (tests). A new TLS connection verifies against the CA bundle loaded once
    (``GatewayAdapter``), not read again for each. No call goes out on a connection idle longer than
    ``GATEWAY_KEEPALIVE_IDLE_MAX``: the gateway may be closing it at that moment.
    """
    global _adapter
    key = (os.getpid(), float(settings.GATEWAY_KEEPALIVE_IDLE_MAX))
    with _adapter_lock:
        if _adapter is None or _adapter[0] != key:
            # Explicitly no retries: a create_order sent twice could charge twice.
            _adapter = (key, GatewayAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0,
                                            idle_max=key[1]))
        return _adapter[1]


def _session() -> requests.Session:
    """A session per thread (its cookies and settings are the thread's own) over the process's shared pool of
    keep-alive connections to the gateway (``_shared_adapter``).

    The environment (a proxy for the gateway, a CA bundle) is read once here rather than on every call, where
    requests would look for it, and for a ~/.netrc, each time (measured: ~3% of a gateway worker's CPU).
    """
    session = getattr(_local, "session", None)
    adapter = _shared_adapter()
    if session is None or getattr(_local, "adapter", None) is not adapter:  # none yet, or the parent's, or stale
        session = requests.Session()
        session.proxies.update(requests.utils.get_environ_proxies(settings.IOTPAY_BASE_URL))
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        session.trust_env = False
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session, _local.adapter = session, adapter
    return session


def _iotpay(merchant: Merchant) -> PaymentGateway:
    return IOTPayGateway(
        base_url=settings.IOTPAY_BASE_URL,
        mch_id=merchant.gateway_account,
        key=merchant.get_key(),
        connect_timeout=settings.GATEWAY_CONNECT_TIMEOUT,
        read_timeout=settings.GATEWAY_QUERY_TIMEOUT,
        session=_session(),
    )


_BUILDERS: dict[str, Callable[[Merchant], PaymentGateway]] = {Merchant.Gateway.IOTPAY: _iotpay}


def gateway_for(merchant: Merchant) -> PaymentGateway:
    """The merchant's gateway, with its credentials."""
    return _BUILDERS[merchant.gateway](merchant)
