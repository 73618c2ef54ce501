"""What a manager does on a payment's page when the gateway gave no clear answer: close a payment by hand, check
a refund with the gateway, settle a refund. Every POST answers with a redirect back to the page and a message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from lanes import access
from payments.models import PaymentAttempt, Refund
from payments.services import attempt_resolve, refund_check, refund_settle


def _back(attempt_id: int, anchor: str = "", refund_id: int | None = None) -> HttpResponse:
    query = f"?refund={refund_id}" if refund_id is not None else ""
    return redirect(reverse("payment-detail", args=[attempt_id]) + query + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def close_payment(request: access.SignedInRequest, attempt_id: int) -> HttpResponse:
    """Close a payment needing review (or UNKNOWN past its window) with the outcome, reason and evidence."""
    attempt = get_object_or_404(PaymentAttempt, pk=attempt_id)
    access.require(request.user, access.RESOLVE, attempt.store_id)
    try:
        closed = attempt_resolve(attempt_id=attempt.pk, status=request.POST.get("outcome", ""), user=request.user,
                                 reason=request.POST.get("reason", ""), evidence=request.POST.get("evidence", ""))
    except ValueError as exc:
        messages.error(request, gettext("Not closed: {why}.").format(why=exc))
    else:
        if closed is None:
            messages.error(request, gettext("Not closed: the payment is not waiting for review (or the console is "
                                            "still asking the gateway within its window)."))
        else:
            messages.success(request, gettext("Payment #{id} closed as {status}, with your reason and evidence.")
                             .format(id=attempt.pk, status=str(closed.get_status_display()).upper()))
    return _back(attempt.pk, "close")


@login_required
@require_POST
def check_refund(request: access.SignedInRequest, refund_id: int) -> HttpResponse:
    refund = get_object_or_404(Refund.objects.select_related("attempt"), pk=refund_id)
    access.require(request.user, access.REFUND, refund.attempt.store_id)
    messages.info(request, refund_check(refund_id=refund.pk, user=request.user))
    return _back(refund.attempt_id, f"refund-{refund.pk}", refund.pk)


@login_required
@require_POST
def settle_refund(request: access.SignedInRequest, refund_id: int) -> HttpResponse:
    refund = get_object_or_404(Refund.objects.select_related("attempt"), pk=refund_id)
    access.require(request.user, access.REFUND, refund.attempt.store_id)
    outcome = request.POST.get("outcome", "")
    if outcome not in ("refunded", "not_refunded"):
        messages.error(request, gettext("Not settled: say whether the gateway refunded it."))
        return _back(refund.attempt_id, f"refund-{refund.pk}", refund.pk)
    try:
        settled = refund_settle(refund_id=refund.pk, refunded=outcome == "refunded", user=request.user,
                                reason=request.POST.get("reason", ""))
    except ValueError as exc:
        messages.error(request, gettext("Not settled: {why}.").format(why=exc))
    else:
        if settled is None:
            messages.error(request, gettext("Not settled: this refund is not waiting for review."))
        elif settled.status == "APPROVED":
            messages.success(request, gettext("Refund #{id} settled as refunded.").format(id=refund.pk))
        else:
            messages.success(request, gettext("Refund #{id} settled as not refunded: its amount can be refunded "
                                              "again.").format(id=refund.pk))
    return _back(refund.attempt_id, f"refund-{refund.pk}", refund.pk)
