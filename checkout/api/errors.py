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
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy
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


LOGIN_REQUIRED = gettext_lazy("Log in first.")  # the words the checkout page has always shown; docs/api.md tells of keys

# Pydantic's checks of a route's parameters, in the console's words (by the error's type, its limits filled in);
# a check of our own (``value_error``) already speaks the request's language.
_CHECKS = {
    "missing": gettext_lazy("required."),
    "int_parsing": gettext_lazy("a whole number is needed."),
    "int_type": gettext_lazy("a whole number is needed."),
    "int_from_float": gettext_lazy("a whole number is needed."),
    "greater_than_equal": gettext_lazy("must be at least {ge}."),
    "less_than_equal": gettext_lazy("must be at most {le}."),
    "greater_than": gettext_lazy("must be more than {gt}."),
    "less_than": gettext_lazy("must be less than {lt}."),
    "string_too_short": gettext_lazy("must be at least {min_length} characters long."),
    "string_too_long": gettext_lazy("must be at most {max_length} characters long."),
    "string_type": gettext_lazy("text is needed."),
    "timezone_aware": gettext_lazy("give a date and time with its offset."),
    "datetime_parsing": gettext_lazy("not a date and time: give ISO-8601 with its offset."),
    "datetime_from_date_parsing": gettext_lazy("not a date and time: give ISO-8601 with its offset."),
}


def _field(location: Any) -> str:
    """('query', 'page') → 'page'; a body field keeps its path after the body's name."""
    parts = [str(part) for part in location if part not in ("query", "header", "path", "body", "cookie")]
    return ".".join(parts) or "request"


def _check_text(problem: dict[str, Any]) -> str:
    context = problem.get("ctx") or {}
    if problem.get("type") == "value_error" and context.get("error"):
        return str(context["error"])
    known = _CHECKS.get(str(problem.get("type")))
    if known is None:
        return str(problem.get("msg") or gettext("not valid."))
    try:
        return str(known).format(**context)
    except (KeyError, IndexError):
        return str(problem.get("msg") or gettext("not valid."))


def not_accepted(fields: list[str]) -> str:
    return gettext("The request was not accepted: check {fields}.").format(fields=", ".join(sorted(fields)))


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for problem in exc.errors:
        errors.setdefault(_field(problem.get("loc", ())), []).append(_check_text(problem))
    return error(400, not_accepted(list(errors)), code="invalid_request", errors=errors)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Ninja's own refusals (a body it cannot parse); their English is ninja's, so the console says its own."""
    text = gettext("The body could not be read.") if str(exc).startswith("Cannot parse request body") else (
        str(exc) or gettext("Refused."))
    return error(exc.status_code, text, code="refused")


def _handlers() -> dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]:
    return {
        ApiError: lambda request, exc: exc.response(),
        CsrfRefused: lambda request, exc: exc.response,
        ValidationError: _validation,
        AuthenticationError: lambda request, exc: error(401, str(LOGIN_REQUIRED), code="login_required"),
        Http404: lambda request, exc: error(404, gettext("Not found."), code="not_found"),
        PermissionDenied: lambda request, exc: error(403, gettext("You are not allowed to do this."), code="forbidden"),
        HttpError: _http_error,
    }


def install(api: NinjaAPI) -> None:
    for exception, handler in _handlers().items():
        api.add_exception_handler(exception, handler)


class ApiErrorShape:
    """Middleware: a 404 or 405 that Django or ninja answered under /api/ (no route, a method the route does
    not take), and django-axes' 429 (a supervisor's sign-in for an override failed too often), get the error
    shape too; their headers (Allow) stay."""

    MESSAGES = {
        404: (gettext_lazy("No such API route."), "not_found"),
        405: (gettext_lazy("This route does not take that method."), "method_not_allowed"),
        429: (gettext_lazy("Too many failed sign-ins for this user or from this address: wait, then try again."),
              "locked_out"),
    }

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        known = self.MESSAGES.get(response.status_code)
        if known is None or not request.path.startswith("/api/") or response.get("Content-Type", "").startswith(
                "application/json"):
            return response
        # In the request's language (LocaleMiddleware's choice), whatever is active once the view has returned.
        with translation.override(getattr(request, "LANGUAGE_CODE", None) or translation.get_language()):
            shaped = error(response.status_code, str(known[0]), code=known[1])
        if allow := response.get("Allow"):
            shaped["Allow"] = allow
        return shaped
