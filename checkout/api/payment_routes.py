"""Payments: charge a lane, read one, ask the gateway again, search."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from math import ceil
from typing import Annotated, Any

from django.contrib.auth import authenticate
from django.contrib.auth.models import AbstractBaseUser, User
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext
from ninja import Router
from ninja.params.functions import Header, Query
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from checkout.api.answers import answers, documented_body
from checkout.api.auth import actor, principal, require_scope
from checkout.api.bodies import KEY_MAX, checked_key, read_json, replayed_elsewhere
from checkout.api.errors import ApiError, not_accepted
from checkout.api.schemas import Attempt, PaymentConflict, PaymentIn, PaymentPage
from checkout.forms import clean_payment_request
from lanes import access
from lanes.models import Lane, Store
from payments.contract import attempt_snapshot
from payments.models import REFERENCE_MAX, AttemptStatus, PaymentAttempt
from payments.queue import POLL_ATTEMPT, REQUERY_ATTEMPT, enqueue
from payments.services import Override, SaleBlocked, TerminalBusy, TerminalUnavailable, attempt_create
from payments.services.idempotency import IdempotencyConflict, fingerprint
from payments.services.statements import prepared

router = Router(tags=["payments"])
PAGE_SIZE, PAGE_SIZE_MAX = 50, 200
BIGINT_MAX = 2**63 - 1  # ids are 64-bit: a larger one names no payment
KEY_ABOUT = ("At most 100 printable characters: the same key with the same body returns the first answer instead "
             "of doing it again.")


def _iso_text(value: Any) -> Any:
    """Only ISO-8601 text: pydantic would also take a number of seconds since 1970, which no one means here."""
    if not (isinstance(value, str) and _ISO_START.match(value)):
        raise ValueError(gettext("give an ISO-8601 date and time with its offset, e.g. 2026-12-04T08:00:00-05:00"))
    return value


def _in_utc(value: datetime) -> datetime:
    """The moment in UTC: PostgreSQL takes offsets up to ±15:59 only, and a moment near year 1 or 9999 may have
    no UTC equivalent at all; either is the caller's mistake (400), never a server error."""
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(gettext("this date and time is out of range")) from None
    if not 1900 <= moment.year <= 9998:
        raise ValueError(gettext("give a date between the years 1900 and 9998"))
    return moment


def _printable(value: str | None) -> str | None:
    if value is not None and not value.isprintable():
        raise ValueError(gettext("printable text only: no control characters"))
    return value


_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]
Printable = Annotated[str, AfterValidator(_printable)]


def _refusal(errors: dict[str, list[str]]) -> str:
    fields = sorted(errors)
    if "body" in errors:
        return gettext("The payment was not sent: send a JSON object.")
    if set(fields) <= {"amount", "tip"}:
        return gettext("The payment was not sent: check the amount.")
    return gettext("The payment was not sent: check {fields}.").format(fields=", ".join(fields))


def _lane(who: access.Principal, code: str) -> Lane:
    lane, allowed = access.lane_to_operate(who, code)
    if lane is None:
        raise ApiError(404, gettext("Unknown lane {code}.").format(code=repr(code)), code="unknown_lane")
    if not allowed:
        raise ApiError(403, gettext("You are not allowed to take payments on this lane."), code="forbidden")
    return lane


def attempt_or_404(attempt_id: int) -> PaymentAttempt:
    attempt = (PaymentAttempt.objects.select_related("lane").filter(pk=attempt_id).first()
               if 0 < attempt_id <= BIGINT_MAX else None)
    if attempt is None:
        raise ApiError(404, gettext("No such payment."), code="not_found")
    return attempt


