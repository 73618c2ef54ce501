"""The hand-written statements of the hot paths (payments/services/statements.py, lanes/rows.py, the webhooks
outbox's endpoints) read and write what the ORM did: the same values, the same refusals, one claim among
concurrent ones."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lanes.models import Lane, Store, Terminal
from payments import logcontext
from payments.models import Merchant, PaymentAttempt, PaymentEvent
from payments.services import transitions
from payments.services.sending import attempt_claim
from payments.services.statements import insert_events
from tests.app.test_stale_and_doubled_work import make_attempt
from tests.factories import StoreFactory, UserFactory
from webhooks.models import Endpoint
from webhooks.outbox import active_endpoints

pytestmark = pytest.mark.django_db(transaction=True)


# The one-statement claim and change are PostgreSQL's; elsewhere the ORM's locked read comes first.
ORM_READ = [] if connection.vendor == "postgresql" else ["SELECT"]


def values(instance: object) -> dict[str, object]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_the_claim_reads_the_attempt_and_what_the_sale_needs_as_the_orm_does():
    attempt = make_attempt()
    with CaptureQueriesContext(connection) as queries:
        claimed = attempt_claim(attempt.pk)
    assert claimed is not None and claimed.status == "SENT" and claimed.sent_at is not None
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    # the claim and its event on PostgreSQL; SQLite (make run's default) keeps the ORM's locked read first
    assert statements == ["BEGIN", *ORM_READ, "UPDATE", "INSERT", "COMMIT"]
    assert values(claimed) == values(PaymentAttempt.objects.get(pk=attempt.pk))
    for name, model in (("merchant", Merchant), ("terminal", Terminal), ("lane", Lane), ("store", Store)):
        related = getattr(claimed, name)  # read with the claim: no query
        assert values(related) == values(model.objects.get(pk=related.pk)), name
    assert claimed.merchant.get_key() == attempt.merchant.get_key()  # the encrypted key decrypts as before
    event = PaymentEvent.objects.get(attempt=attempt, kind="state")
    assert (event.from_status, event.to_status) == ("CREATED", "SENT")


def test_the_claim_of_an_attempt_too_old_or_taken_changes_nothing_or_fails_it(settings):
    settings.CONSOLE_STALE_CREATED_AFTER_MAX = 60
    taken = make_attempt("SENT")
    assert attempt_claim(taken.pk) is None
    assert PaymentAttempt.objects.get(pk=taken.pk).status == "SENT"
    old = make_attempt()
    PaymentAttempt.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    assert attempt_claim(old.pk) is None
    assert PaymentAttempt.objects.get(pk=old.pk).status == "FAILED"
    young = make_attempt()
    PaymentAttempt.objects.filter(pk=young.pk).update(created_at=timezone.now() - timedelta(seconds=50))
    assert attempt_claim(young.pk).status == "SENT"


def test_concurrent_claims_claim_once():
    attempt = make_attempt()
    results: list[object] = []
    start = threading.Barrier(6)

    def claim() -> None:
        try:
            start.wait()
            results.append(attempt_claim(attempt.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1
    assert PaymentEvent.objects.filter(attempt=attempt, to_status="SENT").count() == 1


def test_a_change_writes_and_returns_what_the_orm_would_have():
    attempt = make_attempt("SENT")
    card = {"brand": "VISA", "last4": "4242", "entry": "tap"}
    paid_at = timezone.now() - timedelta(seconds=3)
    with CaptureQueriesContext(connection) as queries:
        changed = transitions.transition(
            attempt.pk, from_statuses=["SENT", "UNKNOWN"], to="APPROVED", cause="paid", card=card,
            card_brand="VISA", card_last4="4242", gateway_amount=1000, gateway_reference="GW-1", paid_at=paid_at,
            message="",
        )
    sql = [q["sql"] for q in queries.captured_queries]
    assert [s.split()[0] for s in sql if "payments_paymentattempt" in s.split(" SET ")[0]] == [*ORM_READ, "UPDATE"]
    assert changed is not None
    stored = PaymentAttempt.objects.get(pk=attempt.pk)
    assert values(changed) == values(stored)
    assert stored.status == "APPROVED" and stored.card == card and stored.paid_at == paid_at
    assert stored.finalized_at is not None and stored.updated_at >= stored.finalized_at
    assert values(changed.lane) == values(Lane.objects.get(pk=attempt.lane_id))
    event = PaymentEvent.objects.get(attempt=attempt, kind="state")
    assert (event.from_status, event.to_status, event.cause) == ("SENT", "APPROVED", "paid")


def test_a_change_from_a_status_the_attempt_is_not_in_does_nothing():
    attempt = make_attempt("DECLINED")
    before = values(PaymentAttempt.objects.get(pk=attempt.pk))
    assert transitions.transition(attempt.pk, from_statuses=["SENT", "UNKNOWN"], to="APPROVED", cause="x") is None
    assert values(PaymentAttempt.objects.get(pk=attempt.pk)) == before
    assert not PaymentEvent.objects.filter(attempt=attempt).exists()
    # a move the state machine does not allow is not even tried
    sent = make_attempt("SENT")
    assert transitions.transition(sent.pk, from_statuses=["SENT"], to="CREATED", cause="x") is None
    assert PaymentAttempt.objects.get(pk=sent.pk).status == "SENT"


def test_a_change_that_is_not_final_keeps_finalized_at_empty():
    attempt = make_attempt("SENT")
    changed = transitions.transition(attempt.pk, from_statuses=["SENT"], to="NEEDS_REVIEW", cause="differs",
                                     message="check it")
    assert changed is not None and changed.finalized_at is None
    assert PaymentAttempt.objects.get(pk=attempt.pk).message == "check it"


def test_a_stores_active_endpoints_are_read_as_the_orm_reads_them():
    store, other = StoreFactory(), StoreFactory()

    def endpoint(store_: Store, url: str, *, active: bool = True) -> Endpoint:
        made = Endpoint(store=store_, url=url, events=["payment.approved"], active=active)
        made.set_secret(f"secret of {url}")
        made.save()
        return made

    second, first = endpoint(store, "https://b.example.com/"), endpoint(store, "https://a.example.com/")
    endpoint(store, "https://off.example.com/", active=False)
    endpoint(other, "https://other.example.com/")
    found = active_endpoints(store.pk)
    assert [e.pk for e in found] == [second.pk, first.pk]  # by id
    assert [values(e) for e in found] == [values(Endpoint.objects.get(pk=e.pk)) for e in found]
    assert found[0].events == ["payment.approved"] and found[0].wants("payment.approved")
    assert found[1].get_secret() == "secret of https://a.example.com/"


def test_events_are_inserted_with_the_values_the_orm_would_write():
    attempt = make_attempt()
    user = UserFactory()
    logcontext.start("corr-123")
    try:
        before = timezone.now()
        insert_events([
            PaymentEvent(attempt=attempt, kind=PaymentEvent.Kind.STATE, from_status="CREATED", to_status="SENT",
                         cause="sent", actor=user),
            PaymentEvent(attempt_id=attempt.pk, kind=PaymentEvent.Kind.GATEWAY, cause="create_order: success",
                         data={"request": {"amount": "100"}, "text": "l'été \"quoted\"", "n": [1, None, True]}),
        ])
        reference = PaymentEvent.objects.create(attempt=attempt, kind=PaymentEvent.Kind.NOTE, cause="by the ORM")
    finally:
        logcontext.clear()
    first, second, orm = PaymentEvent.objects.filter(attempt=attempt).order_by("pk")
    assert (first.kind, first.from_status, first.to_status, first.cause, first.actor_id, first.data) == (
        "state", "CREATED", "SENT", "sent", user.pk, {})
    assert second.data == {"request": {"amount": "100"}, "text": "l'été \"quoted\"", "n": [1, None, True]}
    assert first.correlation_id == second.correlation_id == orm.correlation_id == "corr-123"
    assert before <= first.created_at <= second.created_at <= reference.created_at
    assert (first.refund_id, first.actor_key, second.actor_id) == (None, "", None)
