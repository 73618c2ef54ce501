"""The day summary PostgreSQL keeps (payments.day_summary) always says what the attempts and refunds say.

A store's day of payments is driven through the real services (created, sent, approved, declined, failed, unknown,
late results the next day, needing review and resolved by a manager; refunds approved, refused, without an answer
and settled by hand), and after every step the summary is compared with a recomputation from the attempts, and the
dashboard's totals read from it with the totals summed from the attempts. The gateway is never called: its answers
are handed to the services that apply them (on_commit never runs in these `db` tests, so nothing is enqueued).
"""

from __future__ import annotations

import io
import threading
import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from backoffice.selectors import possible_duplicates
from backoffice.totals import day_totals, day_totals_from_attempts
from gateways.base import NoAnswer, OrderState, Outcome, RefundOutcome, RefundResult, Refused
from gateways.cards import CardDetails
from lanes.models import Store
from payments import day_summary
from payments.models import DayCard, DaySummary, PaymentAttempt, Refund
from payments.services import attempt_create, attempt_resolve, refund_create, refund_settle
from payments.services.outcomes import apply_order, go_unknown
from payments.services.refund_steps import _apply, _record_safely, _transition
from payments.services.transitions import transition
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, staff

pytestmark = pytest.mark.django_db
# PostgreSQL keeps the summary (triggers); SQLite (`make run`'s embedded default) keeps none, and the back office sums
# the attempts there: test_sqlite_keeps_no_summary_and_the_dashboard_sums_the_attempts is SQLite's test.
postgresql_keeps_it = pytest.mark.skipif(connection.vendor != "postgresql",
                                         reason="the day summary is kept by PostgreSQL's triggers; SQLite keeps none")

TORONTO = zoneinfo.ZoneInfo("America/Toronto")


def assert_agrees(store: Store | None = None) -> None:
    found = day_summary.differences(stores=[store] if store is not None else None)
    assert not found, "\n".join(str(d) for d in found)


def assert_same_totals(store: Store, day: date) -> None:
    kept, summed = day_totals(store, day), day_totals_from_attempts(store, day)
    assert kept == summed


def card(brand: str = "VISA", last4: str = "4021", batch: str = "0042") -> CardDetails:
    return CardDetails(card_type=brand, card_num=f"************{last4}", auth_num="A1B2C3", batch_num=batch)


def order(attempt: PaymentAttempt, outcome: Outcome, **changes: object) -> OrderState:
    values: dict[str, object] = {
        "outcome": outcome, "order_reference": attempt.order_reference, "gateway_reference": f"CP{attempt.pk:020d}",
        "amount": attempt.amount, "tip": attempt.tip, "currency": attempt.currency, "card": card(), "verified": True,
    }
    values.update(changes)
    return OrderState(**values)  # type: ignore[arg-type]


def pay(lane, amount: int, tip: int = 0) -> PaymentAttempt:
    attempt = PaymentAttempt.objects.get(pk=_create(lane, amount, tip))
    transition(attempt.pk, from_statuses=["CREATED"], to="SENT", cause="sent", sent_at=timezone.now())
    return PaymentAttempt.objects.get(pk=attempt.pk)


def _create(lane, amount: int, tip: int) -> int:
    return attempt_create(lane=lane, amount=amount, tip=tip, user=None).attempt.pk


def move_to(attempt: PaymentAttempt, day: date, hour: int = 12) -> None:
    """created_at is auto_now_add: put the attempt on the day the story needs."""
    PaymentAttempt.objects.filter(pk=attempt.pk).update(created_at=datetime(day.year, day.month, day.day, hour,
                                                                            tzinfo=TORONTO))


@pytest.fixture
def store() -> Store:
    return StoreFactory(name="Queen West", time_zone="America/Toronto")


@pytest.fixture
def lanes(store):
    return [TerminalFactory(lane=LaneFactory(store=store, code=f"QW{n}"), device=f"PAX-QW-{n}").lane
            for n in (1, 2, 3, 4)]


def refund_answer(refund: Refund, outcome: object) -> None:
    _transition(refund.pk, from_statuses=["CREATED"], to="SENT", cause="refund sent", sent_at=timezone.now())
    refund = Refund.objects.select_related("attempt__merchant").get(pk=refund.pk)
    _record_safely(refund, lambda: _apply(refund, outcome))  # type: ignore[arg-type]


