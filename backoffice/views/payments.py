"""The payment page of the back office: an attempt's details, its event trail, its refunds and the refund form.

Anyone who may see the payment (supervisors, managers, admins, the lane's cashiers) reads the page;
only users with `payments.refund_payment` get the form. The form posts to `payment_refund`, which
redirects back (POST/redirect/GET) to the page showing the refund's live status; while a refund is in
flight the page polls `GET /api/refunds/<id>` every second (static/js/payment_detail.js) and reloads
itself once the refund is final.
"""

from __future__ import annotations

import json
import re
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext, gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from backoffice.sentences import said
from lanes import access
from payments.contract import ENTRY_METHODS, receipt_available
from payments.models import AttemptStatus, PaymentAttempt, PaymentEvent
from payments.money import format_money
from payments.receipts.parts import account_kind
from payments.services import (
    RefundInProgress,
    RefundNotAllowed,
    refund_create,
    refund_in_flight,
    refundable_balance,
)

S = AttemptStatus
StrOrPromise = str | Promise
_DOLLARS = re.compile(r"^(?P<dollars>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<cents>\d{1,2}))?$")
# French writes "1 234,56 $": a space (plain, no-break or narrow no-break) between groups, a decimal comma (a
# point is read too, as the checkout reads it); a comma is never a group separator there.
_DOLLARS_FR = re.compile(r"^(?P<dollars>\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)?(?:[.,](?P<cents>\d{1,2}))?$")

STATUS_LABELS: dict[str, StrOrPromise] = {status.value: status.label for status in S}
REFUND_LABELS: dict[str, StrOrPromise] = {
    **STATUS_LABELS, S.APPROVED: pgettext_lazy("refund", "Refunded"), S.FAILED: pgettext_lazy("refund", "Refused"),
    S.SENT: gettext_lazy("Sent to the gateway"), S.UNKNOWN: gettext_lazy("No clear answer"),
    S.NEEDS_REVIEW: gettext_lazy("Needs review")}


# How the card was read and which account it paid from, as people read them (the stored values are machine words).
ENTRY_LABELS: dict[str, StrOrPromise] = {
    "CHIP": pgettext_lazy("card entry", "Chip"), "TAP": pgettext_lazy("card entry", "Tap"),
    "SWIPE": pgettext_lazy("card entry", "Swipe"), "MANUAL": pgettext_lazy("card entry", "Keyed in")}
ACCOUNT_LABELS: dict[str, StrOrPromise] = {
    "CHEQUING": pgettext_lazy("bank account", "Chequing"), "SAVINGS": pgettext_lazy("bank account", "Savings")}


def _label(labels: dict[str, StrOrPromise], value: str) -> str:
    return str(labels.get(value, value))


def parse_dollars(text: str, language: str | None = None) -> int | None:
    """ "5", "5.5", "5.00", "$1,234.56" (in French also "5,00", "1 234,56 $") → cents, with integer arithmetic
    only; None when not money. ``language`` None: the active language."""
    french = (language or get_language() or "en").lower().startswith("fr")
    cleaned = text.strip().removeprefix("$").strip()
    if french:
        cleaned = cleaned.removesuffix("$").strip()
    match = (_DOLLARS_FR if french else _DOLLARS).match(cleaned)
    if not cleaned or match is None or (match["dollars"] is None and match["cents"] is None):
        return None
    dollars = int(re.sub(r"[^0-9]", "", match["dollars"] or "0"))
    return dollars * 100 + int((match["cents"] or "0").ljust(2, "0"))


class RefundForm(forms.Form):
    amount = forms.CharField(max_length=20, label=gettext_lazy("Amount to refund"),
                             error_messages={"required": gettext_lazy("Enter the amount to refund, like 5.00.")})
    reason = forms.CharField(max_length=255, label=gettext_lazy("Reason"),
                             error_messages={"required": gettext_lazy("A reason is required.")})
    idempotency_key = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)

    def clean_amount(self) -> int:
        """Dollars typed by a person, to cents. The balance is checked by the service, under a lock."""
        cents = parse_dollars(self.cleaned_data["amount"])
        if cents is None:
            raise forms.ValidationError(gettext("Enter dollars and cents, like 5.00."))
        if cents <= 0:
            raise forms.ValidationError(gettext("The refund amount must be more than {zero}.").format(
                zero=format_money(0)))
        if cents > 10**9:
            raise forms.ValidationError(gettext("That amount is too large."))
        return cents

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(gettext("A reason is required."))
        return reason


@dataclass(frozen=True)
class EventRow:
    """An event of the trail; ``cause`` is its cause in the reader's language (it is stored in English)."""

    event: PaymentEvent
    json: str
    cause: str


