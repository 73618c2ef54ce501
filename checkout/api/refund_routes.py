"""Refunds of approved payments: ask for one, read one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext
from ninja import Router
from ninja.params.functions import Header

from checkout.api.answers import answers, documented_body
from checkout.api.auth import actor, principal, require_scope
from checkout.api.bodies import KEY_MAX, checked_key, read_json, replayed_elsewhere
from checkout.api.errors import ApiError
from checkout.api.payment_routes import BIGINT_MAX, KEY_ABOUT, attempt_or_404
from checkout.api.schemas import RefundConflict, RefundIn, RefundOut
from lanes import access
from payments.contract import refund_snapshot
from payments.models import Refund
from payments.services import RefundInProgress, RefundNotAllowed, refund_create
from payments.services.idempotency import IdempotencyConflict, fingerprint

router = Router(tags=["refunds"])


def _refund_request_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    """Shape checks, all fields at once; the balance is checked by the service under a lock."""
    errors: dict[str, list[str]] = {}
    amount, reason = data.get("amount"), data.get("reason")
    if amount is None:
        errors["amount"] = [gettext("amount is required (integer cents, e.g. 500 for $5.00).")]
    elif isinstance(amount, bool) or not isinstance(amount, int):
        errors["amount"] = [gettext("amount must be an integer number of cents, not {value}.").format(value=repr(amount))]
    elif amount <= 0:
        errors["amount"] = [gettext("amount must be more than 0 cents.")]
    if not isinstance(reason, str) or not reason.strip():
        errors["reason"] = [gettext("a reason is required.")]
    return errors


@router.post("/payments/{int:attempt_id}/refunds", url_name="api-create-refund", by_alias=True,
             summary="Refund a payment",
             response=answers({201: RefundOut, 200: RefundOut}, 400, 404, 413, 422, conflict=RefundConflict),
             openapi_extra=documented_body(RefundIn, "How much (integer cents) and why."))
def create_refund(request: HttpRequest, attempt_id: int, idempotency: str | None = Header(
        None, alias="Idempotency-Key", max_length=KEY_MAX, description=KEY_ABOUT)) -> JsonResponse:
    """Refunds (part of) an approved payment: 201 with the refund, CREATED; it is sent to the gateway at once
    (read it again with GET /api/refunds/{id}). Needs ``refunds:write`` (a key) or a manager of the store."""
    who = principal(request)
    require_scope(who, access.REFUNDS_WRITE)
    attempt = attempt_or_404(attempt_id)
    if not access.can(who, access.REFUND, attempt.store_id):
        raise ApiError(403, gettext("You are not allowed to refund payments of this store."), code="forbidden")
    data = read_json(request)
    if not isinstance(data, dict):
        raise ApiError(400, gettext("The body is not a JSON object."), code="invalid_request",
                       errors={"body": [gettext('Send {"amount": 500, "reason": "..."}.')]})
    errors = _refund_request_errors(data)
    key = checked_key(idempotency, errors)
    if errors:
        raise ApiError(400, gettext("The refund was not sent: check the amount and the reason."), code="invalid_request",
                       errors=errors)
    user, key_name = actor(who)
    try:
        creation = refund_create(attempt_id=attempt.pk, amount=data["amount"], reason=data["reason"], user=user,
                                 idempotency_key=key, actor_key=key_name,
                                 fingerprint=fingerprint(attempt=attempt.pk, amount=data.get("amount"),
                                                         reason=str(data.get("reason", "")).strip()))
    except IdempotencyConflict:
        raise replayed_elsewhere() from None
    except RefundInProgress as exc:
        busy = refund_snapshot(exc.refund) if exc.refund is not None else None
        raise ApiError(409, gettext("A refund of this payment is already in progress: wait for its outcome."),
                       code="refund_in_progress", refund=busy) from None
    except RefundNotAllowed as exc:
        if exc.field is not None:
            raise ApiError(400, gettext("The refund was not sent: {why}.").format(why=exc.message), code="invalid_request",
                           errors={exc.field: [exc.message]}) from None
        raise ApiError(409, gettext("This payment cannot be refunded: {why}.").format(why=exc.message),
                       code="not_refundable") from None
    response = JsonResponse(refund_snapshot(creation.refund), status=201 if creation.created else 200)
    if not creation.created:
        response["Idempotent-Replayed"] = "true"
    return response


@router.get("/refunds/{int:refund_id}", url_name="api-refund-detail", by_alias=True, summary="Read a refund",
            response=answers({200: RefundOut}, 404))
def refund_detail(request: HttpRequest, refund_id: int) -> JsonResponse:
    """The refund as it stands. Needs ``payments:read`` (a key) or to see the store's payments (refunds are
    back-office records: supervisors and managers, owners and admins)."""
    who = principal(request)
    require_scope(who, access.PAYMENTS_READ)
    refund = (Refund.objects.select_related("attempt__lane").filter(pk=refund_id).first()
              if 0 < refund_id <= BIGINT_MAX else None)
    if refund is None:
        raise ApiError(404, gettext("No such refund."), code="not_found")
    if not access.can(who, access.VIEW_PAYMENTS, refund.attempt.store_id):
        raise ApiError(403, gettext("You are not allowed to see this refund."), code="forbidden")
    return JsonResponse(refund_snapshot(refund))