def test_the_summary_follows_every_change_through_the_services(store, lanes):
    manager = staff("manager", store)
    today = timezone.now().astimezone(TORONTO).date()
    yesterday = today - timedelta(days=1)
    steps = 0

    def check() -> None:
        nonlocal steps
        steps += 1
        assert_agrees(store)
        for day in (yesterday, today):
            assert_same_totals(store, day)

    # Yesterday: a payment left UNKNOWN, another needing review.
    late = pay(lanes[3], 1500, tip=200)
    move_to(late, yesterday, hour=23)
    go_unknown(late.pk, cause="no answer", from_statuses=["SENT"])
    check()
    review = pay(lanes[1], 2600)
    move_to(review, yesterday)
    apply_order(review, order(review, Outcome.PAID, amount=2500), source="charge", from_statuses=["SENT"])
    assert PaymentAttempt.objects.get(pk=review.pk).status == "NEEDS_REVIEW"
    check()

    # Today: approvals with different brands and batches, a decline, a failure, one still in flight.
    approved = []
    for n, (brand, batch) in enumerate([("VISA", "0042"), ("MASTERCARD", "0042"), ("VISA", "0077"),
                                        ("INTERAC", "0077")]):
        attempt = pay(lanes[n % 3], 1000 + n * 111, tip=n * 50)
        apply_order(attempt, order(attempt, Outcome.PAID, card=card(brand, batch=batch)), source="charge",
                    from_statuses=["SENT"])
        approved.append(attempt)
        check()
    declined = pay(lanes[2], 999)
    apply_order(declined, order(declined, Outcome.DECLINED), source="charge", from_statuses=["SENT"])
    failed = pay(lanes[0], 998)
    transition(failed.pk, from_statuses=["SENT"], to="FAILED", cause="refused", message="refused")
    _create(lanes[1], 4200, 0)  # CREATED, not sent yet
    check()

    # Late results: yesterday's UNKNOWN is approved today (it stays yesterday's); the one needing review is
    # resolved by a manager.
    apply_order(PaymentAttempt.objects.get(pk=late.pk), order(late, Outcome.PAID), source="poll",
                from_statuses=["UNKNOWN"])
    assert PaymentAttempt.objects.get(pk=late.pk).status == "APPROVED"
    check()
    attempt_resolve(attempt_id=review.pk, status="APPROVED", user=manager, reason="portal shows it paid",
                    evidence="CP123")
    check()

    # Refunds: approved, refused, without an answer then settled both ways, and one of yesterday's payment.
    def ask(attempt: PaymentAttempt, cents: int) -> Refund:
        return refund_create(attempt_id=attempt.pk, amount=cents, reason="returned", user=manager).refund

    refund_answer(ask(approved[0], 300), RefundResult(RefundOutcome.REFUNDED, "RF1", amount=300))
    check()
    refund_answer(ask(approved[0], 200), Refused("no", code="X"))
    check()
    unclear = ask(approved[1], 500)
    refund_answer(unclear, NoAnswer("timed out"))
    assert Refund.objects.get(pk=unclear.pk).status == "NEEDS_REVIEW"
    check()
    refund_settle(refund_id=unclear.pk, refunded=True, user=manager, reason="portal shows it refunded")
    check()
    unclear = ask(approved[2], 100)
    refund_answer(unclear, RefundResult(RefundOutcome.REFUNDED, "RF2", amount=90))  # not the amount asked
    refund_settle(refund_id=unclear.pk, refunded=False, user=manager, reason="portal shows no refund")
    check()
    refund_answer(ask(PaymentAttempt.objects.get(pk=late.pk), 1700), RefundResult(RefundOutcome.REFUNDED, "RF3",
                                                                                   amount=1700))
    check()

    totals = day_totals(store, today)
    assert (totals.summary.count, totals.summary.approved, totals.summary.open) == (7, 4, 1)
    assert (totals.summary.refunded, totals.summary.refunds) == (800, 2)
    past = day_totals(store, yesterday).summary
    assert (past.count, past.approved, past.approved_total, past.refunded) == (2, 2, 1700 + 2600, 1700)
    assert steps == 15


@postgresql_keeps_it
def test_a_store_that_changes_time_zone_has_its_days_recomputed(store, lanes):
    attempt = pay(lanes[0], 1000)
    move_to(attempt, date(2026, 3, 10), hour=1)  # 01:00 in Toronto: the 9th in Vancouver
    assert DaySummary.objects.filter(store=store, day=date(2026, 3, 10), attempts=1).exists()
    Store.objects.filter(pk=store.pk).update(time_zone="America/Vancouver")
    assert_agrees(store)
    assert DaySummary.objects.filter(store=store, day=date(2026, 3, 9), attempts=1).exists()


