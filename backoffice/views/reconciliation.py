"""The reconciliation dashboard of a store's business day, and its streaming CSV export (``backoffice.export``)."""

from __future__ import annotations

import asyncio
import functools
import zoneinfo
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypedDict

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from backoffice.export import day_csv
from backoffice.open_exceptions import DayException
from backoffice.selectors import (
    day_exception_report,
    duplicate_window,
    store_today,
    stores_for_user,
)
from backoffice.totals import DayTotals, Line, day_totals
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


def _line(line: Line, money: Callable[[int], str], *, tips: bool = False) -> dict[str, Any]:
    """A table's row for the page, with only the amounts its table shows written out (tips in the summary and the
    batches', refunds where there are some)."""
    approved_total = money(line.approved_total)
    return {
        "label": line.label, "sublabel": line.sublabel, "count": line.count, "approved": line.approved,
        "approved_total": approved_total, "tip": money(line.approved_tip) if tips else "",
        "declined": line.declined, "failed": line.failed, "open": line.open, "refunds": line.refunds,
        "refunded": money(line.refunded), "net": money(line.net) if line.refunded else approved_total,
        "has_refunds": bool(line.refunded), "has_tips": bool(line.approved_tip),
    }


def _present(totals: DayTotals, currency: str) -> dict[str, Any]:
    # Each amount costs Babel some 20 µs: the same sum (none refunded, a lane's net...) is written once.
    money: Callable[[int], str] = functools.cache(lambda cents: format_money(cents, currency))
    return {
        "summary": _line(totals.summary, money, tips=True),
        "by_status": [{"status": s.status, "count": s.count, "amount": money(s.amount), "tip": money(s.tip),
                       "total": money(s.total)} for s in totals.by_status],
        "by_lane": [_line(line, money) for line in totals.by_lane],
        "by_batch": [_line(line, money, tips=True) for line in totals.by_batch],
        "by_brand": [_line(line, money) for line in totals.by_brand],
    }


# The query parameter of the page of open exceptions shown (1 by default), kept by the actions' redirects.
EXCEPTIONS_PAGE = "exceptions_page"


class ExceptionRow(TypedDict):
    """An open exception as its row draws it, every word and URL written out: nothing is looked up, reversed or
    localized per row (a dict: the template reads its keys faster than an object's attributes)."""

    kind: str
    attempt_id: str
    label: str
    amount: str
    detail: str
    time: str  # HH:MM:SS in the store's time zone
    lane: str
    device: str
    status: str
    status_label: str  # the status in the reader's words
    card_last4: str
    order_reference: str
    requery_url: str
    close_url: str
    closable: bool
    needs_outcome: bool


def _per_attempt(name: str) -> Callable[[int], str]:
    """The URL named ``name`` of any attempt from one ``reverse()``: each row only writes its id into it."""
    marker = "987654321987654321"
    before, after = reverse(name, args=[marker]).split(marker)
    return lambda attempt_id: f"{before}{attempt_id}{after}"


def exceptions_page(request: HttpRequest, exceptions: Sequence[DayException]) -> Page[DayException]:
    """The page of open exceptions asked for (``CONSOLE_EXCEPTIONS_SHOWN`` to a page, most serious first). A page
    number that is not one shows the first page, one past the end the last: each with a message saying so."""
    paginator = Paginator(exceptions, max(1, settings.CONSOLE_EXCEPTIONS_SHOWN))
    raw = (request.GET.get(EXCEPTIONS_PAGE) or "").strip()
    if not raw:
        return paginator.page(1)
    try:
        return paginator.page(raw)
    except PageNotAnInteger:
        messages.warning(request, gettext("{page} is not a page number; showing the first page of exceptions.").format(
            page=repr(raw[:20])))
        return paginator.page(1)
    except EmptyPage:
        shown = 1 if int(raw) < 1 else paginator.num_pages
        messages.warning(request, gettext("There is no page {page} of exceptions; showing page {shown} of {pages}.")
                         .format(page=raw, shown=shown, pages=paginator.num_pages))
        return paginator.page(shown)


def _exception_rows(page: Page[DayException], store: Store) -> list[ExceptionRow]:
    zone = zoneinfo.ZoneInfo(store.time_zone)
    requery_url, close_url = _per_attempt("payment-requery"), _per_attempt("payment-close")
    # The words of a status are those of includes/status_label.html, drawn once per status rather than per row.
    statuses = {status: render_to_string("includes/status_label.html", {"status": status})
                for status in {e.status for e in page}}
    return [ExceptionRow(
        kind=e.kind, attempt_id=str(e.attempt_id), label=e.label, amount=e.total_display, detail=e.detail,
        time=e.created_at.astimezone(zone).strftime("%H:%M:%S"), lane=e.lane, device=e.device, status=e.status,
        status_label=statuses[e.status], card_last4=e.card_last4, order_reference=e.order_reference,
        requery_url=requery_url(e.attempt_id), close_url=close_url(e.attempt_id), closable=e.closable,
        needs_outcome=e.needs_outcome) for e in page]


def _day_context(request: HttpRequest, store: Store, day: date) -> dict[str, Any]:
    currency = store.merchant.currency
    # No sorting_memory() (three statements more): the totals come from the day summary, the exceptions through
    # partial indexes, possible duplicates from the day's repeated cards; none of them sorts the whole day.
    report = day_exception_report(store, day)
    totals = day_totals(store, day)
    page = exceptions_page(request, report.open)
    return {
        "totals": _present(totals, currency),
        # A page of the open exceptions, most serious first; the CSV has every attempt.
        "exceptions": _exception_rows(page, store),
        "exceptions_page": page,
        "exception_count": page.paginator.count,
        "closed": report.closed,
        "run": run_progress(report.run),
        "today": store_today(store),
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "duplicate_minutes": f"{duplicate_window().total_seconds() / 60:g}",
        "currency": currency,
        "gateway_name": store.merchant.gateway_name,
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
    if choice.store is not None:
        context.update(_day_context(request, choice.store, choice.day))
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
