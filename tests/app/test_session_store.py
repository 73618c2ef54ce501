"""The console's session store reads a session as Django's database store does, in one statement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends import db as django_db_store
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from store_console.sessions import SessionStore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def saved_session(**data: object) -> str:
    store = django_db_store.SessionStore()
    store.update(data)
    store.create()
    assert store.session_key is not None
    return store.session_key


def test_the_console_uses_it():
    assert settings.SESSION_ENGINE == "store_console.sessions"


def test_a_session_loads_the_same_data_as_with_djangos_store_in_one_statement():
    key = saved_session(_auth_user_id="7", cart=["a", "é"], n=3)

    with CaptureQueriesContext(connection) as queries:
        ours = SessionStore(key).load()

    assert ours == django_db_store.SessionStore(key).load() == {"_auth_user_id": "7", "cart": ["a", "é"], "n": 3}
    # One statement, and ours: the ORM's read is one statement too, but names every column of the model.
    assert [q["sql"].split(" FROM ")[0] for q in queries.captured_queries] == ["SELECT session_data"]


@pytest.mark.parametrize("store_class", [SessionStore, django_db_store.SessionStore])
def test_an_expired_session_is_not_loaded_and_its_key_is_dropped(store_class):
    key = saved_session(_auth_user_id="7")
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))

    store = store_class(key)

    assert store.load() == {}
    assert store.session_key is None


@pytest.mark.parametrize("store_class", [SessionStore, django_db_store.SessionStore])
def test_an_unknown_key_gets_a_new_session_not_the_one_offered(store_class):
    offered = "x" * 32
    store = store_class(offered)

    assert store.load() == {}
    store["n"] = 1
    store.save()

    assert store.session_key not in (None, offered)
    assert not Session.objects.filter(session_key=offered).exists()


def test_a_signed_in_cashier_stays_signed_in_and_signing_out_ends_the_session():
    UserFactory(username="cashier", password="pw-long-enough-1")
    client = Client()
    assert client.post("/accounts/login/", {"username": "cashier", "password": "pw-long-enough-1"}).status_code == 302
    key = client.cookies[settings.SESSION_COOKIE_NAME].value

    assert SessionStore(key).load()["_auth_user_id"]
    assert not sent_to_sign_in(client.get("/"))

    client.post("/accounts/logout/")
    assert SessionStore(key).load() == {}
    assert sent_to_sign_in(client.get("/"))


def sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse(settings.LOGIN_URL))
