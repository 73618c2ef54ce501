"""Finding payments by the register's own reference, in the stores whose payments the user sees."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from backoffice.views.payments import STATUS_LABELS
from lanes import access
from payments.models import REFERENCE_MAX, PaymentAttempt
from payments.money import format_money

SHOWN = 100  # a reference names one sale: more than this many matches is a register reusing its numbers


@never_cache
@login_required
@access.somewhere(access.VIEW_PAYMENTS)
@require_safe
def payment_search(request: HttpRequest) -> HttpResponse:
    reference = request.GET.get("reference", "").strip()
    rows = []
    too_long = len(reference) > REFERENCE_MAX
    if reference and not too_long:
        stores = access.stores_for(request.user, access.VIEW_PAYMENTS)
        found = (PaymentAttempt.objects.filter(store__in=stores, reference=reference)
                 .select_related("store", "lane").order_by("-created_at", "-pk")[:SHOWN])
        rows = [{"attempt": a, "total": format_money(a.total, a.currency),
                 "status": STATUS_LABELS.get(a.status, a.status)} for a in found]
    return render(request, "backoffice/payment_search.html", {
        "reference": reference, "rows": rows, "too_long": too_long, "reference_max": REFERENCE_MAX,
        "shown": SHOWN,
    })
