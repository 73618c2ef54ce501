"""Who manages webhooks in the Django admin: the admin role (setup), not the store roles."""

from __future__ import annotations

import pytest
from django.test import Client

from payments.services.transitions import transition
from tests.app.test_webhook_outbox import sent_attempt
from tests.factories import StoreFactory, staff
from webhooks.endpoints import endpoint_create

pytestmark = pytest.mark.django_db

PAGES = ["/admin/webhooks/endpoint/", "/admin/webhooks/endpoint/add/", "/admin/webhooks/delivery/",
         "/admin/webhooks/event/"]


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_role_adds_endpoints_and_may_send_deliveries_again():
    store = StoreFactory()
    endpoint_create(store=store, url="https://a.example.com/")
    attempt = sent_attempt(store)
    transition(attempt.pk, from_statuses=["SENT"], to="APPROVED", cause="test: paid")  # one delivery to list
    client = client_for(staff("admin", is_staff=True))
    for page in PAGES:
        assert client.get(page).status_code == 200, page
    deliveries = client.get("/admin/webhooks/delivery/").content.decode()
    assert 'value="send_again"' in deliveries and "Send again" in deliveries


@pytest.mark.parametrize("role", ["manager", "owner"])
def test_other_roles_do_not_reach_the_webhooks_admin(role):
    user = staff(role) if role == "owner" else staff(role, StoreFactory())
    user.is_staff = True  # even with staff status: no webhook permission
    user.save()
    client = client_for(user)
    for page in PAGES:
        assert client.get(page).status_code == 403, page
