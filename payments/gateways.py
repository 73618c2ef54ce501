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
from requests.adapters import HTTPAdapter

from gateways.base import PaymentGateway
from gateways.iotpay import IOTPayGateway
from payments.models import Merchant

_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per thread: worker threads reuse their connection to the gateway.

    The environment (a proxy for the gateway, a CA bundle) is read once here rather than on every call, where
    requests would look for it, and for a ~/.netrc, each time (measured: ~3% of a gateway worker's CPU).
    """
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.proxies.update(requests.utils.get_environ_proxies(settings.IOTPAY_BASE_URL))
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        session.trust_env = False
        session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=4, max_retries=0))
        session.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=4, max_retries=0))
        _local.session = session
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
