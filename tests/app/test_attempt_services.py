"""State machine rules that need no gateway: resolving by a person, append-only events, allowed moves."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from payments.models import PaymentAttempt, PaymentEvent
from payments.services import attempt_resolve
from payments.services.door import record_safely
from payments.services.transitions import transition
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory

pytestmark = pytest.mark.django_db


def make_attempt(status: str) -> PaymentAttempt:
    terminal = TerminalFactory(lane=LaneFactory(store=StoreFactory()))
    lane = terminal.lane
    return PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=lane.store.merchant,
        store=lane.store, lane=lane, terminal=terminal, amount=1000, currency="CAD", status=status,
    )


def test_a_person_resolves_an_attempt_that_needs_review_with_a_reason():
    attempt = make_attempt("NEEDS_REVIEW")
    manager = UserFactory(username="maria")
    resolved = attempt_resolve(attempt_id=attempt.pk, status="APPROVED", user=manager,
                               reason="terminal printed an approval, auth 123456", evidence="portal CP2026120401")
    assert resolved.status == "APPROVED"
    assert resolved.finalized_at is not None
    event = PaymentEvent.objects.filter(attempt=attempt, kind="state").last()
    assert (event.from_status, event.to_status, event.actor) == ("NEEDS_REVIEW", "APPROVED", manager)
    assert "maria" in event.cause and "auth 123456" in event.cause
    assert event.data == {"reason": "terminal printed an approval, auth 123456", "evidence": "portal CP2026120401"}


@pytest.mark.parametrize("status", ["SENT", "UNKNOWN", "APPROVED", "DECLINED"])
def test_only_attempts_needing_review_can_be_resolved_by_hand(status):
    attempt = make_attempt(status)  # UNKNOWN with no deadline passed: the console is still asking
    assert attempt_resolve(attempt_id=attempt.pk, status="APPROVED", user=UserFactory(), reason="x",
                           evidence="y") is None
    assert PaymentAttempt.objects.get(pk=attempt.pk).status == status


def test_an_unknown_attempt_can_be_closed_once_its_window_has_passed():
    attempt = make_attempt("UNKNOWN")
    PaymentAttempt.objects.filter(pk=attempt.pk).update(poll_deadline=timezone.now() + timedelta(minutes=1))
    assert attempt_resolve(attempt_id=attempt.pk, status="FAILED", user=UserFactory(), reason="x",
                           evidence="y") is None
    PaymentAttempt.objects.filter(pk=attempt.pk).update(poll_deadline=timezone.now() - timedelta(seconds=1))
    closed = attempt_resolve(attempt_id=attempt.pk, status="FAILED", user=UserFactory(), reason="never reached",
                             evidence="IOTPay portal shows no order")
    assert closed.status == "FAILED" and "Closed by hand" in closed.message


def test_resolving_needs_a_reason_evidence_and_a_final_status():
    attempt = make_attempt("NEEDS_REVIEW")
    with pytest.raises(ValueError, match="reason"):
        attempt_resolve(attempt_id=attempt.pk, status="APPROVED", user=UserFactory(), reason="  ", evidence="e")
    with pytest.raises(ValueError, match="evidence"):
        attempt_resolve(attempt_id=attempt.pk, status="APPROVED", user=UserFactory(), reason="why", evidence=" ")
    with pytest.raises(ValueError, match="resolved only as"):
        attempt_resolve(attempt_id=attempt.pk, status="UNKNOWN", user=UserFactory(), reason="why", evidence="e")


def test_final_statuses_never_move_and_moves_not_in_the_machine_are_refused():
    approved = make_attempt("APPROVED")
    assert transition(approved.pk, from_statuses=["APPROVED"], to="DECLINED", cause="late") is None
    created = make_attempt("CREATED")
    assert transition(created.pk, from_statuses=["CREATED"], to="APPROVED", cause="skip") is None
    assert PaymentAttempt.objects.get(pk=created.pk).status == "CREATED"


def test_events_are_append_only():
    attempt = make_attempt("CREATED")
    event = PaymentEvent.objects.create(attempt=attempt, kind="note", cause="hello")
    event.cause = "changed"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


@pytest.mark.django_db(transaction=True)
def test_roles_survive_a_flush_with_their_permissions():
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    assert all(config.models_module is not None for config in apps.get_app_configs()
               if config.label in ("payments", "lanes", "auth"))
    groups = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert set(groups) == {"owner", "admin"}  # store roles are memberships, not groups
    assert {"view_lanes_wall", "view_reconciliation", "refund_payment", "resolve_exception"} <= groups["owner"]
    assert "operate_any_lane" not in groups["owner"] and "operate_any_lane" in groups["admin"]


def test_an_answer_the_database_refuses_to_record_becomes_no_answer_never_a_stuck_attempt():
    """record_safely: whatever fails while an answer is recorded (here PostgreSQL refusing a value too long for
    its column) leaves the attempt UNKNOWN, to be looked up at the gateway, with a note saying why."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite stores over-long text: the refusal is PostgreSQL's")
    attempt = make_attempt("SENT")

    def apply() -> None:
        transition(attempt.pk, from_statuses=["SENT"], to="APPROVED", cause="the gateway's answer",
                   card_brand="V" * 5000)

    record_safely(attempt.pk, apply, from_statuses=["SENT"], what="the gateway's answer")
    attempt.refresh_from_db()
    assert attempt.status == "UNKNOWN" and attempt.card_brand == ""
    assert "APPROVED" not in list(attempt.events.filter(kind="state").values_list("to_status", flat=True))
    notes = " | ".join(attempt.events.filter(kind="note").values_list("cause", flat=True))
    assert "could not be recorded (DataError)" in notes
