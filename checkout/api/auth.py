"""Who is calling: a register with an API key (``Authorization: Bearer <token>``), or a person's browser
session with Django's CSRF token, as the checkout page always has.

A request that carries a Bearer token is judged by the token alone: a wrong or revoked one is refused (401), never
passed on to the session. A key carries no cookie, so no other site can make a browser send it: it needs no CSRF
token. A session always does, on every unsafe method (checked here: ninja's views are CSRF-exempt for Django's
middleware, so that a keyed request is not refused for lacking one).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext
from ninja.security import APIKeyCookie, HttpBearer

from checkout.api.errors import LOGIN_REQUIRED, ApiError, CsrfRefused
from integrations.keys import api_key_for_token
from lanes import access


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer sck_<prefix>_<secret>``: a key made in the admin or by ``create_api_key``."""

    openapi_bearerFormat = "sck_<prefix>_<secret>"

    def authenticate(self, request: HttpRequest, token: str | None) -> access.KeyHolder:
        key = api_key_for_token(token or "")
        if key is None:
            raise ApiError(401, gettext("The API key was not accepted: unknown, mistyped or revoked."),
                           code="invalid_api_key")
        return key.holder()


def _checked_view(request: HttpRequest) -> HttpResponse:
    """What the CSRF check is asked about: a view that is not exempt. The check never calls it."""
    return HttpResponse(status=204)


class SessionAuth(APIKeyCookie):
    """The console's own session (the checkout page), with Django's CSRF check on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> access.User | None:
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None) -> access.User | None:
        user = request.user
        if not (key and user.is_authenticated and user.is_active):
            return None
        check = CsrfViewMiddleware(lambda _request: HttpResponse())
        refusal = check.process_view(request, _checked_view, (), {})
        if refusal is not None:  # the console's CSRF failure view answered (checkout.views.csrf_failure)
            raise CsrfRefused(refusal)
        return user


def principal(request: HttpRequest) -> access.Principal:
    """The caller the auth above accepted (ninja keeps it in ``request.auth``)."""
    who = getattr(request, "auth", None)
    if isinstance(who, access.KeyHolder) or (who is not None and getattr(who, "is_authenticated", False)):
        return who
    raise ApiError(401, str(LOGIN_REQUIRED), code="login_required")


def require_scope(who: access.Principal, scope: str) -> None:
    """A key needs ``scope`` for the route, whatever it then touches; a person's role is checked per object."""
    if isinstance(who, access.KeyHolder) and scope not in who.scopes:
        raise ApiError(403, gettext("This API key lacks the {scope} scope.").format(scope=scope),
                       code="insufficient_scope")


def actor(who: access.Principal) -> tuple[User | None, str]:
    """(the person, the key's name) to record on what the request creates."""
    if isinstance(who, access.KeyHolder):
        return None, who.name
    return (who if isinstance(who, User) else None), ""
