"""Pages about payments: the card receipt of an attempt or of a refund (HTML for screen and 80 mm printers,
or plain text)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from lanes import access
from payments.models import PaymentAttempt, Refund
from payments.receipts import (
    Copy,
    Receipt,
    ReceiptNotAvailable,
    build_receipt,
    build_refund_receipt,
    render_texts,
)

TEXT_PLAIN = "text/plain; charset=utf-8"
COPIES: dict[str, tuple[Copy, ...]] = {
    "": ("merchant", "customer"),
    "merchant": ("merchant",),
    "customer": ("customer",),
}


def _receipt_response(
    request: HttpRequest,
    attempt: PaymentAttempt,
    *,
    build: Callable[[Copy], Receipt],
    template: str,
    extra: dict[str, object],
) -> HttpResponse:
    """The receipt page or text of a payment or of one of its refunds: same access, copies and formats."""
    can_operate = access.can_operate(request.user, attempt.lane)
    if not (can_operate or access.can(request.user, access.VIEW_PAYMENTS, attempt.store_id)):
        raise PermissionDenied(gettext("You are not allowed to see the receipts of this lane."))
    copy = request.GET.get("copy", "")
    output = request.GET.get("format", "html")
    if copy not in COPIES or output not in ("html", "text"):
        return HttpResponseBadRequest(
            gettext("Use ?copy=merchant or ?copy=customer (or neither for both), and ?format=text or nothing."),
            content_type=TEXT_PLAIN,
        )
    context: dict[str, object] = {
        **extra,
        "attempt": attempt,
        "store": attempt.store,
        "lane": attempt.lane,
        "can_operate": can_operate,
        "copy": copy,
    }
    try:
        receipts = [build(which) for which in COPIES[copy]]
    except ReceiptNotAvailable as exc:
        if output == "text":
            return HttpResponse(exc.reason + "\n", status=409, content_type=TEXT_PLAIN)
        return render(request, template, {**context, "unavailable": exc}, status=409)
    if output == "text":
        return HttpResponse(render_texts(receipts), content_type=TEXT_PLAIN)
    return render(request, template, {**context, "receipts": receipts})


@never_cache
@login_required
@require_safe
def receipt(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """``?copy=merchant|customer`` (both by default, merchant first), ``?format=text`` for ESC/POS text.

    409 while the outcome is not final, and for a FAILED attempt (it never reached the card network).
    """
    attempt = get_object_or_404(
        PaymentAttempt.objects.select_related("store", "lane", "terminal"), pk=attempt_id
    )
    return _receipt_response(request, attempt, build=lambda which: build_receipt(attempt, copy=which),
                             template="payments/receipt.html", extra={})


@never_cache
@login_required
@require_safe
def refund_receipt(request: HttpRequest, refund_id: int) -> HttpResponse:
    """The receipt of an APPROVED refund; same access, copies and formats as the payment's receipt.

    409 while the refund is in flight or under review, and for a refused (FAILED) one.
    """
    refund = get_object_or_404(
        Refund.objects.select_related("attempt__store", "attempt__lane", "attempt__terminal"), pk=refund_id
    )
    return _receipt_response(request, refund.attempt,
                             build=lambda which: build_refund_receipt(refund, copy=which),
                             template="payments/refund_receipt.html", extra={"refund": refund})
