"""One shape for every error of the API: ``{"error": message, "code": machine word, "errors": {field: [..]}}``
(``errors`` only when fields are at fault; a few answers add the object in the way: ``attempt``, ``refund``).

Ninja's own failures (validation, authentication, an unknown route or method under /api/) are turned into it
here, so a client reads one shape whatever refused it. docs/api.md lists the codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError


def error(status: int, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


class ApiError(Exception):
    """Answer ``status`` with the error shape: raised by the routes and the auth checks."""

    def __init__(self, status: int, message: str, code: str, **extra: object) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, {"code": code, **extra}

    def response(self) -> JsonResponse:
        return error(self.status, self.message, **self.extra)


class CsrfRefused(Exception):
    """A session request without a valid CSRF token: the answer is the console's CSRF failure view's."""

    def __init__(self, response: HttpResponseBase) -> None:
        super().__init__("CSRF check failed")
        self.response = response


LOGIN_REQUIRED = "Log in first."  # the words the checkout page has always shown; docs/api.md tells of keys


def _field(location: Any) -> str:
    """('query', 'page') → 'page'; a body field keeps its path after the body's name."""
    parts = [str(part) for part in location if part not in ("query", "header", "path", "body", "cookie")]
    return ".".join(parts) or "request"


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for problem in exc.errors:
        errors.setdefault(_field(problem.get("loc", ())), []).append(str(problem.get("msg", "not valid")))
    return error(400, f"The request was not accepted: check {', '.join(sorted(errors))}.",
                 code="invalid_request", errors=errors)


def _handlers() -> dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]:
    return {
        ApiError: lambda request, exc: exc.response(),
        CsrfRefused: lambda request, exc: exc.response,
        ValidationError: _validation,
        AuthenticationError: lambda request, exc: error(401, LOGIN_REQUIRED, code="login_required"),
        Http404: lambda request, exc: error(404, "Not found.", code="not_found"),
        PermissionDenied: lambda request, exc: error(403, "You are not allowed to do this.", code="forbidden"),
        HttpError: lambda request, exc: error(exc.status_code, str(exc) or "Refused.", code="refused"),
    }


def install(api: NinjaAPI) -> None:
    for exception, handler in _handlers().items():
        api.add_exception_handler(exception, handler)


class ApiErrorShape:
    """Middleware: a 404 or 405 that Django or ninja answered under /api/ (no route, a method the route does
    not take), and django-axes' 429 (a supervisor's sign-in for an override failed too often), get the error
    shape too; their headers (Allow) stay."""

    MESSAGES = {
        404: ("No such API route.", "not_found"),
        405: ("This route does not take that method.", "method_not_allowed"),
        429: ("Too many failed sign-ins for this user or from this address: wait, then try again.", "locked_out"),
    }

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        known = self.MESSAGES.get(response.status_code)
        if known is None or not request.path.startswith("/api/") or response.get("Content-Type", "").startswith(
                "application/json"):
            return response
        shaped = error(response.status_code, known[0], code=known[1])
        if allow := response.get("Allow"):
            shaped["Allow"] = allow
        return shaped