def _store_zone(attempt: PaymentAttempt) -> str:
    try:
        zoneinfo.ZoneInfo(attempt.store.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return settings.TIME_ZONE
    return attempt.store.time_zone


def _load(attempt_id: int) -> PaymentAttempt:
    return get_object_or_404(
        PaymentAttempt.objects.select_related("store", "lane", "terminal", "merchant", "created_by"), pk=attempt_id
    )


def _check_can_view(request: HttpRequest, attempt: PaymentAttempt) -> bool:
    """The back office is for the store's supervisors and managers, owners and admins: cashiers (even of this
    lane) and other stores' staff are refused.

    Returns whether the user may also open the lane's checkout page (for the link in the header).
    """
    access.require(request.user, access.VIEW_PAYMENTS, attempt.store_id)
    return access.can_operate(request.user, attempt.lane)


def _refund_rows(attempt: PaymentAttempt, money: Callable[[int], str], *, focus: str,
                 can_refund: bool) -> list[dict[str, Any]]:
    """The payment's refunds, newest first, as the page's table and banners show them."""
    labels = {**REFUND_LABELS, S.SENT: gettext("Sent to {name}").format(name=attempt.merchant.gateway_name)}
    return [
        {"refund": r, "amount": money(r.amount), "label": labels.get(r.status, r.status), "message": said(r.message),
         "in_flight": r.status in (S.CREATED, S.SENT), "focus": str(r.pk) == focus,
         "settle": can_refund and r.status in (S.NEEDS_REVIEW, S.UNKNOWN),
         "gateway_refundable": money(r.gateway_refundable) if r.gateway_refundable is not None else ""}
        for r in attempt.refunds.select_related("requested_by").order_by("-created_at", "-pk")
    ]


def _page(request: HttpRequest, attempt: PaymentAttempt, *, form: RefundForm | None = None,
          status: int = 200) -> HttpResponse:
    operates = _check_can_view(request, attempt)

    def money(cents: int) -> str:
        return format_money(cents, attempt.currency)

    in_flight = refund_in_flight(attempt)
    balance = refundable_balance(attempt)
    refunded = attempt.refunds.filter(status=S.APPROVED).aggregate(total=Sum("amount"))["total"] or 0
    held = attempt.refunds.filter(status__in=[S.NEEDS_REVIEW, S.UNKNOWN]).aggregate(total=Sum("amount"))["total"] or 0
    can_refund = access.can(request.user, access.REFUND, attempt.store_id)
    refundable = attempt.status == S.APPROVED and bool(attempt.gateway_reference) and balance > 0 and in_flight is None
    if can_refund and refundable and form is None:
        form = RefundForm(initial={"idempotency_key": uuid.uuid4().hex})
    events = [
        EventRow(e, json.dumps(e.data, indent=2, ensure_ascii=False, sort_keys=True) if e.data else "",
                 said(e.cause))
        for e in attempt.events.select_related("actor", "refund").order_by("id")
    ]
    card = attempt.card if isinstance(attempt.card, dict) else {}
    context: dict[str, Any] = {
        "attempt": attempt,
        "gateway_name": attempt.merchant.gateway_name,
        "store": attempt.store,
        "lane": attempt.lane,
        "operates": operates,
        "zone": _store_zone(attempt),
        "status_label": STATUS_LABELS.get(attempt.status, attempt.status),
        "status_message": said(attempt.message),
        "amount": money(attempt.amount),
        "tip": money(attempt.tip),
        "total": money(attempt.total),
        "entry_method": _label(ENTRY_LABELS, ENTRY_METHODS.get(str(card.get("trx_method", "")), "")),
        "account_type": _label(ACCOUNT_LABELS, account_kind(str(card.get("account_type", "")))),
        "refunds": _refund_rows(attempt, money, focus=request.GET.get("refund", ""), can_refund=can_refund),
        "in_flight": in_flight,
        "in_flight_amount": money(in_flight.amount) if in_flight is not None else "",
        "balance": money(balance),
        "balance_cents": balance,
        "balance_dollars": f"{balance // 100}.{balance % 100:02d}",
        "refunded": money(refunded),
        "held_for_review": money(held) if held else "",
        "can_refund": can_refund,
        "refundable": refundable,
        "form": form if can_refund and (refundable or form is not None) else None,
        "events": events,
        "has_receipt": receipt_available(attempt),
        "awaiting_confirmation": attempt.terminal_outcome == "APPROVED" and attempt.status in (S.UNKNOWN,
                                                                                              S.NEEDS_REVIEW),
        "can_close": access.can(request.user, access.RESOLVE, attempt.store_id) and (
            attempt.status == S.NEEDS_REVIEW or (attempt.status == S.UNKNOWN and attempt.poll_deadline is not None
                                                 and attempt.poll_deadline <= timezone.now())),
    }
    return render(request, "backoffice/payment_detail.html", context, status=status)


@never_cache
@login_required
@require_safe
def payment_detail(request: HttpRequest, attempt_id: int) -> HttpResponse:
    return _page(request, _load(attempt_id))


@never_cache
@login_required
@require_POST
def payment_refund(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """Refund form target: on success, back to the payment page with the refund followed live."""
    attempt = _load(attempt_id)
    if not access.can(request.user, access.REFUND, attempt.store_id):
        raise PermissionDenied(gettext("You are not allowed to refund this store's payments."))
    form = RefundForm(request.POST)
    if not form.is_valid():
        return _page(request, attempt, form=form, status=400)
    try:
        creation = refund_create(
            attempt_id=attempt.pk, amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"],
            user=request.user, idempotency_key=form.cleaned_data["idempotency_key"] or None,
        )
    except RefundInProgress as exc:
        if exc.refund is not None:  # show the one in flight, live
            return redirect(reverse("payment-detail", args=[attempt.pk]) + f"?refund={exc.refund.pk}")
        form.add_error(None, gettext("A refund of this payment is already in progress: wait for its outcome."))
        return _page(request, attempt, form=form, status=409)
    except RefundNotAllowed as exc:
        message = exc.message[:1].upper() + exc.message[1:] + "."
        form.add_error(exc.field if exc.field in form.fields else None, message)
        return _page(request, attempt, form=form, status=400 if exc.field else 409)
    return redirect(reverse("payment-detail", args=[attempt.pk]) + f"?refund={creation.refund.pk}")

