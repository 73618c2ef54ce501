"""The JSON API the checkout page uses (and stores' scripts): session auth and CSRF."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from lanes.models import Lane
from lanes.selectors import user_can_operate_lane
from payments.forms import clean_payment_request
from payments.models import PaymentAttempt
from payments.selectors import attempt_snapshot
from payments.services import TerminalBusy, TerminalUnavailable, attempt_create


def _error(status: int, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _login_required() -> JsonResponse:
    return _error(401, "Log in first.", code="login_required")


@require_POST
def create_payment(request: HttpRequest, code: str) -> JsonResponse:
    if not request.user.is_authenticated:
        return _login_required()
    lane = Lane.objects.select_related("store", "store__merchant").filter(code=code).first()
    if lane is None:
        return _error(404, f"Unknown lane {code!r}.", code="unknown_lane")
    if not user_can_operate_lane(request.user, lane):
        return _error(403, "You are not allowed to take payments on this lane.", code="forbidden")
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "The body is not valid JSON.", errors={"body": ["Send a JSON object."]})
    cleaned, errors = clean_payment_request(data, store=lane.store)
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and (len(key) > 100 or not key.isprintable()):
        errors.setdefault("Idempotency-Key", []).append("at most 100 printable characters.")
    if errors:
        return _error(400, "The payment was not sent: check the amount.", errors=errors)
    try:
        creation = attempt_create(
            lane=lane, amount=cleaned["amount"], tip=cleaned["tip"], user=request.user,
            idempotency_key=key, sale_id=cleaned["sale_id"],
        )
    except TerminalUnavailable as exc:
        return _error(409, str(exc), code="terminal_unavailable")
    except TerminalBusy as exc:
        busy = attempt_snapshot(exc.attempt) if exc.attempt is not None else None
        return _error(409, "Terminal busy: a payment is already in progress on this lane.",
                      code="terminal_busy", attempt=busy)
    response = JsonResponse(attempt_snapshot(creation.attempt), status=201 if creation.created else 200)
    if not creation.created:
        response["Idempotent-Replayed"] = "true"
    return response


@require_GET
def payment_detail(request: HttpRequest, attempt_id: int) -> JsonResponse:
    if not request.user.is_authenticated:
        return _login_required()
    attempt = PaymentAttempt.objects.select_related("lane").filter(pk=attempt_id).first()
    if attempt is None:
        return _error(404, "No such payment.", code="not_found")
    if not (user_can_operate_lane(request.user, attempt.lane) or request.user.has_perm("payments.view_paymentattempt")):
        return _error(403, "You are not allowed to see this payment.", code="forbidden")
    return JsonResponse(attempt_snapshot(attempt))
