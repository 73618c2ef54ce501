"""The client's address behind trusted proxies, login throttling limits, the session's idle timeout and the
Permissions-Policy header.

The client's address decides login lock-outs, so it is taken from ``X-Forwarded-For`` only as far as proxies
the console trusts wrote it: by default none (``REMOTE_ADDR``), else the last ``TRUSTED_PROXY_COUNT`` hops,
or the hops whose senders are in ``TRUSTED_PROXIES``. Whatever a client writes into the header itself
changes nothing.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse

from lanes import access


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(text: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address for django-axes (``AXES_CLIENT_IP_CALLABLE``)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    chain = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    networks = [ipaddress.ip_network(item, strict=False) for item in settings.TRUSTED_PROXIES]
    if networks:
        hops = [*chain, remote]
        # From the right: every hop a trusted proxy sent us is peeled off; the first other one is the client.
        while len(hops) > 1 and _trusted(hops[-1], networks):
            hops.pop()
        candidate = hops[-1]
    elif settings.TRUSTED_PROXY_COUNT > 0 and chain:
        candidate = chain[-settings.TRUSTED_PROXY_COUNT] if len(chain) >= settings.TRUSTED_PROXY_COUNT else chain[0]
    else:
        candidate = remote
    return str(_address(candidate) or _address(remote) or remote)


class ConsoleAxesHandler(AxesDatabaseHandler):  # type: ignore[misc]  # django-axes ships no type information
    """django-axes' database handler, with a limit of its own for each way of counting failures.

    ``AXES_LOCKOUT_PARAMETERS`` counts failures of a username from one address, of a username from any mix of
    addresses (rotation), and from one address for any usernames (spraying). A store's lanes often share one
    public address, so that last count has a higher limit (``AXES_ADDRESS_FAILURE_LIMIT``): each count is
    scaled to ``AXES_FAILURE_LIMIT`` before axes compares the largest with it.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        counts = [
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        limit = settings.AXES_FAILURE_LIMIT
        scaled = []
        for parameters, count in zip(settings.AXES_LOCKOUT_PARAMETERS, counts, strict=True):
            if parameters == "ip_address":
                count = math.floor(count * limit / settings.AXES_ADDRESS_FAILURE_LIMIT)
            scaled.append(count)
        return max(scaled, default=0)


class SessionIdleTimeout:
    """A session ends after a while without a request: ``SESSION_IDLE_BACKOFFICE`` seconds for supervisors,
    managers, owners and admins (back-office pages hold refunds and other stores' figures), and
    ``SESSION_IDLE_CASHIER`` (a shift) for cashiers at their shared lane PC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    # The session is written at most this often to push its end back, and the user's roles are read again as
    # often (a role given or taken is reflected in the idle time within this): a sixtieth of the idle time, and
    # at least a minute. A cashier's 8-hour session is written every 8 minutes, not at each sale (the write and
    # the permissions' read are four statements: with them at every sale, a store's Pay request took 9.5-10.4 ms of
    # CPU in process against 5.6-5.9 ms now; docs/performance.md, thirteenth pass). Its end is then at most a
    # sixtieth of the idle time earlier than the last request's.
    REFRESH_EVERY = 60
    REFRESH_SHARE = 60
    # What the session keeps: its idle time (seconds), and when it was last written (unix seconds).
    LIMIT_KEY = "_idle_limit"
    SEEN_KEY = "_idle_seen"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session, now = request.session, int(time.time())
            limit = session.get(self.LIMIT_KEY)
            every = max(self.REFRESH_EVERY, int(limit or 0) // self.REFRESH_SHARE)
            if limit is None or not 0 <= now - session.get(self.SEEN_KEY, 0) < every:
                idle = int(settings.SESSION_IDLE_BACKOFFICE if access.in_back_office(user) or user.is_staff
                           else settings.SESSION_IDLE_CASHIER)
                session.set_expiry(idle)
                session[self.LIMIT_KEY], session[self.SEEN_KEY] = idle, now
        return self.get_response(request)


class PermissionsPolicy:
    """Browser features the console never uses are switched off for its pages (and anything they embed)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