@router.post(
    "/lanes/{code}/payments", url_name="api-create-payment", by_alias=True, summary="Charge a lane",
    response=answers({201: Attempt, 200: Attempt}, 400, 404, 413, 422, 429, conflict=PaymentConflict),
    openapi_extra=documented_body(PaymentIn, "The sale: integer cents."),
)
def create_payment(request: HttpRequest, code: str, idempotency: str | None = Header(
        None, alias="Idempotency-Key", max_length=KEY_MAX, description=KEY_ABOUT)) -> JsonResponse:
    """Sends the sale to the lane's terminal: 201 with the attempt, CREATED (its outcome follows on the lane's
    websocket, or read it again with GET /api/payments/{id}). 200 (header ``Idempotent-Replayed: true``) when an
    Idempotency-Key was seen before with the same body. Needs ``payments:write`` (a key) or a cashier of the lane."""
    who = principal(request)
    require_scope(who, access.PAYMENTS_WRITE)
    with prepared():  # the lane's, the key's and the new attempt's statements: each planned once per connection
        lane = _lane(who, code)
        data = read_json(request)
        cleaned, errors = clean_payment_request(data, store=lane.store)
        key = checked_key(idempotency, errors)
        if errors:
            raise ApiError(400, _refusal(errors), code="invalid_request", errors=errors)
        override = None
        if cleaned["override_reason"]:
            override = _override(request, who, data, cleaned["override_reason"], lane.store)
        return _charge(who, lane, cleaned, key, override)


def _charge(who: access.Principal, lane: Lane, cleaned: dict[str, Any], key: str | None,
            override: Override | None) -> JsonResponse:
    user, key_name = actor(who)
    sums: dict[str, Any] = {"lane": lane.pk, "amount": cleaned["amount"], "tip": cleaned["tip"],
                            "sale_id": cleaned["sale_id"], "override_reason": cleaned["override_reason"]}
    if cleaned["reference"]:  # a replay of a request made before references existed still matches
        sums["reference"] = cleaned["reference"]
    try:
        creation = attempt_create(lane=lane, amount=cleaned["amount"], tip=cleaned["tip"], user=user,
                                  idempotency_key=key, sale_id=cleaned["sale_id"], override=override,
                                  fingerprint=fingerprint(**sums), reference=cleaned["reference"],
                                  actor_key=key_name)
    except IdempotencyConflict:
        raise replayed_elsewhere() from None
    except SaleBlocked as exc:
        raise ApiError(409, str(exc), code=exc.code, attempt=attempt_snapshot(exc.attempt),
                       overridable=exc.overridable) from None
    except TerminalUnavailable as exc:
        raise ApiError(409, str(exc), code="terminal_unavailable") from None
    except TerminalBusy as exc:
        busy = attempt_snapshot(exc.attempt) if exc.attempt is not None else None
        raise ApiError(409, gettext("Terminal busy: a payment is already in progress on this lane."),
                       code="terminal_busy", attempt=busy) from None
    response = JsonResponse(attempt_snapshot(creation.attempt), status=201 if creation.created else 200)
    if not creation.created:
        response["Idempotent-Replayed"] = "true"
    return response


def _override(request: HttpRequest, who: access.Principal, data: dict[str, Any], reason: str,
              store: Store) -> Override:
    """Who approves a second charge of a blocked sale: the user themself when they may in this store, else
    the supervisor of this store whose user name and password came with the request (checked like a login:
    failures count towards the lock-out). A key never approves one itself."""
    if isinstance(who, User) and access.can(who, access.OVERRIDE_SALE, store):
        return Override(approver=who, reason=reason)
    name, password = data.get("supervisor"), data.get("supervisor_password")
    if isinstance(name, str) and isinstance(password, str) and name and password:
        approver = authenticate(request, username=name, password=password)
        if isinstance(approver, AbstractBaseUser) and access.can(approver, access.OVERRIDE_SALE, store):
            return Override(approver=approver, reason=reason)
    raise ApiError(403, gettext("Not charged: a supervisor's user name and password are needed, and these were "
                                "not accepted (wrong, or not a supervisor's)."), code="override_not_allowed")