@postgresql_keeps_it
def test_rows_changed_by_hand_show_as_differences_and_the_command_repairs_them(store, lanes):
    other = StoreFactory(name="Bloor")
    other_lane = TerminalFactory(lane=LaneFactory(store=other)).lane
    for lane in [*lanes[:3], other_lane]:
        apply_order(attempt := pay(lane, 1234), order(attempt, Outcome.PAID), source="charge", from_statuses=["SENT"])
    today = timezone.now().astimezone(TORONTO).date()
    with connection.cursor() as cursor:  # what a bug, or a restore of one table, would leave
        cursor.execute("UPDATE payments_daysummary SET attempts = attempts + 1, amount = amount + 5 WHERE attempts > 0")
        cursor.execute("INSERT INTO payments_daysummary (store_id, day, lane_id, terminal_id, status, card_brand, "
                       "batch_num, attempts, amount, tip, refunds, refunded) VALUES (%s, %s, %s, %s, 'APPROVED', "
                       "'', '', 1, 1, 0, 0, 0)", [store.pk, today - timedelta(days=3), lanes[0].pk,
                                                   lanes[0].terminal.pk])
    found = day_summary.differences()
    assert {d.key[0] for d in found} == {store.pk, other.pk} and len(found) == 5
    assert "kept {'attempts': 2, 'amount': 1239" in "".join(str(d) for d in found)

    out = io.StringIO()
    call_command("rebuild_day_summary", "--store", store.name, "--date", today.isoformat(), stdout=out)
    assert "Rebuilt 1 store-day(s) of 1 store(s)" in out.getvalue()
    assert {d.key[0] for d in day_summary.differences()} == {store.pk, other.pk}  # the stray day, the other store
    quiet = io.StringIO()
    call_command("rebuild_day_summary", "--store", other.name, "--from", (today - timedelta(days=9)).isoformat(),
                 "--to", (today - timedelta(days=5)).isoformat(), stdout=quiet)  # days without payments
    assert "Rebuilt 5 store-day(s) of 1 store(s): 0 summary row(s)." in quiet.getvalue()
    assert other.pk in {d.key[0] for d in day_summary.differences()}
    call_command("rebuild_day_summary", stdout=out)  # every store, every day (the stray row's day too)
    assert "The summary agrees with the attempts." in out.getvalue()
    assert_agrees()
    assert not DaySummary.objects.filter(day=today - timedelta(days=3)).exists()


