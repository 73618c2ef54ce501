"""The HTTP transport under a gateway client: requests' adapter, with the CA bundle read once per process.

For every new TLS connection urllib3 builds an ``ssl.SSLContext`` and loads the CA bundle into it: 16-20 ms of CPU
for a bundle of about 145 authorities (certifi's, or Debian's that ``REQUESTS_CA_BUNDLE`` names), ten times a warm
call's whole cost (docs/performance.md, issue 16, eleventh pass). ``GatewayAdapter`` gives urllib3 one context per
bundle, loaded once, through the pool key requests documents for that (``build_connection_pool_key_attributes``).
Verification is unchanged: the same bundle, certificates required, the host name checked.

It also sends on no kept-alive connection idle longer than ``idle_max`` seconds. A gateway's load balancer closes a
connection left idle past its own limit, and a request sent as it does so is never read and never answered: for a
charge, a payment in doubt for nothing. urllib3 sets aside a connection the other end has already closed,
but not one it is closing at that moment, and it has no limit of its own on how long a connection may wait.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
import time
from typing import TYPE_CHECKING, Any, cast

from requests import PreparedRequest
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.ssl_ import create_urllib3_context

if TYPE_CHECKING:  # the pool key's two halves, as types-requests names them; a pooled connection, as urllib3 does
    from requests.adapters import _HostParams, _PoolKwargs
    from urllib3._base_connection import BaseHTTPConnection

__all__ = ["GatewayAdapter"]

_contexts: dict[str, ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def verifying_context(location: str) -> ssl.SSLContext:
    """One context per CA bundle (a file, or a directory of hashed certificates), made on first use: certificates
    required and the host name checked, as urllib3 makes its own."""
    with _contexts_lock:
        context = _contexts.get(location)
        if context is None:
            context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
            context.check_hostname = True
            if os.path.isdir(location):
                context.load_verify_locations(capath=location)
            else:
                context.load_verify_locations(cafile=location)
            _contexts[location] = context
        return context


_IDLE_SINCE = "_gateway_idle_since"  # set on a connection when it goes back to its pool


class _IdleLimitedPool(HTTPConnectionPool):
    """A pool that closes, before handing it out, a kept-alive connection idle longer than ``idle_max`` seconds;
    urllib3 then connects it again for the request."""

    idle_max: float

    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        conn = super()._get_conn(timeout)
        since = getattr(conn, _IDLE_SINCE, None)
        if since is not None and not conn.is_closed and time.monotonic() - since > self.idle_max:
            conn.close()
        return conn

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        if conn is not None:
            setattr(conn, _IDLE_SINCE, time.monotonic())
        super()._put_conn(conn)


@functools.cache
def idle_limited_pools(idle_max: float) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes, by scheme, that send on no connection idle longer than ``idle_max`` seconds (0: a new
    connection for every request); made once per value."""
    if idle_max < 0:
        raise ValueError("idle_max must be 0 or more seconds")
    attributes = {"idle_max": idle_max}
    return {
        "http": cast("type[HTTPConnectionPool]",
                     type("IdleLimitedHTTPConnectionPool", (_IdleLimitedPool,), attributes)),
        "https": cast("type[HTTPConnectionPool]",
                      type("IdleLimitedHTTPSConnectionPool", (_IdleLimitedPool, HTTPSConnectionPool), attributes)),
    }


class GatewayAdapter(HTTPAdapter):
    """requests' ``HTTPAdapter`` whose TLS connections share a context per CA bundle instead of loading it anew,
    and that sends on no connection idle longer than ``idle_max`` seconds (None: no limit, as urllib3).

    ``verify=False`` (never set by the console) keeps requests' own handling. A SOCKS proxy keeps its own pools.
    """

    __attrs__ = [*HTTPAdapter.__attrs__, "idle_max"]

    def __init__(self, *args: Any, idle_max: float | None = None, **kwargs: Any) -> None:
        if idle_max is not None:
            idle_limited_pools(idle_max)  # checked before the adapter is made
        self.idle_max = idle_max
        super().__init__(*args, **kwargs)  # makes the pool manager (init_poolmanager)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        if self.idle_max is not None:
            self.poolmanager.pool_classes_by_scheme = idle_limited_pools(self.idle_max)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if self.idle_max is not None and not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = idle_limited_pools(self.idle_max)
        return manager

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: bool | str, cert: str | tuple[str, str] | None = None
    ) -> tuple[_HostParams, _PoolKwargs]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if verify is not False and host_params.get("scheme") == "https":
            location = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["ssl_context"] = verifying_context(location)
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        # requests' checks (the bundle exists, certificates required), then no per-connection bundle: the pool's
        # context holds it, and a bundle named here would be loaded into that context again for every connection.
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]  # untyped in types-requests
        if verify is not False and url.lower().startswith("https"):
            conn.ca_certs = None
            conn.ca_cert_dir = None
