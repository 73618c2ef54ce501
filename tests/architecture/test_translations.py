"""The French catalogs are complete, and no page shows a string that was never marked for translation.

1. Every French catalog of the project (``**/locale/fr/LC_MESSAGES/*.po``) has no untranslated and no fuzzy
   entry, and each translation keeps its msgid's placeholders (%(name)s, %s, {name}).
2. Each page, rendered in a pseudo-locale made at test time from every msgid of the French catalogs
   (tests/pseudo_locale.py), shows no plain English word except the data the test put into it: an English word
   left on the page is a string that did not go through the catalogs. The checkout page's and the lanes
   wall's scripts are checked the same way in Chromium (tests/browser/test_pseudo_locale.py).
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation.trans_real import all_locale_paths

from payments.models import PaymentAttempt, PaymentEvent, Refund
from store_console.translations import BASE_DIR, catalogs
from tests.app.test_receipts import APPROVAL_EXTRA, card_data
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier, staff
from tests.pseudo_locale import PSEUDO_LANGUAGE, build, french_catalogs, pseudo, unmarked, visible_runs

PROJECT_CATALOGS = [BASE_DIR / "locale" / "fr" / "LC_MESSAGES" / f"{domain}.po" for domain in ("django", "djangojs")]

_NAMED = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")
_POSITIONAL = re.compile(r"(?<!%)%[sdif]")
_BRACES = re.compile(r"\{(\w*)\}")


def placeholders(text: str) -> Counter[str]:
    text = text.replace("%%", "")
    return Counter([f"%({name})" for name in _NAMED.findall(text)] + _POSITIONAL.findall(text)
                   + [f"{{{name}}}" for name in _BRACES.findall(text)])


def catalog_problems(po: Path) -> list[str]:
    """What keeps ``po`` from being a finished French catalog, one line per entry."""
    with po.open("rb") as source:
        catalog = read_po(source, locale="fr")
    problems = ["the header is marked fuzzy"] if catalog.fuzzy else []
    for message in catalog:
        if not message.id:
            continue
        ids = list(message.id) if message.pluralizable else [message.id]
        strings = list(message.string) if message.pluralizable else [message.string]
        where = f"line {message.lineno}: {ids[0]!r}"
        if message.fuzzy:
            problems.append(f"{where} is fuzzy")
        if not all(strings):
            problems.append(f"{where} is not translated")
            continue
        wanted = placeholders(ids[-1]) | placeholders(ids[0])
        for index, string in enumerate(strings):
            found = placeholders(string)
            # A plural's singular may say "one" instead of %(count)s; every other form keeps them all.
            if found != wanted and not (message.pluralizable and index == 0 and found <= wanted):
                problems.append(f"{where} has placeholders {sorted(found.elements())} instead of "
                                f"{sorted(wanted.elements())} in {string!r}")
    return problems


# ------------------------------------------------------------------------------------------ catalogs


def test_the_project_has_its_french_catalogs():
    missing = [str(po.relative_to(BASE_DIR)) for po in PROJECT_CATALOGS if not po.exists()]
    assert not missing, f"no French catalog at {', '.join(missing)} (docs/languages.md: makemessages)"


@pytest.mark.parametrize("po", [p for p in catalogs() if p.parent.parent.name == "fr"] or [None],
                         ids=lambda p: str(p.relative_to(BASE_DIR)) if p else "none")
def test_every_french_entry_is_translated_not_fuzzy_and_keeps_its_placeholders(po):
    if po is None:
        pytest.fail("no French catalog in the project (locale/fr/LC_MESSAGES/*.po)")
    problems = catalog_problems(po)
    assert not problems, f"{po.relative_to(BASE_DIR)}: {len(problems)} entries to fix:\n" + "\n".join(problems)


def test_the_catalog_check_finds_an_untranslated_a_fuzzy_and_a_changed_placeholder(tmp_path):
    po = tmp_path / "django.po"
    po.write_text('''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"

msgid "Approved"
msgstr "Approuvé"

msgid "Declined"
msgstr ""

#, fuzzy
msgid "Refund"
msgstr "Remboursement"

#, python-format
msgid "Limit %(amount)s per sale"
msgstr "Limite de %(montant)s par vente"

#, python-format
msgid "%(count)s payment"
msgid_plural "%(count)s payments"
msgstr[0] "%(count)s paiement"
msgstr[1] "%(count)s paiements"
''', encoding="utf-8")
    problems = catalog_problems(po)
    assert len(problems) == 3, problems
    assert "'Declined' is not translated" in problems[0]
    assert "'Refund' is fuzzy" in problems[1]
    assert "'Limit %(amount)s per sale' has placeholders ['%(montant)']" in problems[2]


# ---------------------------------------------------------------------------------------- pseudo-locale


def test_the_pseudo_locale_leaves_no_ascii_letter_but_keeps_placeholders():
    text = pseudo("Approved %(amount)s for {name}: <strong>%s</strong> &amp; 100%% done")
    assert text == "Áþþŕöṽéď %(amount)s ƒöŕ {name}: <strong>%s</strong> &amp; 100%% ďöñé"
    rendered = pseudo("Approved %(amount)s for the sale") % {"amount": "$12.50"}
    assert unmarked(visible_runs(f"<p>{rendered}</p>"), data=[]) == []


def test_the_visible_text_reader_and_the_unmarked_finder():
    html = """<html lang="en-xa"><head><title>Pay here</title><style>.a{color:red}</style></head><body>
      <script>var x = "Hidden code";</script>
      <button aria-label="Close it" title="Ťíţĺé">&times;</button><input type="submit" value="Send now">
      <input name="amount" placeholder="Type amount"><img src="a.png" alt="Logo picture">
      <form><button lang="fr">Français</button></form><article lang="en-CA"><p>MERCHANT COPY</p></article>
      <p>Lane GM1 · Granville Market</p><p>Paid with Visa</p><p>November 27, 2026</p></body></html>"""
    runs = visible_runs(html)
    assert "Hidden code" not in " ".join(runs) and "Français" not in runs and "MERCHANT COPY" not in runs
    assert unmarked(runs, data=["Granville Market", "GM1"]) == [
        "Pay here", "Close it", "Send now", "Type amount", "Logo picture", "Lane GM1 · Granville Market",
        "Paid with Visa"]


@pytest.fixture
def pseudo_language(tmp_path_factory):
    """The pseudo-locale, built from every French msgid now, first in LOCALE_PATHS (caches reset by Django's
    setting_changed signal)."""
    directory = tmp_path_factory.mktemp("pseudo-locale")
    counts = build(directory, french_catalogs(catalogs(), all_locale_paths()))
    with override_settings(LANGUAGES=[*settings.LANGUAGES, (PSEUDO_LANGUAGE, "Pseudo-English")],
                           LOCALE_PATHS=[str(directory), *settings.LOCALE_PATHS]):
        yield counts


OTHER_STORE = "Kitsilano Corner"  # a store the cashier has no role in: their 403


def _world() -> dict:
    """A store with two lanes, an approved payment with its events and a refund, a declined one; the people."""
    store = StoreFactory(name="Granville Market", address="1669 Johnston St\nVancouver BC V6H 3R9",
                         tips_enabled=True)
    lanes = [TerminalFactory(lane=LaneFactory(store=store, code=f"GM{n}", name=f"Till {n}"), device=f"PAX-GM-{n}").lane
             for n in (1, 2)]
    cashier = UserFactory(username="mireille", first_name="Mireille", last_name="Tremblay")
    for lane in lanes:
        assign_cashier(lane, cashier)
    owner = staff("owner", username="jgagnon", first_name="Julien", last_name="Gagnon")
    card = card_data(APPROVAL_EXTRA)
    now = timezone.now()
    attempt = PaymentAttempt.objects.create(
        order_reference=f"SC{uuid.uuid4().hex[:12].upper()}", sale_id=uuid.uuid4(), merchant=store.merchant,
        store=store, lane=lanes[0], terminal=lanes[0].terminal, amount=1250, tip=200, currency="CAD",
        status="APPROVED", card=card, card_brand="MASTERCARD", card_last4="1166", auth_num="01046Z",
        batch_num="0008", terminal_text=card["terminal_text"], gateway_reference="CP20210120164033724172000001",
        finalized_at=now,
    )
    declined = PaymentAttempt.objects.create(
        order_reference=f"SC{uuid.uuid4().hex[:12].upper()}", sale_id=uuid.uuid4(), merchant=store.merchant,
        store=store, lane=lanes[1], terminal=lanes[1].terminal, amount=801, currency="CAD", status="DECLINED",
        terminal_text="051 Declined 05 Do Not Honour", finalized_at=now - timedelta(minutes=5),
    )
    # The causes the services write (payments/services/): what a person reads in the payment's history.
    for source, target, cause in (("", "CREATED", "payment requested at the lane"),
                                  ("CREATED", "SENT", "sent to the terminal through the gateway"),
                                  ("SENT", "APPROVED", "the gateway's confirmed answer: paid")):
        PaymentEvent.objects.create(attempt=attempt, kind="state", from_status=source, to_status=target, cause=cause)
    refund = Refund.objects.create(attempt=attempt, refund_reference=f"R{uuid.uuid4().hex[:20]}", amount=500,
                                   currency="CAD", reason="wrong size", status="APPROVED", requested_by=owner,
                                   finalized_at=now)
    PaymentEvent.objects.create(attempt=attempt, refund=refund, kind="state", from_status="", to_status="CREATED",
                                cause="refund of $5.00 requested: wrong size")
    data = [store.name, *store.address.splitlines(), "Store Console", store.merchant.name,
            store.merchant.gateway_name, store.time_zone, *(lane.name for lane in lanes),
            *(lane.code for lane in lanes), *(lane.terminal.device for lane in lanes),
            cashier.username, cashier.get_full_name(), owner.username, owner.get_full_name(), refund.reason,
            *(str(value) for value in card.values() if isinstance(value, str)),
            *(str(getattr(a, name)) for a in (attempt, declined)
              for name in ("order_reference", "gateway_reference", "auth_num", "terminal_text", "sale_id")),
            refund.refund_reference, OTHER_STORE, "ELSEWHERE"]
    return {"store": store, "lanes": lanes, "cashier": cashier, "owner": owner, "attempt": attempt,
            "declined": declined, "refund": refund, "data": data}


def _pages(world: dict) -> list[tuple[str, object, str, int]]:
    store, attempt = world["store"], world["attempt"]
    cashier, owner = world["cashier"], world["owner"]
    day = timezone.localdate(attempt.finalized_at)
    stranger = TerminalFactory(lane=LaneFactory(store=StoreFactory(name=OTHER_STORE), code="ELSEWHERE")).lane
    return [
        ("login", None, "/accounts/login/", 200),
        ("lane list (home)", cashier, "/", 200),
        ("checkout page", cashier, f"/lanes/{world['lanes'][0].code}/", 200),
        ("lanes wall", owner, f"/backoffice/lanes/?store={store.pk}", 200),
        ("reconciliation", owner, f"/backoffice/reconciliation/?store={store.pk}&day={day}", 200),
        ("payment search", owner, f"/backoffice/payments/?q={attempt.order_reference}", 200),
        ("payment search, every payment", owner, "/backoffice/payments/", 200),
        ("payment detail", owner, f"/backoffice/payments/{attempt.pk}/", 200),
        ("receipt", cashier, f"/payments/{attempt.pk}/receipt/", 200),
        ("declined receipt", cashier, f"/payments/{world['declined'].pk}/receipt/", 200),
        ("refund receipt", owner, f"/refunds/{world['refund'].pk}/receipt/", 200),
        ("403", cashier, f"/lanes/{stranger.code}/", 403),
        ("404", cashier, "/no-such-page/", 404),
    ]


@pytest.mark.django_db
def test_no_page_shows_an_unmarked_string(pseudo_language):
    assert pseudo_language["django"] > 500  # Django's own catalogs are in: the check sees what it should
    with translation.override(PSEUDO_LANGUAGE):  # and a marked string comes out pseudo-translated
        assert gettext("This field is required.") == pseudo("This field is required.") != "This field is required."
    world = _world()
    found: dict[str, list[str]] = {}
    for name, user, url, status in _pages(world):
        client = Client(headers={"Accept-Language": PSEUDO_LANGUAGE})
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == status, (name, url, response.status_code)
        html = response.content.decode()
        assert f'<html lang="{PSEUDO_LANGUAGE}">' in html, (name, "not rendered in the pseudo-locale")
        if english := unmarked(visible_runs(html), world["data"]):
            found[f"{name} ({url})"] = english
    count = sum(len(texts) for texts in found.values())
    report = "\n".join(f"  {page}: {text!r}" for page, texts in found.items() for text in texts)
    assert not found, (f"{count} visible strings on {len(found)} pages are not marked for translation (or not in "
                       f"the French catalog):\n{report}")
