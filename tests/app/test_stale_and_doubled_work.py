"""Stale and doubled work: a CREATED attempt too old to send, one poll at a time, the database's clock.

`db` tests without workers: the services are called directly, and nothing here reaches a gateway (a claimed
poll returns before asking; a too-old attempt is failed before its client is built).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db.models.functions import Now
from django.utils import timezone

from payments.models import PaymentAttempt, PaymentEvent
from payments.services import attempt_poll, attempt_send, attempts_resume_stalled
from payments.services.outcomes import go_unknown
from payments.services.polling import _claim
from tests.factories import LaneFactory, StoreFactory, TerminalFactory

pytestmark = pytest.mark.django_db(transaction=True)


def make_attempt(status: str = "CREATED", **fields: object) -> PaymentAttempt:
    lane = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    return PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=lane.store.merchant,
        store=lane.store, lane=lane, terminal=lane.terminal, amount=1000, currency="CAD", status=status, **fields,
    )


def age(attempt: PaymentAttempt, seconds: float) -> None:
    PaymentAttempt.objects.filter(pk=attempt.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_a_created_attempt_older_than_the_maximum_is_never_sent(settings, enqueued):
    settings.CONSOLE_STALE_CREATED_AFTER_MAX = 60
    attempt = make_attempt()
    age(attempt, 61)
    attempt_send(attempt_id=attempt.pk)
    attempt.refresh_from_db()
    assert attempt.status == "FAILED" and attempt.message.startswith("Not sent, too old")
    assert list(PaymentEvent.objects.filter(attempt=attempt, kind="state").values_list("to_status", flat=True)) \
        == ["FAILED"]
    assert not PaymentEvent.objects.filter(attempt=attempt, kind="gateway").exists()


def test_the_resume_job_fails_too_old_ones_and_sends_the_others(settings, enqueued):
    settings.CONSOLE_STALE_CREATED_AFTER = 3
    settings.CONSOLE_STALE_CREATED_AFTER_MAX = 60
    old, stale, fresh = make_attempt(), make_attempt(), make_attempt()
    age(old, 90)
    age(stale, 10)
    counts = attempts_resume_stalled()
    assert counts["too_old"] == 1 and counts["sent"] == 1
    assert PaymentAttempt.objects.get(pk=old.pk).status == "FAILED"
    assert PaymentAttempt.objects.get(pk=fresh.pk).status == "CREATED"
    assert ("payments.tasks.send_attempt", f"({stale.pk},)") in enqueued()


def test_one_poll_at_a_time_and_the_count_is_kept_by_the_database(enqueued):
    attempt = make_attempt("UNKNOWN", poll_deadline=timezone.now() + timedelta(minutes=1))
    assert _claim(attempt.pk, "UNKNOWN", count=True)
    assert not _claim(attempt.pk, "UNKNOWN", count=True)  # a second delivery while the first one asks
    attempt_poll(attempt_id=attempt.pk)  # finds the claim held: asks nothing
    attempt.refresh_from_db()
    assert attempt.poll_count == 1 and attempt.poll_claimed_until is not None
    assert not PaymentEvent.objects.filter(attempt=attempt, kind="gateway").exists()
    PaymentAttempt.objects.filter(pk=attempt.pk).update(poll_claimed_until=timezone.now() - timedelta(seconds=1))
    assert _claim(attempt.pk, "UNKNOWN", count=True)  # a claim whose worker died lapses by itself
    assert PaymentAttempt.objects.get(pk=attempt.pk).poll_count == 2


def test_the_polling_deadline_is_set_by_the_databases_clock(settings, enqueued):
    settings.PAYMENT_POLL_WINDOW = 120
    attempt = make_attempt("SENT")
    assert go_unknown(attempt.pk, cause="test", from_statuses=["SENT"])
    deadline, db_now = PaymentAttempt.objects.annotate(db_now=Now()).values_list("poll_deadline", "db_now").get(
        pk=attempt.pk)
    assert abs((deadline - db_now).total_seconds() - 120) < 5


def test_the_resume_job_leaves_a_terminals_unconfirmed_answer_to_a_person(enqueued):
    """create_order (signed) said paid and query_order said unpaid: NEEDS_REVIEW, with what the terminal said.
    Another query_order would settle it by the answer that disagreed; the job re-queries only the others."""
    disagreed = make_attempt("NEEDS_REVIEW", terminal_outcome="APPROVED")
    differs = make_attempt("NEEDS_REVIEW")
    counts = attempts_resume_stalled()
    assert counts["requeried"] == 1
    assert ("payments.tasks.requery_attempt", f"({differs.pk},)") in enqueued()
    assert ("payments.tasks.requery_attempt", f"({disagreed.pk},)") not in enqueued()
