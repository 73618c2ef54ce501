"""The JSON API the checkout page uses (and stores' scripts): session auth and CSRF."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from checkout.forms import clean_payment_request
from lanes import access
from lanes.models import Lane, Store
from payments.contract import attempt_snapshot, refund_snapshot
from payments.models import AttemptStatus, PaymentAttempt, Refund
from payments.queue import POLL_ATTEMPT, REQUERY_ATTEMPT, enqueue
from payments.services import (
    Override,
    RefundInProgress,
    RefundNotAllowed,
    SaleBlocked,
    TerminalBusy,
    TerminalUnavailable,
    attempt_create,
    refund_create,
)
from payments.services.idempotency import IdempotencyConflict, fingerprint


def _error(status: int, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _login_required() -> JsonResponse:
    return _error(401, "Log in first.", code="login_required")


MAX_BODY = 64 * 1024


def _json_body(request: HttpRequest) -> tuple[Any, JsonResponse | None]:
    """The request's JSON, or the error to answer: 413 over MAX_BODY (refused before it is read, when the
    request says its length), 400 for anything that is not JSON (nesting too deep included)."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > MAX_BODY or len(request.body) > MAX_BODY:
        return None, _error(413, f"The body is larger than {MAX_BODY // 1024} KB.", code="body_too_large")
    try:
        return json.loads(request.body or b"null"), None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, _error(400, "The body is not valid JSON.", code="invalid_json",
                            errors={"body": ["Send a JSON object."]})


def _replayed_elsewhere(exc: IdempotencyConflict) -> JsonResponse:
    return _error(422, "This Idempotency-Key was already used with a different request: use a new key for a new "
                       "request.", code="idempotency_key_reused")


@require_POST
def create_payment(request: HttpRequest, code: str) -> JsonResponse:
    if not request.user.is_authenticated:
        return _login_required()
    lane = Lane.objects.select_related("store", "store__merchant", "terminal").filter(code=code).first()
    if lane is None:
        return _error(404, f"Unknown lane {code!r}.", code="unknown_lane")
    if not access.can_operate(request.user, lane):
        return _error(403, "You are not allowed to take payments on this lane.", code="forbidden")
    data, problem = _json_body(request)
    if problem is not None:
        return problem
    cleaned, errors = clean_payment_request(data, store=lane.store)
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and (len(key) > 100 or not key.isprintable()):
        errors.setdefault("Idempotency-Key", []).append("at most 100 printable characters.")
    if errors:
        return _error(400, "The payment was not sent: check the amount.", errors=errors)
    override = None
    if cleaned["override_reason"]:
        override = _override(request, data, cleaned["override_reason"], lane.store)
        if override is None:
            return _error(403, "Not charged: a supervisor's user name and password are needed, and these were not "
                               "accepted (wrong, or not a supervisor's).", code="override_not_allowed")
    try:
        creation = attempt_create(
            lane=lane, amount=cleaned["amount"], tip=cleaned["tip"], user=request.user,
            idempotency_key=key, sale_id=cleaned["sale_id"], override=override,
            fingerprint=fingerprint(lane=lane.pk, amount=cleaned["amount"], tip=cleaned["tip"],
                                    sale_id=cleaned["sale_id"], override_reason=cleaned["override_reason"]),
        )
    except IdempotencyConflict as exc:
        return _replayed_elsewhere(exc)
    except SaleBlocked as exc:
        return _error(409, str(exc), code=exc.code, attempt=attempt_snapshot(exc.attempt),
                      overridable=exc.overridable)
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


def _override(request: HttpRequest, data: dict[str, Any], reason: str, store: Store) -> Override | None:
    """Who approves a second charge of a blocked sale: the user themself when they may in this store, else
    the supervisor of this store whose user name and password came with the request (checked like a login:
    failures count towards the lock-out)."""
    user = request.user
    if user.is_authenticated and access.can(user, access.OVERRIDE_SALE, store):
        return Override(approver=user, reason=reason)
    name, password = data.get("supervisor"), data.get("supervisor_password")
    if not (isinstance(name, str) and isinstance(password, str) and name and password):
        return None
    approver = authenticate(request, username=name, password=password)
    if isinstance(approver, AbstractBaseUser) and access.can(approver, access.OVERRIDE_SALE, store):
        return Override(approver=approver, reason=reason)
    return None


