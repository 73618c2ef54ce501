"""The HTTP transport under a gateway client: requests' adapter, with the CA bundle read once per process.

For every new TLS connection urllib3 builds an ``ssl.SSLContext`` and loads the CA bundle into it: 16-20 ms of CPU
for a bundle of about 145 authorities (certifi's, or Debian's that ``REQUESTS_CA_BUNDLE`` names), ten times a warm
call's whole cost (docs/performance.md, issue 16, eleventh pass). ``GatewayAdapter`` gives urllib3 one context per
bundle, loaded once, through the pool key requests documents for that (``build_connection_pool_key_attributes``).
Verification is unchanged: the same bundle, certificates required, the host name checked.
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import TYPE_CHECKING, Any

from requests import PreparedRequest
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.util.ssl_ import create_urllib3_context

if TYPE_CHECKING:  # the pool key's two halves, as types-requests names them
    from requests.adapters import _HostParams, _PoolKwargs

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


class GatewayAdapter(HTTPAdapter):
    """requests' ``HTTPAdapter`` whose TLS connections share a context per CA bundle instead of loading it anew.

    ``verify=False`` (never set by the console) keeps requests' own handling.
    """

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