@router.post("/payments/{int:attempt_id}/requery", url_name="api-requery-payment", by_alias=True,
             summary="Ask the gateway again", response=answers({202: Attempt}, 404, conflict=PaymentConflict))
def requery_payment(request: HttpRequest, attempt_id: int) -> JsonResponse:
    """"Check again" at the lane: ask the gateway once more about an attempt whose outcome is not known
    (UNKNOWN or NEEDS_REVIEW). The answer arrives over the lane's websocket (and GET /api/payments/{id}); 202
    with the snapshot now. Needs ``payments:write`` (a key) or a cashier of the lane."""
    who = principal(request)
    require_scope(who, access.PAYMENTS_WRITE)
    attempt = attempt_or_404(attempt_id)
    if not access.can_operate(who, attempt.lane):
        raise ApiError(403, gettext("You are not allowed to see this payment."), code="forbidden")
    if attempt.status == AttemptStatus.NEEDS_REVIEW:
        enqueue(REQUERY_ATTEMPT, attempt.pk)
    elif attempt.status == AttemptStatus.UNKNOWN:
        enqueue(POLL_ATTEMPT, attempt.pk)
    else:
        raise ApiError(409, gettext("This payment's outcome is already known, or it is still being sent."),
                       code="not_checkable", attempt=attempt_snapshot(attempt))
    return JsonResponse(attempt_snapshot(attempt), status=202)


@router.get("/payments/{int:attempt_id}", url_name="api-payment-detail", by_alias=True,
            summary="Read a payment", response=answers({200: Attempt}, 404))
def payment_detail(request: HttpRequest, attempt_id: int) -> JsonResponse:
    """The payment as it stands. Needs ``payments:read`` (a key), or to be a cashier of its lane or to see
    its store's payments."""
    who = principal(request)
    require_scope(who, access.PAYMENTS_READ)
    attempt = attempt_or_404(attempt_id)
    if not access.can_see_payment(who, attempt):
        raise ApiError(403, gettext("You are not allowed to see this payment."), code="forbidden")
    return JsonResponse(attempt_snapshot(attempt))


@router.get("/payments", url_name="api-payments", by_alias=True, summary="Search payments",
            response=answers({200: PaymentPage}, 400))
def list_payments(
    request: HttpRequest,
    reference: Printable | None = Query(None, min_length=1, max_length=REFERENCE_MAX,
                                  description="The register's reference, exactly."),
    lane: Printable | None = Query(None, min_length=1, max_length=32, description="A lane's code."),
    since: Moment | None = Query(None, description="Created at or after (ISO-8601 with an offset)."),
    until: Moment | None = Query(None, description="Created before (ISO-8601 with an offset)."),
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int = Query(PAGE_SIZE, ge=1, le=PAGE_SIZE_MAX),
) -> JsonResponse:
    """Payments the caller may see (a key: its store's, with ``payments:read``; a person: their stores' and
    lanes'), newest first, a page at a time."""
    who = principal(request)
    require_scope(who, access.PAYMENTS_READ)
    if since is not None and until is not None and since >= until:
        raise ApiError(400, not_accepted(["since"]), code="invalid_request",
                       errors={"since": [gettext("since must be before until.")]})
    found = PaymentAttempt.objects.filter(access.payments_visible(who))
    if reference is not None:
        found = found.filter(reference=reference)
    if lane is not None:
        found = found.filter(lane__code=lane)
    if since is not None:
        found = found.filter(created_at__gte=since)
    if until is not None:
        found = found.filter(created_at__lt=until)
    count = found.count()
    start = (page - 1) * page_size
    items = found.select_related("lane").order_by("-created_at", "-pk")[start:start + page_size]
    return JsonResponse({"items": [attempt_snapshot(a) for a in items], "count": count, "page": page,
                         "page_size": page_size, "pages": ceil(count / page_size)})