@require_POST
def requery_payment(request: HttpRequest, attempt_id: int) -> JsonResponse:
    """"Check again" at the lane: ask the gateway once more about an attempt whose outcome is not known. The
    answer arrives over the lane's websocket (and GET /api/payments/<id>); 202 with the snapshot now."""
    if not request.user.is_authenticated:
        return _login_required()
    attempt = PaymentAttempt.objects.select_related("lane").filter(pk=attempt_id).first()
    if attempt is None:
        return _error(404, "No such payment.", code="not_found")
    if not access.can_operate(request.user, attempt.lane):
        return _error(403, "You are not allowed to see this payment.", code="forbidden")
    if attempt.status == AttemptStatus.NEEDS_REVIEW:
        enqueue(REQUERY_ATTEMPT, attempt.pk)
    elif attempt.status == AttemptStatus.UNKNOWN:
        enqueue(POLL_ATTEMPT, attempt.pk)
    else:
        return _error(409, "This payment's outcome is already known, or it is still being sent.",
                      code="not_checkable", attempt=attempt_snapshot(attempt))
    return JsonResponse(attempt_snapshot(attempt), status=202)


@require_GET
def payment_detail(request: HttpRequest, attempt_id: int) -> JsonResponse:
    if not request.user.is_authenticated:
        return _login_required()
    attempt = PaymentAttempt.objects.select_related("lane").filter(pk=attempt_id).first()
    if attempt is None:
        return _error(404, "No such payment.", code="not_found")
    if not access.can_see_payment(request.user, attempt):
        return _error(403, "You are not allowed to see this payment.", code="forbidden")
    return JsonResponse(attempt_snapshot(attempt))


# --------------------------------------------------------------------------------------------- refunds


def _can_see(user: Any, attempt: PaymentAttempt) -> bool:
    """Refunds are back-office records: the store's supervisors and managers, owners and admins."""
    return access.can(user, access.VIEW_PAYMENTS, attempt.store_id)


def _refund_request_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    """Shape checks, all fields at once; the balance is checked by the service under a lock."""
    errors: dict[str, list[str]] = {}
    amount, reason = data.get("amount"), data.get("reason")
    if amount is None:
        errors["amount"] = ["amount is required (integer cents, e.g. 500 for $5.00)."]
    elif isinstance(amount, bool) or not isinstance(amount, int):
        errors["amount"] = [f"amount must be an integer number of cents, not {amount!r}."]
    elif amount <= 0:
        errors["amount"] = ["amount must be more than 0 cents."]
    if not isinstance(reason, str) or not reason.strip():
        errors["reason"] = ["a reason is required."]
    return errors


@require_POST
def create_refund(request: HttpRequest, attempt_id: int) -> JsonResponse:
    """``{"amount": cents, "reason": "..."}`` with an optional ``Idempotency-Key`` header."""
    if not request.user.is_authenticated:
        return _login_required()
    attempt = PaymentAttempt.objects.select_related("lane").filter(pk=attempt_id).first()
    if attempt is None:
        return _error(404, "No such payment.", code="not_found")
    if not access.can(request.user, access.REFUND, attempt.store_id):
        return _error(403, "You are not allowed to refund payments of this store.", code="forbidden")
    data, problem = _json_body(request)
    if problem is not None:
        return problem
    if not isinstance(data, dict):
        return _error(400, "The body is not a JSON object.", errors={"body": ['Send {"amount": 500, "reason": "..."}.']})
    errors = _refund_request_errors(data)
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and (len(key) > 100 or not key.isprintable()):
        errors["Idempotency-Key"] = ["at most 100 printable characters."]
    if errors:
        return _error(400, "The refund was not sent: check the amount and the reason.", errors=errors)
    try:
        creation = refund_create(attempt_id=attempt.pk, amount=data["amount"], reason=data["reason"],
                                 user=request.user, idempotency_key=key,
                                 fingerprint=fingerprint(attempt=attempt.pk, amount=data.get("amount"),
                                                         reason=str(data.get("reason", "")).strip()))
    except IdempotencyConflict as exc:
        return _replayed_elsewhere(exc)
    except RefundInProgress as exc:
        busy = refund_snapshot(exc.refund) if exc.refund is not None else None
        return _error(409, "A refund of this payment is already in progress: wait for its outcome.",
                      code="refund_in_progress", refund=busy)
    except RefundNotAllowed as exc:
        if exc.field is not None:
            return _error(400, f"The refund was not sent: {exc.message}.", errors={exc.field: [exc.message]})
        return _error(409, f"This payment cannot be refunded: {exc.message}.", code="not_refundable")
    response = JsonResponse(refund_snapshot(creation.refund), status=201 if creation.created else 200)
    if not creation.created:
        response["Idempotent-Replayed"] = "true"
    return response


@require_GET
def refund_detail(request: HttpRequest, refund_id: int) -> JsonResponse:
    if not request.user.is_authenticated:
        return _login_required()
    refund = Refund.objects.select_related("attempt__lane").filter(pk=refund_id).first()
    if refund is None:
        return _error(404, "No such refund.", code="not_found")
    if not _can_see(request.user, refund.attempt):
        return _error(403, "You are not allowed to see this refund.", code="forbidden")
    return JsonResponse(refund_snapshot(refund))
