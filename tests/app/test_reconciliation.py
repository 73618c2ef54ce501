"""The reconciliation dashboard of one business day in Vancouver: totals, exceptions, CSV, who may do what.

The day is 2026-03-10 in America/Vancouver (UTC-7 that day): [07:00 UTC on the 10th, 07:00 UTC on the 11th).
Attempts a few seconds either side of local midnight check the range; the gateway is never called here
(re-querying and verifying against the sandbox are in tests/integration/test_verify_day.py).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice import selectors
from backoffice.models import VerificationFinding, VerificationRun
from backoffice.selectors import day_bounds, day_exception_report, day_exceptions
from backoffice.services import compare_with_gateway
from backoffice.totals import day_totals
from gateways.base import OrderState, Outcome
from lanes.models import Store
from payments.contract import EXPORT_HEADER
from payments.models import Merchant, PaymentAttempt, PaymentEvent, Refund
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, assign_cashier, staff

pytestmark = pytest.mark.django_db

VANCOUVER = zoneinfo.ZoneInfo("America/Vancouver")
DAY = date(2026, 3, 10)


def local(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=VANCOUVER)


def make(lane, at, status="APPROVED", amount=1000, tip=0, brand="VISA", last4="4021", auth="A1B2C3", batch="0042",
         **extra):
    card = status in ("APPROVED", "DECLINED")
    attempt = PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=lane.store.merchant,
        store=lane.store, lane=lane, terminal=lane.terminal, amount=amount, tip=tip, currency="CAD", status=status,
        card_brand=brand if card else "", card_last4=last4 if card else "", auth_num=auth if status == "APPROVED" else "",
        batch_num=batch if card else "", gateway_reference=f"CP{uuid.uuid4().hex[:20]}" if card else "",
        terminal_text="000 Approved" if status == "APPROVED" else "", **extra,
    )
    # created_at is auto_now_add: put the attempt where the story needs it.
    PaymentAttempt.objects.filter(pk=attempt.pk).update(created_at=at, finalized_at=at + timedelta(seconds=20))
    attempt.refresh_from_db()
    return attempt


def refund(attempt, amount, status="APPROVED"):
    return Refund.objects.create(attempt=attempt, refund_reference=f"R{uuid.uuid4().hex[:20]}", amount=amount,
                                 currency="CAD", reason="returned", status=status)


def user_in(role: str, store, **fields):
    return staff(role, store, **fields)


def client_for(user, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def store() -> Store:
    return StoreFactory(name="Granville Island", time_zone="America/Vancouver")


@pytest.fixture
def day(store):
    """Two lanes; attempts of the day and just outside it; refunds; a finished verification with a mismatch."""
    lane1 = TerminalFactory(lane=LaneFactory(store=store, code="GV1"), device="PAX-GV-1").lane
    lane2 = TerminalFactory(lane=LaneFactory(store=store, code="GV2"), device="PAX-GV-2").lane
    a = {
        "before": make(lane1, local(23, 55, day=DAY - timedelta(days=1)), amount=1250),
        "a1": make(lane1, local(0, 0, 0), amount=1250),  # 5 min after "before": same card and total
        "a2": make(lane1, local(10, 0), amount=2000, tip=300, brand="MASTERCARD", last4="1166"),
        "a3": make(lane2, local(10, 5), amount=2000, tip=300, brand="MASTERCARD", last4="1166", batch="0077"),
        "a4": make(lane2, local(11, 0), amount=3000, brand="INTERAC", last4="2748", batch="0077"),
        "a5": make(lane2, local(11, 30), amount=3000, brand="INTERAC", last4="2748", batch="0077"),  # 30 min: fine
        "a6": make(lane1, local(12, 0), status="DECLINED", amount=1201),
        "a7": make(lane1, local(12, 10), status="FAILED", amount=1203, message="terminal did not respond"),
        "a8": make(lane2, local(13, 0), status="NEEDS_REVIEW", amount=1500, message="no final outcome"),
        "a9": make(lane1, local(13, 30), status="UNKNOWN", amount=1600),
        "a10": make(lane1, local(14, 0), amount=4500, brand="AMEX", last4="", auth=""),
        "a11": make(lane2, local(23, 59, 59), amount=999, last4="9999", batch="0077"),
        "after": make(lane2, local(0, 0, 0, day=DAY + timedelta(days=1)), amount=7777),
    }
    refund(a["a2"], 500)
    refund(a["a4"], 3000)
    refund(a["a1"], 100, status="FAILED")  # refused: refunds nothing
    refund(a["before"], 1000)  # a refund of the previous day's payment
    run = VerificationRun.objects.create(store=store, day=DAY, status="FINISHED", total=11, done=11, mismatches=1)
    VerificationFinding.objects.create(run=run, attempt=a["a4"], kind="mismatch", local_status="APPROVED",
                                       gateway_outcome="declined", detail="Approved here, but IOTPay reports it not paid")
    later = VerificationRun.objects.create(store=store, day=DAY, status="RUNNING", total=11)
    VerificationFinding.objects.create(run=later, attempt=a["a5"], kind="mismatch", local_status="APPROVED",
                                       gateway_outcome="declined", detail="still running: not listed yet")
    return {**a, "lane1": lane1, "lane2": lane2}


def page_url(store, day=DAY) -> str:
    return f"{reverse('reconciliation')}?store={store.pk}&day={day.isoformat()}"


# ------------------------------------------------------------------------------------------ the day


def test_the_business_day_is_midnight_to_midnight_in_the_stores_time_zone(store):
    start, end = day_bounds(store, DAY)
    assert start.isoformat() == "2026-03-10T07:00:00+00:00"
    assert end.isoformat() == "2026-03-11T07:00:00+00:00"
    # The day clocks go forward has 23 hours there.
    start, end = day_bounds(store, date(2026, 3, 8))
    assert end - start == timedelta(hours=23)


def test_every_total_of_the_day(store, day, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # two aggregates, the lanes' codes, the terminals' devices
        totals = day_totals(store, DAY)
    s = totals.summary
    assert (s.count, s.approved, s.declined, s.failed, s.open) == (11, 7, 1, 1, 2)
    assert s.approved_total == 1250 + 2300 + 2300 + 3000 + 3000 + 4500 + 999 == 17349
    assert s.approved_tip == 600
    assert (s.refunded, s.refunds) == (3500, 2)
    assert s.net == 13849

    by_status = {line.status: (line.count, line.amount, line.tip) for line in totals.by_status}
    assert by_status == {"APPROVED": (7, 16749, 600), "DECLINED": (1, 1201, 0), "FAILED": (1, 1203, 0),
                         "NEEDS_REVIEW": (1, 1500, 0), "UNKNOWN": (1, 1600, 0)}

    by_lane = {line.label: line for line in totals.by_lane}
    assert [line.label for line in totals.by_lane] == ["GV1", "GV2"]
    gv1, gv2 = by_lane["GV1"], by_lane["GV2"]
    assert gv1.sublabel == "PAX-GV-1"
    assert (gv1.count, gv1.approved, gv1.declined, gv1.failed, gv1.open) == (6, 3, 1, 1, 1)
    assert (gv1.approved_total, gv1.refunded, gv1.net) == (8050, 500, 7550)
    assert (gv2.count, gv2.approved, gv2.open, gv2.approved_total, gv2.refunded, gv2.net) == (5, 4, 1, 9299, 3000, 6299)

    by_batch = {(line.sublabel, line.label): (line.approved, line.approved_total, line.refunded, line.net)
                for line in totals.by_batch}
    assert by_batch == {("PAX-GV-1", "0042"): (3, 8050, 500, 7550), ("PAX-GV-2", "0077"): (4, 9299, 3000, 6299)}

    by_brand = {line.label: (line.approved, line.approved_total, line.refunded, line.net) for line in totals.by_brand}
    assert by_brand == {"VISA": (2, 2249, 0, 2249), "MASTERCARD": (2, 4600, 500, 4100),
                        "INTERAC": (2, 6000, 3000, 3000), "AMEX": (1, 4500, 0, 4500)}


def test_every_kind_of_exception(store, day):
    found = {(e.kind, e.attempt_id) for e in day_exceptions(store, DAY)}
    assert found == {
        ("unknown", day["a9"].pk),
        ("needs_review", day["a8"].pk),
        ("missing_card_data", day["a10"].pk),
        ("possible_duplicate", day["a3"].pk),  # 5 minutes after a2 on the other lane
        ("possible_duplicate", day["a1"].pk),  # 00:00:00, five minutes after 23:55 the day before
        ("mismatch", day["a4"].pk),  # from the finished run; a5's finding belongs to a run still going
    }
    by_kind = {e.kind: e for e in day_exceptions(store, DAY)}
    assert by_kind["possible_duplicate"].related_id in (day["a2"].pk, day["before"].pk)
    assert "card last 4" in by_kind["missing_card_data"].detail
    assert day_exceptions(store, DAY)[0].kind == "mismatch"  # most serious first


@pytest.mark.parametrize(("minutes", "listed"), [(9, True), (11, False)])
def test_a_possible_duplicate_is_within_the_configured_window(store, settings, minutes, listed):
    settings.CONSOLE_DUPLICATE_WINDOW_MINUTES = 10
    lane1 = TerminalFactory(lane=LaneFactory(store=store)).lane
    lane2 = TerminalFactory(lane=LaneFactory(store=store)).lane
    first = make(lane1, local(15, 0), amount=4200, last4="5555")
    second = make(lane2, local(15, minutes), amount=4200, last4="5555")
    make(lane2, local(15, 2), amount=4201, last4="5555")  # another total: not the same charge
    make(lane2, local(15, 3), status="DECLINED", amount=4200, last4="5555")  # declines charge nothing
    duplicates = [e for e in day_exceptions(store, DAY) if e.kind == "possible_duplicate"]
    assert [(e.attempt_id, e.related_id) for e in duplicates] == ([(second.pk, first.pk)] if listed else [])


# ---------------------------------------------------------------------------------------- the page


def test_a_supervisor_reads_the_day_without_actions(store, day, django_assert_max_num_queries):
    client = client_for(user_in("supervisor", store))
    # Whatever the number of attempts, lanes and exceptions. Of these, 4 read the user's roles, 1 their language
    # (their choice and their stores') and 3 write the session's idle time-out (a first request after log-in).
    with django_assert_max_num_queries(24):
        response = client.get(page_url(store))
    assert response.status_code == 200
    html = response.content.decode()
    assert "$173.49" in html and "$138.49" in html and "$35.00" in html  # approved, net, refunded
    assert "Possible duplicate" in html and "The gateway disagrees" in html
    assert f'/backoffice/payments/{day["a3"].pk}/' in html
    assert "Re-query" not in html and "Close…" not in html and 'id="verify-form"' not in html
    assert 'id="requery-form"' not in html and 'id="close-form-template"' not in html and 'name="reason"' not in html
    assert reverse("reconciliation-export") in html


def test_a_manager_sees_the_actions(store, day):
    html = client_for(user_in("manager", store)).get(page_url(store)).content.decode()
    assert 'id="verify-form"' in html
    assert html.count('data-action="requery"') == 6
    assert html.count('data-action="close"') == 5  # all but the UNKNOWN one, which is still being polled
    # One Re-query form and one close form for the page (the script moves it into the row being closed), each
    # button naming its payment's URL: the same endpoints as before.
    for e in day_exceptions(store, DAY):
        assert f'formaction="{reverse("payment-requery", args=[e.attempt_id])}"' in html
    assert f'data-url="{reverse("payment-close", args=[day["a8"].pk])}" data-needs-outcome hidden' in html
    assert f'data-url="{reverse("payment-close", args=[day["a3"].pk])}" hidden' in html
    assert html.count('name="reason"') == 1 and html.count('name="outcome"') == 1 and html.count('name="kind"') == 1
    exceptions = html[html.index('id="exceptions"'):html.index('id="by-lane-title"')]
    assert exceptions.count('name="csrfmiddlewaretoken"') == 2  # re-query's and close's, whatever the rows


def test_defaults_bad_days_and_unknown_stores(store, day):
    StoreFactory(name="Zzz Last Store")
    client = client_for(user_in("supervisor", store))
    response = client.get(reverse("reconciliation"))
    assert response.context["store"] == store  # the first by name, today there
    assert response.context["day"] == datetime.now(VANCOUVER).date()
    response = client.get(reverse("reconciliation"), {"store": store.pk, "day": "10/03/2026"})
    assert response.status_code == 200
    assert "is not a date" in response.content.decode()
    assert client.get(reverse("reconciliation"), {"store": 999999}).status_code == 404
    assert client.get(reverse("reconciliation-export"), {"store": store.pk, "day": "nope"}).status_code == 400


# ----------------------------------------------------------------------------------------- CSV export


def test_the_csv_export_streams_the_day(store, day):
    response = client_for(user_in("supervisor", store)).get(
        reverse("reconciliation-export"), {"store": store.pk, "day": DAY.isoformat()})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="reconciliation-granville-island-2026-03-10.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert tuple(rows[0]) == EXPORT_HEADER
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert len(body) == 11
    assert body[0]["created_at"] == "2026-03-10T00:00:00-07:00"
    assert body[-1]["created_at"] == "2026-03-10T23:59:59-07:00"
    a2 = next(r for r in body if r["mch_order_no"] == day["a2"].order_reference)
    assert (a2["lane"], a2["terminal_device"], a2["amount"], a2["tip"], a2["total"], a2["refunded"]) == (
        "GV1", "PAX-GV-1", "2000", "300", "2300", "500")
    assert a2["status"] == "APPROVED" and a2["card_brand"] == "MASTERCARD" and a2["batch_num"] == "0042"
    assert a2["finalized_at"] == "2026-03-10T10:00:20-07:00"
    a4 = next(r for r in body if r["mch_order_no"] == day["a4"].order_reference)
    assert a4["refunded"] == "3000"
    a1 = next(r for r in body if r["mch_order_no"] == day["a1"].order_reference)
    assert a1["refunded"] == "0"  # its refund was refused


# ---------------------------------------------------------------------------------- closing exceptions


def test_closing_an_exception_records_who_and_why_and_hides_it(store, day):
    manager = user_in("manager", store, username="maria")
    client = client_for(manager, csrf=True)
    assert "closed exception" not in client.get(page_url(store)).content.decode()
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("payment-close", args=[day["a3"].pk]),
                           {"kind": "possible_duplicate", "reason": "two coffees, customer confirmed",
                            "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == page_url(store) + "#exceptions"
    note = PaymentEvent.objects.get(attempt=day["a3"], kind="note")
    assert note.actor == manager
    assert note.cause == "exception closed: possible_duplicate: two coffees, customer confirmed"
    assert note.data == {"exception": "possible_duplicate", "reason": "two coffees, customer confirmed"}
    assert note.created_at is not None
    assert ("possible_duplicate", day["a3"].pk) not in {(e.kind, e.attempt_id) for e in day_exceptions(store, DAY)}
    page = client.get(response["Location"])
    assert "exception closed and recorded" in page.content.decode()
    assert "two coffees, customer confirmed" in page.content.decode()  # in the closed list, with who
    # Closing it again changes nothing.
    client.post(reverse("payment-close", args=[day["a3"].pk]),
                {"kind": "possible_duplicate", "reason": "again", "csrfmiddlewaretoken": token})
    assert PaymentEvent.objects.filter(attempt=day["a3"], kind="note").count() == 1


def test_closing_needs_a_reason_and_for_needs_review_the_outcome(store, day):
    client = client_for(user_in("manager", store))
    client.post(reverse("payment-close", args=[day["a10"].pk]), {"kind": "missing_card_data", "reason": "  "})
    assert not PaymentEvent.objects.filter(attempt=day["a10"], kind="note").exists()
    response = client.post(reverse("payment-close", args=[day["a8"].pk]), {"kind": "needs_review", "reason": "x"},
                           follow=True)
    assert "Choose the outcome" in response.content.decode()
    assert PaymentAttempt.objects.get(pk=day["a8"].pk).status == "NEEDS_REVIEW"


def test_closing_an_attempt_needing_review_resolves_it(store, day):
    manager = user_in("manager", store, username="omar")
    client_for(manager).post(reverse("payment-close", args=[day["a8"].pk]),
                             {"kind": "needs_review", "outcome": "DECLINED",
                              "reason": "terminal journal shows it cancelled", "evidence": "batch 0042 report"})
    attempt = PaymentAttempt.objects.get(pk=day["a8"].pk)
    assert attempt.status == "DECLINED"
    event = PaymentEvent.objects.filter(attempt=attempt, kind="state").last()
    assert (event.from_status, event.to_status, event.actor) == ("NEEDS_REVIEW", "DECLINED", manager)
    assert "terminal journal shows it cancelled" in event.cause
    assert "needs_review" not in {e.kind for e in day_exceptions(store, DAY)}


def test_requery_of_an_unknown_attempt_queues_one_more_poll(store, day, enqueued):
    response = client_for(user_in("manager", store)).post(reverse("payment-requery", args=[day["a9"].pk]), follow=True)
    assert enqueued() == [("payments.tasks.poll_attempt", f"({day['a9'].pk},)")]
    assert "asking IOTPay again" in response.content.decode()


def test_the_actions_come_back_to_the_page_of_exceptions_they_were_sent_from(store, day, enqueued):
    client = client_for(user_in("manager", store))
    response = client.post(reverse("payment-requery", args=[day["a9"].pk]), {"exceptions_page": "2"})
    assert response["Location"] == f"{page_url(store)}&exceptions_page=2#exceptions"
    response = client.post(reverse("payment-close", args=[day["a10"].pk]),
                           {"kind": "missing_card_data", "reason": "brand on the batch report", "exceptions_page": "3"})
    assert response["Location"] == f"{page_url(store)}&exceptions_page=3#exceptions"
    assert PaymentEvent.objects.filter(attempt=day["a10"], kind="note").exists()
    for junk in ("", "1", "x", "-1", "99999999999"):  # the first page, as before
        response = client.post(reverse("payment-requery", args=[day["a9"].pk]), {"exceptions_page": junk})
        assert response["Location"] == f"{page_url(store)}#exceptions"


# --------------------------------------------------------------------------------- verify the day


def test_a_manager_starts_verifying_the_day_once(store, day, enqueued):
    client = client_for(user_in("manager", store))
    VerificationRun.objects.filter(status="RUNNING").delete()
    response = client.post(reverse("reconciliation-verify"), {"store": store.pk, "day": DAY.isoformat()},
                           HTTP_ACCEPT="application/json")
    assert response.status_code == 202
    body = response.json()
    run = VerificationRun.objects.get(pk=body["run"]["id"])
    assert (run.status, run.total, run.done, run.last_attempt_id) == ("RUNNING", 11, 0, day["a11"].pk)
    assert body["run"]["label"] == "Verified 0 / 11 · 0 mismatches"
    progress = client.get(body["progress_url"]).json()["run"]
    assert progress["status"] == "RUNNING" and progress["total"] == 11
    # A second press while it runs returns the same run; the form without script redirects back.
    again = client.post(reverse("reconciliation-verify"), {"store": store.pk, "day": DAY.isoformat()})
    assert again.status_code == 302 and again["Location"].endswith("#verification")
    assert VerificationRun.objects.filter(status="RUNNING").count() == 1


def test_a_run_whose_task_died_is_resumed_where_it_stopped(store, day, enqueued,
                                                           django_capture_on_commit_callbacks):
    run = VerificationRun.objects.get(store=store, status="RUNNING")
    VerificationRun.objects.filter(pk=run.pk).update(cursor=day["a5"].pk, done=5,
                                                     updated_at=timezone.now() - timedelta(minutes=5))
    client = client_for(user_in("manager", store))
    html = client.get(page_url(store)).content.decode()
    assert "stopped: press Verify to resume" in html
    assert 'id="verify-button" disabled' not in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reconciliation-verify"), {"store": store.pk, "day": DAY.isoformat()},
                               HTTP_ACCEPT="application/json")
    assert response.json()["run"]["id"] == run.pk
    assert enqueued() == [("backoffice.tasks.verify_day_step", f"({run.pk}, {day['a5'].pk})")]


def rows(html: str) -> list[tuple[str, int]]:
    """(kind, attempt id) of the exceptions' rows, in the page's order."""
    return [(kind, int(pk)) for kind, pk in re.findall(r'<li class="bo-exception [^"]*" data-kind="(\w+)" '
                                                        r'data-attempt="(\d+)"', html)]


def test_the_exceptions_are_paged_most_serious_first(store, day, settings):
    settings.CONSOLE_EXCEPTIONS_SHOWN = 2
    every = [(e.kind, e.attempt_id) for e in day_exceptions(store, DAY)]
    assert len(every) == 6
    client = client_for(user_in("supervisor", store))
    pages = [client.get(f"{page_url(store)}&exceptions_page={n}").content.decode() for n in (1, 2, 3)]
    assert [row for html in pages for row in rows(html)] == every  # each once, in the same order
    first, second, last = pages
    assert rows(client.get(page_url(store)).content.decode()) == every[:2]  # page 1 when none is asked for
    assert every[0][0] == "mismatch"
    assert '<span class="bo-count bo-count--alert" id="exception-count">6</span>' in second
    assert "Showing 3\u20134 of 6, most serious first" in second and "Page 2 of 3" in second
    # The links keep the store and the day.
    query = f"?store={store.pk}&amp;day={DAY.isoformat()}&amp;exceptions_page="
    assert f'rel="prev" href="{query}1#exceptions"' in second and f'rel="next" href="{query}3#exceptions"' in second
    assert 'rel="prev"' not in first and f'rel="next" href="{query}2#exceptions"' in first
    assert "Showing 5\u20136 of 6" in last and 'rel="next"' not in last and f'rel="prev" href="{query}2#exceptions"' in last
    assert "more not shown" not in first
    # One page: no pager.
    settings.CONSOLE_EXCEPTIONS_SHOWN = 6
    html = client.get(page_url(store)).content.decode()
    assert len(rows(html)) == 6 and 'id="exceptions-pager"' not in html and "Showing" not in html


@pytest.mark.parametrize(("asked", "shown", "message"), [
    ("99", 3, "There is no page 99 of exceptions; showing page 3 of 3."),
    ("0", 1, "There is no page 0 of exceptions; showing page 1 of 3."),
    ("-2", 1, "There is no page -2 of exceptions; showing page 1 of 3."),
    ("two", 1, "&#x27;two&#x27; is not a page number; showing the first page of exceptions."),
    ("2.5", 1, "&#x27;2.5&#x27; is not a page number; showing the first page of exceptions."),
    pytest.param("9" * 5000, 1, f"&#x27;{'9' * 20}&#x27; is not a page number", id="5000 digits"),
])
def test_a_page_of_exceptions_that_does_not_exist_says_so(store, day, settings, asked, shown, message):
    settings.CONSOLE_EXCEPTIONS_SHOWN = 2
    every = [(e.kind, e.attempt_id) for e in day_exceptions(store, DAY)]
    response = client_for(user_in("supervisor", store)).get(page_url(store), {"store": store.pk, "day": DAY.isoformat(), "exceptions_page": asked})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert rows(html) == every[(shown - 1) * 2:shown * 2]
    assert f"Page {shown} of 3" in html


def test_the_pager_in_french(store, day, settings):
    settings.CONSOLE_EXCEPTIONS_SHOWN = 2
    client = client_for(user_in("manager", store))
    html = client.get(f"{page_url(store)}&exceptions_page=2", headers={"Accept-Language": "fr-CA"}).content.decode()
    assert '<html lang="fr' in html
    assert "Affichage de 3 à 4 sur 6, les plus graves d\u2019abord" in html and "Page 2 sur 3" in html
    assert "Précédente" in html and "Suivante" in html
    assert "Interroger de nouveau" in html and "Motif" in html  # the actions' words, drawn once


def test_only_the_page_shown_is_written_out(store, day, monkeypatch):
    """Counting and slicing the open exceptions writes no detail: only the rows read are built."""
    written = []
    monkeypatch.setattr(selectors, "said", lambda text: written.append(text) or text)
    report = day_exception_report(store, DAY)
    assert len(report.open) == 6 and written == []
    first = report.open[:1]
    assert [e.kind for e in first] == ["mismatch"] and len(written) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the hand-written statements are PostgreSQL's")
def test_a_page_of_exceptions_reads_the_rows_of_that_page_only(store, day):
    """The keys count and sort them; a page's rows are read in one statement that names that page's attempts."""
    report = day_exception_report(store, DAY)
    with CaptureQueriesContext(connection) as counting:
        assert len(report.open) == 6
    assert len(counting) == 0
    with CaptureQueriesContext(connection) as paging:
        page = report.open[2:4]
    assert len(paging) == 1
    ids = re.search(r"unnest\('\{[^}]*\}'::text\[\], '\{([\d,]+)\}'", paging[0]["sql"])  # the attempts named
    named = {int(n) for n in ids.group(1).split(",")}
    assert named == {e.attempt_id for e in page} and len(page) == 2
    with CaptureQueriesContext(connection) as reading_all:
        everything = list(report.open)
    assert len(reading_all) == 1  # every row at once, not one statement an exception
    assert [(e.kind, e.attempt_id) for e in everything[2:4]] == [(e.kind, e.attempt_id) for e in page]
    assert [e.kind for e in everything] == [e.kind for e in day_exceptions(store, DAY)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the hand-written statements are PostgreSQL's")
def test_the_statement_finds_what_the_orm_finds(store, day, django_assert_num_queries):
    """The dashboard's exceptions by its two hand-written statements (backoffice/day_statements.py) against the
    ORM's reads that SQLite uses: every kind, the earlier attempt of a duplicate, the polling window, the newest
    note of the kind that closed one, and no note that is not one."""
    PaymentAttempt.objects.filter(pk=day["a9"].pk).update(poll_deadline=timezone.now() - timedelta(minutes=1))
    # A pair of the day before, in the window read for a pair across midnight: not the day's.
    make(day["lane2"], local(23, 52, day=DAY - timedelta(days=1)), amount=1250)
    manager = user_in("manager", store)
    for attempt, kind, cause in (
        ("a3", "possible_duplicate", "exception closed: possible_duplicate: first"),
        ("a3", "possible_duplicate", "exception closed: possible_duplicate: second, the one shown"),
        ("a10", "possible_duplicate", "exception closed: possible_duplicate: of a kind a10 does not have"),
        ("a10", "missing_card_data", "a note, not a closing one"),
    ):
        PaymentEvent.objects.create(attempt=day[attempt], kind="note", cause=cause, actor=manager,
                                    data={"exception": kind, "reason": cause})
    run = selectors.latest_run(store, DAY, finished=True)
    by_orm = selectors._found(store, DAY, run)
    closed_by_orm = selectors.closed_exceptions({f.row["id"] for f in by_orm})
    with django_assert_num_queries(3):  # the keys, the rows, the closing notes with their authors
        by_statement, closed = selectors._found_and_closed(store, DAY, run)

    def seen(found):
        return sorted((f.kind, f.row["id"], f.related_id, f.describe(), f.row["created_at"], f.row["lane__code"],
                       f.row["terminal__device"], f.row["amount"] + f.row["tip"], f.row["card_last4"],
                       bool(f.row.get("past_window"))) for f in found)

    assert seen(by_statement) == seen(by_orm) and len(by_orm) == 6
    # The ORM's reads also return notes of kinds an attempt does not have (a10's), which the report never uses.
    found_keys = {(f.row["id"], f.kind) for f in by_orm}
    assert {key: note.pk for key, note in closed.items()} == {
        key: note.pk for key, note in closed_by_orm.items() if key in found_keys}
    note = closed[(day["a3"].pk, "possible_duplicate")]
    assert note.data["reason"].endswith("the one shown") and note.actor == manager
    assert [key[0] for key in closed] == [day["a3"].pk]
    assert "polling window has ended" in next(f.describe() for f in by_statement if f.kind == "unknown")


@pytest.mark.parametrize(("local", "outcome", "amount", "problem"), [
    ("APPROVED", Outcome.PAID, 1000, ""),
    ("APPROVED", Outcome.DECLINED, 1000, "may not have been taken"),
    ("APPROVED", None, 1000, "IOTPay has no such order"),
    ("APPROVED", Outcome.NOT_FOUND, 1000, "IOTPay has no such order"),
    ("APPROVED", Outcome.PAID, 1001, "differs from ours"),
    ("DECLINED", Outcome.PAID, 1000, "may have been charged"),
    ("DECLINED", Outcome.DECLINED, 1000, ""),
    ("FAILED", None, 1000, ""),
    ("FAILED", Outcome.PAID, 1000, "may have been charged"),
])
def test_how_a_final_attempt_is_compared_with_the_gateway(local, outcome, amount, problem):
    attempt = PaymentAttempt(status=local, amount=1000, currency="CAD", order_reference="SC1",
                             merchant=Merchant(gateway=Merchant.Gateway.IOTPAY))
    order = None if outcome is None else OrderState(outcome=outcome, order_reference="SC1", gateway_reference="CP1",
                                                    amount=amount, currency="CAD")
    text = compare_with_gateway(attempt, order)
    assert (problem in text) if problem else text == ""


# ------------------------------------------------------------------------------------------ access


def test_cashiers_get_403_on_every_reconciliation_url_and_supervisors_on_every_action(store, day):
    run = VerificationRun.objects.filter(store=store).first()
    reads = [page_url(store), f"{reverse('reconciliation-export')}?store={store.pk}",
             reverse("reconciliation-verify-progress", args=[run.pk])]
    actions = [reverse("reconciliation-verify"), reverse("payment-requery", args=[day["a8"].pk]),
               reverse("payment-close", args=[day["a8"].pk])]
    cashier = user_in("cashier", store)
    assign_cashier(day["lane1"], cashier)
    cashier_client = client_for(cashier)
    for url in reads:
        assert cashier_client.get(url).status_code == 403, url
    for url in actions:
        assert cashier_client.post(url, {"kind": "needs_review", "reason": "x"}).status_code == 403, url
    supervisor = client_for(user_in("supervisor", store))
    for url in reads:
        assert supervisor.get(url).status_code == 200, url
    for url in actions:
        assert supervisor.post(url, {"kind": "needs_review", "outcome": "APPROVED", "reason": "x"}).status_code == 403
    assert PaymentAttempt.objects.get(pk=day["a8"].pk).status == "NEEDS_REVIEW"
    assert Client().get(page_url(store)).status_code == 302  # to the login page
    # A manager's POST without the CSRF token changes nothing either.
    response = client_for(user_in("manager", store), csrf=True).post(
        reverse("payment-close", args=[day["a10"].pk]), {"kind": "missing_card_data", "reason": "checked"})
    assert response.status_code == 403
    assert not PaymentEvent.objects.filter(attempt=day["a10"], kind="note").exists()


# ------------------------------------------------------------------------------------- seed command


def test_the_seed_command_writes_that_many_realistic_attempts(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--yes"):  # it writes fake payments
        call_command("seed_attempts", store="Seeded", count=10, stdout=io.StringIO())
    assert not Store.objects.filter(name="Seeded").exists()
    call_command("seed_attempts", store="Seeded", count=2000, days=3, batch=500, seed=7, yes=True,
                 time_zone="America/Vancouver", stdout=io.StringIO())
    store = Store.objects.get(name="Seeded")
    attempts = PaymentAttempt.objects.filter(store=store)
    assert attempts.count() == 2000
    assert store.lanes.count() == 12
    approved = attempts.filter(status="APPROVED")
    assert 0.9 < approved.count() / 2000 < 0.97
    assert attempts.filter(status="DECLINED").exists()
    assert not approved.filter(card_brand="").exists()
    assert not attempts.filter(status__in=["CREATED", "SENT", "UNKNOWN"]).exists()
    today = datetime.now(VANCOUVER).date()
    days = {a.created_at.astimezone(VANCOUVER).date() for a in attempts.only("created_at")}
    assert days == {today - timedelta(days=n) for n in (1, 2, 3)}
    assert {a.created_at.astimezone(VANCOUVER).hour for a in attempts.only("created_at")} <= set(range(8, 22))
    with pytest.raises(CommandError, match="already seeded"):
        call_command("seed_attempts", store="Seeded", count=10, seed=7, yes=True, stdout=io.StringIO())
