"""What a manager does from the dashboard: verify the day, re-query or close an exception.

Every POST is CSRF-protected and answers with a redirect back to the dashboard of the attempt's day
and a message (Post/Redirect/Get), on the page of exceptions it was sent from (the form's optional
``exceptions_page``); "verify the day" also answers JSON to the page's script.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from backoffice import services
from backoffice.models import VerificationRun
from backoffice.selectors import local_day, stores_for_user
from backoffice.views.reconciliation import EXCEPTIONS_PAGE, choose_day
from backoffice.views.reconciliation_progress import run_progress
from lanes import access
from lanes.models import Store
from payments.models import PaymentAttempt


def dashboard_url(store: Store, day: object, anchor: str = "", exceptions_page: int = 1) -> str:
    params: dict[str, object] = {"store": store.pk, "day": str(day)}
    if exceptions_page > 1:
        params[EXCEPTIONS_PAGE] = exceptions_page
    return f"{reverse('reconciliation')}?{urlencode(params)}{'#' + anchor if anchor else ''}"


def _back_to_exceptions(request: HttpRequest, attempt: PaymentAttempt) -> HttpResponse:
    """The dashboard of the attempt's day, on the page of exceptions the form was sent from."""
    raw = request.POST.get(EXCEPTIONS_PAGE, "")
    page = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1
    return redirect(dashboard_url(attempt.store, local_day(attempt.store, attempt.created_at), "exceptions", page))


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@access.somewhere(access.RESOLVE)
@require_POST
def verify_day(request: access.SignedInRequest) -> HttpResponse:
    choice = choose_day(request, request.POST, access.RESOLVE)
    if choice.store is None or choice.error:
        if _wants_json(request):
            return JsonResponse({"error": choice.error or gettext("No store.")}, status=400)
        messages.error(request, choice.error or gettext("No store to verify."))
        return redirect("reconciliation")
    run = services.verification_start(store=choice.store, day=choice.day, user=request.user)
    progress = run_progress(run)
    if _wants_json(request):
        return JsonResponse({"run": progress,
                             "progress_url": reverse("reconciliation-verify-progress", args=[run.pk])},
                            status=202)
    gateway = choice.store.merchant.gateway_name
    messages.info(request, gettext("Verifying {day} with {gateway}: {progress}.").format(
        day=choice.day.isoformat(), gateway=gateway, progress=progress["label"] if progress else ""))
    return redirect(dashboard_url(choice.store, choice.day, "verification"))


@login_required
@access.somewhere(access.VIEW_RECONCILIATION)
@require_GET
def verify_progress(request: access.SignedInRequest, run_id: int) -> JsonResponse:
    run = get_object_or_404(VerificationRun.objects.select_related("started_by", "store"), pk=run_id,
                            store__in=stores_for_user(request.user))
    response = JsonResponse({"run": run_progress(run)})
    response["Cache-Control"] = "no-store"
    return response


def _attempt(request: HttpRequest, attempt_id: int) -> PaymentAttempt:
    """A payment of a store where the user may resolve exceptions; another store's is a 404, like none."""
    return get_object_or_404(PaymentAttempt.objects.select_related("store"), pk=attempt_id,
                             store__in=stores_for_user(request.user, access.RESOLVE))


@login_required
@access.somewhere(access.RESOLVE)
@require_POST
def requery(request: access.SignedInRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    messages.info(request, services.exception_requery(attempt_id=attempt.pk, user=request.user))
    return _back_to_exceptions(request, attempt)


@login_required
@access.somewhere(access.RESOLVE)
@require_POST
def close(request: access.SignedInRequest, attempt_id: int) -> HttpResponse:
    attempt = _attempt(request, attempt_id)
    kind = request.POST.get("kind", "")
    try:
        services.exception_close(attempt_id=attempt.pk, kind=kind, reason=request.POST.get("reason", ""),
                                 user=request.user, outcome=request.POST.get("outcome", ""),
                                 evidence=request.POST.get("evidence", ""))
    except (ValueError, services.ExceptionNotOpen) as exc:
        messages.error(request, gettext("#{id} not closed: {why}").format(id=attempt.pk, why=exc))
    else:
        messages.success(request, gettext("#{id}: exception closed and recorded with your reason.").format(
            id=attempt.pk))
    return _back_to_exceptions(request, attempt)
