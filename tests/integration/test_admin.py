"""Setup in the Django admin: the merchant key is entered but never shown, the connection test talks to
IOTPay (the sandbox) with a signed query_order, terminals are enabled and disabled, users get lanes."""

from __future__ import annotations

import os

import pytest
from django.forms import MultiWidget
from django.test import Client

from lanes.models import Terminal
from payments.models import Merchant
from tests.factories import UserFactory

pytestmark = pytest.mark.integration


@pytest.fixture
def admin_client(live):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def run_action(client, merchant, action="test_connection"):
    response = client.post("/admin/payments/merchant/", {"action": action, "_selected_action": [merchant.pk]},
                           follow=True)
    return " ".join(str(m) for m in response.context["messages"])


def test_connection_action_reports_good_and_bad_keys(admin_client, lane):
    merchant = lane.store.merchant
    assert "accepted the signed request" in run_action(admin_client, merchant)
    merchant.set_key("not-the-right-key")
    merchant.save()
    message = run_action(admin_client, merchant)
    assert "refused" in message and "0013" in message


def test_merchant_key_is_entered_never_shown_and_kept_when_left_blank(admin_client, lane):
    merchant = lane.store.merchant
    key = os.environ["TEST_SANDBOX_KEY"]
    page = admin_client.get(f"/admin/payments/merchant/{merchant.pk}/change/").content.decode()
    assert key not in page and merchant.key_ciphertext not in page
    response = admin_client.post(f"/admin/payments/merchant/{merchant.pk}/change/", {
        "name": "Renamed", "gateway": "iotpay", "gateway_account": merchant.gateway_account,
        "gateway_login": merchant.gateway_login, "currency": "CAD", "key": "",
    })
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert merchant.name == "Renamed" and merchant.get_key() == key
    admin_client.post(f"/admin/payments/merchant/{merchant.pk}/change/", {
        "name": "Renamed", "gateway": "iotpay", "gateway_account": merchant.gateway_account,
        "gateway_login": merchant.gateway_login, "currency": "CAD",
        "key": "a-new-key-123",
    })
    assert Merchant.objects.get(pk=merchant.pk).get_key() == "a-new-key-123"


def test_terminals_are_disabled_and_enabled_and_users_get_lanes(admin_client, lane):
    terminal = lane.terminal
    admin_client.post("/admin/lanes/terminal/", {"action": "disable", "_selected_action": [terminal.pk]})
    assert not Terminal.objects.get(pk=terminal.pk).enabled
    admin_client.post("/admin/lanes/terminal/", {"action": "enable", "_selected_action": [terminal.pk]})
    assert Terminal.objects.get(pk=terminal.pk).enabled
    user = UserFactory()
    page = admin_client.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200 and "lanes this user may use" in page.content.decode().lower()


def _change_form_data(page) -> dict:
    """The POST a browser would send back for an admin change page as rendered: the form and its inlines."""
    def values(form) -> dict:
        out = {}
        for name in form.fields:
            value = form.initial.get(name, form.fields[name].initial)
            widget = form.fields[name].widget
            if isinstance(widget, MultiWidget) and value is not None:  # a split date and time, say
                for i, part in enumerate(widget.decompress(value)):
                    out[f"{form.add_prefix(name)}_{i}"] = str(part)
            elif value is True:
                out[form.add_prefix(name)] = "on"
            elif value not in (None, False):
                out[form.add_prefix(name)] = value if isinstance(value, list) else str(getattr(value, "pk", value))
        return out

    data = values(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()})
        for form in formset.initial_forms:
            data.update(values(form))
    return data


def test_a_store_role_is_given_and_changed_in_the_admin_on_the_store_and_on_the_user(admin_client, lane):
    from lanes.models import StoreMembership

    store, user = lane.store, UserFactory(username="sup-admin-made")
    page = admin_client.get(f"/admin/lanes/store/{store.pk}/change/")
    data = _change_form_data(page)
    prefix = next(i.formset.prefix for i in page.context["inline_admin_formsets"]
                  if i.formset.model is StoreMembership)
    n = int(data[f"{prefix}-TOTAL_FORMS"])
    data.update({f"{prefix}-TOTAL_FORMS": str(n + 1), f"{prefix}-{n}-user": str(user.pk),
                 f"{prefix}-{n}-role": "supervisor", f"{prefix}-{n}-store": str(store.pk)})
    response = admin_client.post(f"/admin/lanes/store/{store.pk}/change/", data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert StoreMembership.objects.get(user=user, store=store).role == "supervisor"

    page = admin_client.get(f"/admin/auth/user/{user.pk}/change/")
    data = _change_form_data(page)
    data.pop("password", None)  # the user form shows the hash read-only
    prefix = next(i.formset.prefix for i in page.context["inline_admin_formsets"]
                  if i.formset.model is StoreMembership)
    data[f"{prefix}-0-role"] = "manager"
    response = admin_client.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 302, [response.context["adminform"].form.errors] + \
        [f.errors for i in response.context["inline_admin_formsets"] for f in i.formset.forms]
    assert StoreMembership.objects.get(user=user, store=store).role == "manager"
