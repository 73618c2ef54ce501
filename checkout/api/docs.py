"""Who may read the API's schema (/api/schema/) and its browsable docs (/api/docs/): whoever may call it, a
signed-in person or a live key, like every other /api/ route. The docs page is Swagger UI from ninja's own
static files, under the console's strict Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext

from checkout.api.auth import ApiKeyAuth
from checkout.api.errors import LOGIN_REQUIRED, ApiError, error

View = Callable[..., HttpResponseBase]


def docs_access(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            refused = error(405, gettext("This route does not take that method."), code="method_not_allowed")
            refused["Allow"] = "GET, HEAD"
            return refused
        user = request.user
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            try:
                ApiKeyAuth()(request)
            except ApiError as exc:
                return exc.response()
        elif not (user.is_authenticated and user.is_active):
            return error(401, str(LOGIN_REQUIRED), code="login_required")
        return view(request, *args, **kwargs)

    return wrapped
