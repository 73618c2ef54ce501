"""Who may read the API's schema (/api/schema/) and its browsable docs (/api/docs/): whoever may call it, a
signed-in person or a live key, like every other /api/ route. The docs page is Swagger UI from ninja's own
static files, under the console's strict Content-Security-Policy."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext
from ninja import Swagger
from ninja.openapi.docs import _csrf_needed

from checkout.api.auth import ApiKeyAuth
from checkout.api.errors import LOGIN_REQUIRED, ApiError, error

if TYPE_CHECKING:
    from ninja import NinjaAPI

View = Callable[..., HttpResponseBase]


class OwnFilesSwagger(Swagger):
    """Ninja's Swagger UI page from ninja's own template and files (settings.NINJA_FILES). Ninja renders a page
    that loads Swagger UI from a CDN unless "ninja" is an installed app, which it is not (settings.py says why);
    this renders the page ninja renders when it is, which the console's Content-Security-Policy allows."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {"swagger_settings": json.dumps(self.settings, indent=1), "api": api,
                   "add_csrf": _csrf_needed(api)}
        return render(request, self.template, context)


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
