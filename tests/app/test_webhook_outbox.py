"""The outbox: a status change writes its event and deliveries in its own transaction, for the endpoints of its
store that want it, and schedules their sending for after the commit."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from payments.models import PaymentAttempt, Refund
from payments.services.refund_steps import ALLOWED as REFUND_ALLOWED
from payments.services.transitions import transition
from tests.factories import LaneFactory, StoreFactory, TerminalFactory
from webhooks.endpoints import endpoint_create
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db


def sent_attempt(store) -> PaymentAttempt:
    lane = TerminalFactory(lane=LaneFactory(store=store)).lane
    return PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=store.merchant, store=store,
        lane=lane, terminal=lane.terminal, amount=1250, currency="CAD", status="SENT", sent_at=timezone.now())


def test_an_approval_writes_one_event_and_a_delivery_per_endpoint_that_wants_it(django_capture_on_commit_callbacks):
    store = StoreFactory()
    wants, _ = endpoint_create(store=store, url="https://a.example.com/", events=["payment.approved"])
    also, _ = endpoint_create(store=store, url="https://b.example.com/")
    endpoint_create(store=store, url="https://c.example.com/", events=["payment.declined"])
    inactive, _ = endpoint_create(store=store, url="https://d.example.com/")
    inactive.active = False
    inactive.save()
    endpoint_create(store=StoreFactory(merchant=store.merchant), url="https://other-store.example.com/")
    attempt = sent_attempt(store)
    with django_capture_on_commit_callbacks() as callbacks:
        transition(attempt.pk, from_statuses=["SENT"], to="APPROVED", cause="test: paid")
    event = Event.objects.get()
    body = json.loads(event.body)
    assert (event.type, event.attempt_id, event.refund_id, event.store_id) == ("payment.approved", attempt.pk, None,
                                                                               store.pk)
    assert (body["id"], body["type"], body["data"]["id"], body["data"]["status"]) == (
        event.event_id, "payment.approved", attempt.pk, "APPROVED")
    deliveries = Delivery.objects.filter(event=event)
    assert {d.endpoint_id for d in deliveries} == {wants.pk, also.pk}
    assert all(d.status == "pending" and d.tries == 0 for d in deliveries)
    assert all(abs((d.give_up_at - event.created_at).total_seconds() - 86400) < 1 for d in deliveries)
    assert len(callbacks) >= 3  # the live push, and one enqueue per delivery


def test_a_change_that_is_rolled_back_leaves_no_event():
    store = StoreFactory()
    endpoint_create(store=store, url="https://a.example.com/")
    attempt = sent_attempt(store)
    with pytest.raises(RuntimeError), transaction.atomic():
        transition(attempt.pk, from_statuses=["SENT"], to="APPROVED", cause="test: paid")
        assert Event.objects.count() == 1
        raise RuntimeError("the rest of the step failed")
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert PaymentAttempt.objects.get(pk=attempt.pk).status == "SENT"


def test_statuses_on_the_way_make_no_event():
    store = StoreFactory()
    endpoint_create(store=store, url="https://a.example.com/")
    attempt = sent_attempt(store)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status="CREATED")
    transition(attempt.pk, from_statuses=["CREATED"], to="SENT", cause="test: sent")
    assert not Event.objects.exists()
    transition(attempt.pk, from_statuses=["SENT"], to="UNKNOWN", cause="test: no answer")
    assert list(Event.objects.values_list("type", flat=True)) == ["payment.unknown"]


def test_a_refund_event_names_the_refund_and_carries_its_payment():
    store = StoreFactory()
    endpoint_create(store=store, url="https://a.example.com/", events=["refund.approved", "payment.approved"])
    attempt = sent_attempt(store)
    transition(attempt.pk, from_statuses=["SENT"], to="APPROVED", cause="test: paid")
    refund = Refund.objects.create(attempt=attempt, refund_reference=f"R{uuid.uuid4().hex[:20]}", amount=300,
                                   currency="CAD", reason="returned", status="SENT")
    transition(refund.pk, model=Refund, allowed=REFUND_ALLOWED, from_statuses=["SENT"], to="APPROVED",
               cause="test: refunded")
    event = Event.objects.get(type="refund.approved")
    data = json.loads(event.body)["data"]
    assert (event.refund_id, data["id"], data["amount"], data["status"]) == (refund.pk, refund.pk, 300, "APPROVED")
    assert (data["payment"]["id"], data["payment"]["status"], data["payment"]["amount"]) == (attempt.pk, "APPROVED",
                                                                                             1250)
