"""Which language a page answers in: the person's choice, their store's, the cookie of the header's switch,
the browser's Accept-Language, English; the API by Accept-Language only; the CSV in machine formats whatever
the language (docs/languages.md)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from integrations.keys import api_key_create
from lanes.models import LanguagePreference, Store
from tests.app.test_reconciliation import local, make, refund
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier, staff

pytestmark = pytest.mark.django_db

LANG = re.compile(r'<html lang="([^"]+)">')


def page_language(response) -> str:
    assert response.status_code == 200, response.status_code
    match = LANG.search(response.content.decode())
    assert match is not None
    assert response["Content-Language"] == match[1]
    return match[1]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def choose(user, language: str) -> None:
    LanguagePreference.objects.update_or_create(user=user, defaults={"language": language})


@pytest.fixture
def lane():
    return TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane


LOGIN = "/accounts/login/"


# ------------------------------------------------------------------------------------- not signed in


def test_a_visitor_gets_the_browsers_language_else_english():
    client = Client()
    assert page_language(client.get(LOGIN)) == "en"
    assert page_language(client.get(LOGIN, headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})) == "fr"
    assert page_language(client.get(LOGIN, headers={"Accept-Language": "de-DE,en;q=0.3"})) == "en"
    assert page_language(client.get(LOGIN, headers={"Accept-Language": "de, fr;q=0.1"})) == "fr"
    assert "Accept-Language" in client.get(LOGIN)["Vary"]


def test_the_switch_on_the_login_page_sets_the_cookie_for_a_visitor():
    client = Client(enforce_csrf_checks=True)
    html = client.get(LOGIN).content.decode()
    assert 'action="/language/"' in html and 'value="fr"' in html and 'aria-pressed="true"\n            title="English"' in html
    token = client.cookies["csrftoken"].value
    response = client.post("/language/", {"language": "fr", "next": LOGIN, "csrfmiddlewaretoken": token})
    assert response.status_code == 303 and response["Location"] == LOGIN
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    french = client.get(LOGIN, headers={"Accept-Language": "en"})
    assert page_language(french) == "fr"  # the visitor's choice beats the browser's
    assert 'lang="fr" class="language-switch__choice" data-language="fr"\n            aria-pressed="true"' in (
        french.content.decode())


def test_a_french_request_leaves_its_language_active_on_the_thread_as_django_does():
    assert translation.get_language() == "en"
    assert page_language(Client().get(LOGIN, headers={"Accept-Language": "fr"})) == "fr"
    assert translation.get_language() == "fr"  # the response's lazy strings are read in French


def test_the_next_test_starts_in_english_all_the_same():
    assert translation.get_language() == "en"  # tests/conftest.py: english_to_begin_with


def test_the_switch_refuses_an_unknown_language_and_a_foreign_next():
    client = Client()
    response = client.post("/language/", {"language": "de", "next": "https://evil.example/"})
    assert response.status_code == 303 and response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies
    assert client.get("/language/").status_code == 405  # a change of state is a POST


# ------------------------------------------------------------------------------------------ signed in


def test_the_switch_saves_a_signed_in_users_choice(lane):
    user = UserFactory()
    assign_cashier(lane, user)
    client = signed_in(user)
    url = f"/lanes/{lane.code}/"
    response = client.post("/language/", {"language": "fr", "next": url})
    assert response["Location"] == url
    assert LanguagePreference.objects.get(user=user).language == "fr"
    # Their choice follows them: a fresh session (no cookie) on an English browser.
    assert page_language(signed_in(user).get(url, headers={"Accept-Language": "en"})) == "fr"
    client.post("/language/", {"language": "en", "next": url})
    assert LanguagePreference.objects.get(user=user).language == "en"
    assert LanguagePreference.objects.filter(user=user).count() == 1


def test_the_users_choice_beats_the_store_and_the_browser():
    store = StoreFactory(language="fr")
    user = staff("supervisor", store)
    choose(user, "en")
    assert page_language(signed_in(user).get("/", headers={"Accept-Language": "fr"})) == "en"


def test_a_store_default_beats_the_browser_and_a_quebec_store_defaults_to_french():
    french = staff("manager", StoreFactory(language="fr"))
    assert page_language(signed_in(french).get("/", headers={"Accept-Language": "en-CA"})) == "fr"
    quebec = staff("manager", StoreFactory(province="QC"))
    assert page_language(signed_in(quebec).get("/", headers={"Accept-Language": "en-CA"})) == "fr"
    english_in_quebec = staff("manager", StoreFactory(province="QC", language="en"))
    assert page_language(signed_in(english_in_quebec).get("/", headers={"Accept-Language": "fr"})) == "en"
    ontario = staff("manager", StoreFactory(province="ON"))
    assert page_language(signed_in(ontario).get("/", headers={"Accept-Language": "fr"})) == "fr"  # the browser


def test_stores_that_disagree_leave_it_to_the_browser_but_a_lanes_page_follows_its_store():
    montreal = TerminalFactory(lane=LaneFactory(store=StoreFactory(province="QC"))).lane
    toronto = TerminalFactory(lane=LaneFactory(store=StoreFactory(language="en"))).lane
    user = UserFactory()
    assign_cashier(montreal, user)
    assign_cashier(toronto, user)
    client = signed_in(user)
    assert page_language(client.get("/", headers={"Accept-Language": "en"})) == "en"
    assert page_language(client.get("/", headers={"Accept-Language": "fr"})) == "fr"
    assert page_language(client.get(f"/lanes/{montreal.code}/", headers={"Accept-Language": "en"})) == "fr"
    assert page_language(client.get(f"/lanes/{toronto.code}/", headers={"Accept-Language": "fr"})) == "en"
    # The page's scripts get their catalog in the page's language, whatever the catalog's own request says.
    html = client.get(f"/lanes/{montreal.code}/", headers={"Accept-Language": "en"}).content.decode()
    assert '<script src="/jsi18n/?language=fr">' in html
    assert client.get("/jsi18n/?language=fr", headers={"Accept-Language": "en"})["Content-Language"] == "fr"
    assert client.get("/jsi18n/?language=xx", headers={"Accept-Language": "en"})["Content-Language"] == "en"
    choose(user, "en")  # their own choice wins on every page
    assert page_language(client.get(f"/lanes/{montreal.code}/")) == "en"


def test_stores_that_agree_give_their_language():
    user = staff("supervisor", StoreFactory(language="fr"), StoreFactory(province="QC"))
    assert page_language(signed_in(user).get("/", headers={"Accept-Language": "en"})) == "fr"


def test_the_language_is_chosen_in_the_users_admin_page():
    admin = UserFactory(is_staff=True, is_superuser=True)
    user = UserFactory()
    client = signed_in(admin)
    url = reverse("admin:auth_user_change", args=[user.pk])
    form = client.get(url).content.decode()
    assert 'name="language_preference-0-language"' in form
    data = {
        "username": user.username, "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "language_preference-TOTAL_FORMS": "1", "language_preference-INITIAL_FORMS": "0",
        "language_preference-0-language": "fr", "language_preference-0-user": str(user.pk),
        "store_memberships-TOTAL_FORMS": "0", "store_memberships-INITIAL_FORMS": "0",
        "Lane_cashiers-TOTAL_FORMS": "0", "Lane_cashiers-INITIAL_FORMS": "0",
        "_save": "Save",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert LanguagePreference.objects.get(user=user).language == "fr"


# ---------------------------------------------------------------------------------------------- the API


def test_the_api_with_a_key_follows_accept_language_only_and_keeps_its_codes(lane):
    token = api_key_create(store=lane.store, label="register", scopes=["payments:read"], lanes=None).token
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"  # a cookie is a person's choice: not the API's
    url = "/api/payments/999999999"
    english = client.get(url, headers={"Authorization": f"Bearer {token}"})
    french = client.get(url, headers={"Authorization": f"Bearer {token}", "Accept-Language": "fr-CA"})
    assert english.status_code == french.status_code == 404
    assert english["Content-Language"] == "en" and french["Content-Language"] == "fr"
    assert english.json()["code"] == french.json()["code"] == "not_found"
    lane.store.language = "fr"
    lane.store.save()
    again = client.get(url, headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert again["Content-Language"] == "en"  # a key is not a person of the store


# -------------------------------------------------------------------------------------------- setup_store


def test_setup_store_sets_the_stores_language():
    args = ["--merchant-id", "10000998", "--merchant-key", "k-" + "y" * 20, "--job-no", "job",
            "--store-name", "Dépanneur Laurier"]
    out = io.StringIO()
    call_command("setup_store", *args, "--language", "fr", stdout=out)
    assert Store.objects.get(name="Dépanneur Laurier").language == "fr"
    call_command("setup_store", *args, stdout=out)  # not given: left as it is
    assert Store.objects.get(name="Dépanneur Laurier").language == "fr"
    out = io.StringIO()
    call_command("setup_store", *args, "--language", "en", stdout=out)
    assert "Updated store Dépanneur Laurier: language" in out.getvalue()
    assert Store.objects.get(name="Dépanneur Laurier").language == "en"
    with pytest.raises(CommandError):
        call_command("setup_store", *args, "--language", "de", stdout=out)


def test_setup_store_puts_a_store_in_quebec_which_makes_it_french_by_default():
    args = ["--merchant-id", "10000997", "--merchant-key", "k-" + "z" * 20, "--job-no", "job",
            "--store-name", "Fromagerie Saint-Roch"]
    call_command("setup_store", *args, "--province", "QC", stdout=io.StringIO())
    store = Store.objects.get(name="Fromagerie Saint-Roch")
    assert (store.province, store.language, store.default_language) == ("QC", "", "fr")
    call_command("setup_store", *args, "--province", "ON", stdout=io.StringIO())
    store.refresh_from_db()
    assert store.default_language == ""  # outside Quebec, the browser decides
    with pytest.raises(CommandError):
        call_command("setup_store", *args, "--province", "XX", stdout=io.StringIO())


# ---------------------------------------------------------------------------------------------- the CSV


def test_the_csv_keeps_machine_formats_in_french_byte_for_byte():
    store = StoreFactory(name="Marché Jean-Talon", time_zone="America/Vancouver")
    lane = TerminalFactory(lane=LaneFactory(store=store, code="JT1"), device="PAX-JT-1").lane
    paid = make(lane, local(9, 30), amount=123_456, tip=1_500)
    make(lane, local(10, 0), status="DECLINED", amount=801)
    make(lane, local(0, 0), amount=5)
    refund(paid, 2_050)
    english_user = staff("supervisor", store)
    french_user = staff("supervisor", store)
    choose(french_user, "fr")
    query = {"store": store.pk, "day": date(2026, 3, 10).isoformat()}
    url = reverse("reconciliation-export")

    def download(user, accept: str) -> bytes:
        response = signed_in(user).get(url, query, headers={"Accept-Language": accept})
        assert response.status_code == 200
        assert response["Content-Language"] == accept[:2]  # the language was French: the CSV did not follow
        return b"".join(response.streaming_content)

    english = download(english_user, "en")
    assert download(french_user, "fr") == english
    assert download(english_user, "fr") == english
    text = english.decode()
    assert "2026-03-10T09:30:00-07:00" in text and ",123456,1500,124956," in text.replace('"', "")
    assert "DECLINED" in text and "$" not in text and "\u00a0" not in text
