"""Text that users, setup or the gateway put into the console is rendered escaped on every page."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.utils import timezone

from payments.models import PaymentAttempt, PaymentEvent, Refund
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("xss")</script>'
IMG = "<img src=x onerror=alert(1)>"


def hostile(label: str) -> str:
    return f"{label} {SCRIPT}{IMG} «Ünïcode» 日本"


def test_hostile_text_in_every_field_is_escaped_on_every_page():
    store = StoreFactory(name=hostile("store")[:100], address=hostile("address"))
    lane = LaneFactory(store=store, name=hostile("lane")[:100])
    terminal = TerminalFactory(lane=lane, device="PAX-" + uuid.uuid4().hex[:6], serial=hostile("serial")[:64])
    cashier = UserFactory(first_name=hostile("first")[:150])
    assign_cashier(lane, cashier)
    attempt = PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=store.merchant, store=store,
        lane=lane, terminal=terminal, amount=1250, currency="CAD", status="APPROVED", gateway_reference="P1",
        card_brand=hostile("brand")[:40], card_last4="4242", auth_num="A1", terminal_text=hostile("disp"),
        message=hostile("message"), finalized_at=timezone.now(),
        card={"emv_label": hostile("label"), "card_num": "XXXXXXXXXXXX4242", "terminal_text": hostile("disp"),
              "trx_method": "C", "lang_code": "E"},
    )
    PaymentEvent.objects.create(attempt=attempt, kind="note", cause=hostile("cause"), data={"x": hostile("data")})
    Refund.objects.create(attempt=attempt, refund_reference=f"R{uuid.uuid4().hex[:20]}", amount=100, currency="CAD",
                          reason=hostile("reason"), status="APPROVED", message=hostile("refund message"))
    manager = UserFactory(is_staff=True, is_superuser=True, last_name=hostile("last")[:150])
    day = timezone.localdate(attempt.created_at)

    pages = {
        cashier: [f"/lanes/{lane.code}/", f"/payments/{attempt.pk}/receipt/"],
        manager: ["/", f"/backoffice/payments/{attempt.pk}/", f"/backoffice/reconciliation/?store={store.pk}&day={day}",
                  f"/backoffice/lanes/?store={store.pk}", f"/admin/payments/paymentattempt/{attempt.pk}/change/",
                  f"/admin/lanes/store/{store.pk}/change/", f"/admin/lanes/lane/{lane.pk}/change/",
                  "/admin/payments/paymentevent/"],
    }
    checked = 0
    for user, urls in pages.items():
        client = Client()
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            assert SCRIPT not in html and IMG not in html, url
            assert "«Ünïcode» 日本" in html or url.startswith("/admin/payments/paymentevent"), url
            checked += 1
    assert checked == 10  # every page above was read
