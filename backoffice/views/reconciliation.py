"""The reconciliation dashboard of a store's business day, and its streaming CSV export (``backoffice.export``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils.text import slugify
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from backoffice.export import day_csv
from backoffice.selectors import (
    day_exception_report,
    duplicate_window,
    latest_run,
    store_today,
    stores_for_user,
)
from backoffice.totals import DayTotals, Line, day_totals, sorting_memory
from backoffice.views.reconciliation_progress import run_progress
from lanes import access
from lanes.models import Store
from payments.money import format_money


@dataclass(frozen=True)
class DayChoice:
    stores: list[Store]
    store: Store | None
    day: date
    error: str = ""


def choose_day(request: HttpRequest, params: Any, perm: str = access.VIEW_RECONCILIATION) -> DayChoice:
    """The store (default: the user's first) and business day (default: today there) asked for, among the
    stores where the user holds ``perm``.

    Raises Http404 for a store the user may not see (another store's is not told apart from none); a
    malformed day comes back with `error` set.
    """
    stores = list(stores_for_user(request.user, perm))
    raw_store = (params.get("store") or "").strip()
    if raw_store:
        store = next((s for s in stores if str(s.pk) == raw_store), None)
        if store is None:
            raise Http404(gettext("No such store."))
    else:
        store = stores[0] if stores else None
    raw_day = (params.get("day") or "").strip()
    today = store_today(store) if store is not None else date.today()
    if not raw_day:
        return DayChoice(stores, store, today)
    try:
        return DayChoice(stores, store, date.fromisoformat(raw_day))
    except ValueError:
        return DayChoice(stores, store, today, error=gettext("{day} is not a date (YYYY-MM-DD); showing today.").format(
            day=repr(raw_day)))


def _line(line: Line, currency: str) -> dict[str, Any]:
    return {
        "label": line.label, "sublabel": line.sublabel, "count": line.count, "approved": line.approved,
        "approved_total": format_money(line.approved_total, currency), "tip": format_money(line.approved_tip, currency),
        "declined": line.declined, "failed": line.failed, "open": line.open, "refunds": line.refunds,
        "refunded": format_money(line.refunded, currency), "net": format_money(line.net, currency),
        "has_refunds": bool(line.refunded), "has_tips": bool(line.approved_tip),
    }


def _present(totals: DayTotals, currency: str) -> dict[str, Any]:
    def money(cents: int) -> str:
        return format_money(cents, currency)

    return {
        "summary": _line(totals.summary, currency),
        "by_status": [{"status": s.status, "count": s.count, "amount": money(s.amount), "tip": money(s.tip),
                       "total": money(s.total)} for s in totals.by_status],
        "by_lane": [_line(line, currency) for line in totals.by_lane],
        "by_batch": [_line(line, currency) for line in totals.by_batch],
        "by_brand": [_line(line, currency) for line in totals.by_brand],
    }


@login_required
@access.somewhere(access.VIEW_RECONCILIATION)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    choice = choose_day(request, request.GET)
    if choice.error:
        messages.warning(request, choice.error)
    can_resolve = choice.store is not None and access.can(request.user, access.RESOLVE, choice.store)
    context: dict[str, Any] = {"stores": choice.stores, "store": choice.store, "day": choice.day,
                               "can_resolve": can_resolve}
    store = choice.store
    if store is not None:
        currency = store.merchant.currency
        with sorting_memory():
            exceptions, closed = day_exception_report(store, choice.day)
            totals = day_totals(store, choice.day)
        run = latest_run(store, choice.day)
        context.update(
            totals=_present(totals, currency),
            # A day with more open exceptions shows the most serious first; the CSV has every attempt.
            exceptions=exceptions[:settings.CONSOLE_EXCEPTIONS_SHOWN],
            exception_count=len(exceptions),
            exceptions_hidden=max(0, len(exceptions) - settings.CONSOLE_EXCEPTIONS_SHOWN),
            closed=closed,
            run=run_progress(run),
            today=store_today(store),
            previous_day=choice.day - timedelta(days=1),
            next_day=choice.day + timedelta(days=1),
            duplicate_minutes=f"{duplicate_window().total_seconds() / 60:g}",
            currency=currency,
            gateway_name=store.merchant.gateway_name,
        )
    return render(request, "backoffice/reconciliation.html", context)


# ------------------------------------------------------------------------------------------- export


def _streamed_async(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Under Daphne a sync iterator would be read to the end before the first byte goes out: pull it a chunk (a
    few thousand rows) at a time on the request's own thread (its database connection, in COPY, lives there)."""

    def next_chunk() -> bytes:
        return next(chunks, b"")

    def close() -> None:
        chunks.close()  # type: ignore[attr-defined]

    async def stream() -> AsyncIterator[bytes]:
        try:
            while chunk := await sync_to_async(next_chunk, thread_sensitive=True)():
                yield chunk
        finally:
            # Shielded: when the client goes away the response's task is cancelled, and may be cancelled again while
            # it waits here; the COPY must still be ended, or PostgreSQL keeps it open, blocked on a full socket,
            # holding its locks and a connection (tests/integration/test_csv_disconnect.py).
            await asyncio.shield(sync_to_async(close, thread_sensitive=True)())

    return stream()


@login_required
@access.somewhere(access.VIEW_RECONCILIATION)
@require_GET
def export_csv(request: HttpRequest) -> HttpResponseBase:
    choice = choose_day(request, request.GET)
    if choice.error:
        return HttpResponseBadRequest(gettext("{day} is not a date (YYYY-MM-DD).").format(
            day=repr(request.GET.get("day", ""))), content_type="text/plain")
    if choice.store is None:
        raise Http404(gettext("No store."))
    chunks = day_csv(choice.store, choice.day)
    content = _streamed_async(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    name = f"reconciliation-{slugify(choice.store.name) or choice.store.pk}-{choice.day.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
