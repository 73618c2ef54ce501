"""Pages of the lanes: the cashier's landing page and the checkout page of a lane."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import ensure_csrf_cookie

from lanes import access
from lanes.models import Lane


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A cashier with one lane lands on it; others choose from their lanes."""
    lanes = list(access.lanes_for(request.user))
    if len(lanes) == 1 and not request.user.is_staff:
        return redirect("lane-checkout", code=lanes[0].code)
    return render(request, "lanes/lane_list.html", {"lanes": lanes})


@login_required
@ensure_csrf_cookie
def checkout(request: HttpRequest, code: str) -> HttpResponse:
    lane = get_object_or_404(Lane.objects.select_related("store", "store__merchant"), code=code)
    if not access.can_operate(request.user, lane):
        raise PermissionDenied(gettext("You are not allowed on this lane."))
    terminal = getattr(lane, "terminal", None)
    return render(request, "lanes/checkout.html", {
        "lane": lane, "store": lane.store, "terminal": terminal,
        "can_override": access.can(request.user, access.OVERRIDE_SALE, lane.store_id),
    })


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """API clients get JSON; pages get Django's usual explanation."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": gettext("CSRF check failed: send the X-CSRFToken header."), "code": "csrf"},
                            status=403)
    return django_csrf_failure(request, reason=reason)