@postgresql_keeps_it
def test_the_command_refuses_what_it_cannot_do(store):
    with pytest.raises(CommandError, match="not a date"):
        call_command("rebuild_day_summary", "--date", "10/03/2026", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not both"):
        call_command("rebuild_day_summary", "--date", "2026-03-10", "--from", "2026-03-01", stdout=io.StringIO())
    with pytest.raises(CommandError, match="before"):
        call_command("rebuild_day_summary", "--from", "2026-03-10", "--to", "2026-03-01", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No store is named"):
        call_command("rebuild_day_summary", "--store", "Nowhere", stdout=io.StringIO())


@postgresql_keeps_it
def test_bulk_writes_are_summed_too():
    """COPY (seed_attempts) and multi-row UPDATE/DELETE statements go through the same triggers."""
    call_command("seed_attempts", store="Seeded", count=600, days=2, batch=250, seed=3, yes=True,
                 stdout=io.StringIO())
    store = Store.objects.get(name="Seeded")
    assert Refund.objects.filter(attempt__store=store).exists()
    assert_agrees(store)
    PaymentAttempt.objects.filter(store=store, status="DECLINED").update(status="FAILED", card_brand="")
    Refund.objects.filter(attempt__store=store).update(status="FAILED")
    assert_agrees(store)
    Refund.objects.filter(attempt__store=store).delete()
    PaymentAttempt.objects.filter(store=store, status="FAILED").delete()
    assert_agrees(store)
    assert DaySummary.objects.filter(store=store, status="APPROVED").exclude(attempts=0).exists()


def test_sqlite_keeps_no_summary_and_the_dashboard_sums_the_attempts(store, lanes, monkeypatch):
    attempt = pay(lanes[0], 1000)
    apply_order(attempt, order(attempt, Outcome.PAID), source="charge", from_statuses=["SENT"])
    today = timezone.now().astimezone(TORONTO).date()
    DaySummary.objects.all().delete()  # what an SQLite database has: the table, never a row
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert not day_summary.kept() and day_summary.differences() == []
    assert day_totals(store, today).summary.approved == 1
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("rebuild_day_summary", stdout=io.StringIO())



@pytest.mark.parametrize("minutes", [5, 10, 90])
def test_possible_duplicates_read_from_repeated_cards_are_those_of_the_whole_day(store, lanes, settings, monkeypatch,
                                                                                 minutes):
    """The duplicates' query reads only the approvals of cards and totals repeated that day (DayCard) and of the
    day's first window; it finds the pairs the query over every approval of the day finds (SQLite's path)."""
    settings.CONSOLE_DUPLICATE_WINDOW_MINUTES = minutes
    day = date(2026, 3, 10)
    start = datetime(2026, 3, 10, tzinfo=TORONTO)
    made = 0
    for n in range(160):  # pairs (2m, 2m + 1): same card and total, 3 or 45 minutes apart
        m = n // 2
        attempt = pay(lanes[n % 3], 1000 + (m % 3) * 100, tip=(m % 2) * 50)
        apply_order(attempt, order(attempt, Outcome.PAID if n % 9 else Outcome.DECLINED,
                                   card=card(last4=f"{m % 5:04d}")), source="charge", from_statuses=["SENT"])
        gap = timedelta(minutes=(3 if m % 2 else 45) * (n % 2))
        at = start + timedelta(minutes=(m * 97) % (26 * 60) - 60) + gap  # 23:00 the day before to 01:00 after
        PaymentAttempt.objects.filter(pk=attempt.pk).update(created_at=at)
        made += 1
    for n, at in enumerate([start - timedelta(minutes=2), start + timedelta(minutes=2)]):  # across midnight
        attempt = pay(lanes[n], 4321)
        apply_order(attempt, order(attempt, Outcome.PAID, card=card(last4="9999")), source="charge",
                    from_statuses=["SENT"])
        PaymentAttempt.objects.filter(pk=attempt.pk).update(created_at=at)
    assert_agrees(store)
    kept = possible_duplicates(store, day)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    everything = possible_duplicates(store, day)
    monkeypatch.undo()
    assert sorted((a["id"], b["id"]) for a, b in kept) == sorted((a["id"], b["id"]) for a, b in everything)
    assert made == 160 and any(a["card_last4"] == "9999" for a, _ in everything)


@postgresql_keeps_it
@pytest.mark.django_db(transaction=True)
def test_a_changed_approval_is_counted_at_commit_and_holds_no_card_row_until_then(store, lanes):
    """A store's approvals of one card and total share one DayCard row. The change is counted into it when its
    transaction commits (payments migration 0015), not at the attempt's UPDATE: an answer being recorded holds
    no lock another lane's approval of the same card and total waits on. Committed transactions here, as in the
    console (the `db` tests count at each statement: tests/conftest.py)."""

    def approve(lane) -> PaymentAttempt:
        attempt = pay(lane, 1250)
        apply_order(attempt, order(attempt, Outcome.PAID), source="charge", from_statuses=["SENT"])
        return attempt

    def approvals() -> int:
        return sum(DayCard.objects.filter(store=store, card_last4="4021", total=1250).values_list("approvals",
                                                                                                 flat=True))

    approve(lanes[0])
    assert approvals() == 1
    recording, other_lane_done = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def other_lane() -> None:
        try:
            recording.wait(10)
            with connection.cursor() as cursor:  # a wait on a locked row fails the test instead of hanging it
                cursor.execute("SET lock_timeout = '3s'")
            approve(lanes[1])
        except BaseException as exc:  # reported by the test, in its own thread
            failures.append(exc)
        finally:
            other_lane_done.set()
            connection.close()

    thread = threading.Thread(target=other_lane)
    thread.start()
    with transaction.atomic():
        attempt = pay(lanes[2], 1250)
        apply_order(attempt, order(attempt, Outcome.PAID), source="charge", from_statuses=["SENT"])
        recording.set()  # this answer is recorded, not committed: the other lane approves meanwhile
        assert other_lane_done.wait(15)
        assert not failures, failures
        assert approvals() == 2  # the other lane's, committed; not yet this one
    thread.join()
    assert approvals() == 3
    assert_agrees(store)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status="NEEDS_REVIEW")  # a bulk UPDATE is counted too
    assert approvals() == 2
    assert_agrees(store)
