"""The scripts' visible text, checked in the pseudo-locale (tests/pseudo_locale.py) in Chromium: the checkout
page after an approved and a declined payment, and the lanes wall after them. A plain English word left in
``document.body.innerText`` is a string the script wrote without Django's JavaScript catalog (or one the French
catalog lacks). The server-rendered pages are checked in tests/architecture/test_translations.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils.translation.trans_real import all_locale_paths

from lanes.models import LanguagePreference
from payments.models import PaymentAttempt
from store_console.translations import catalogs
from tests.browser.conftest import screenshot, sign_in
from tests.factories import staff
from tests.processes import RUN_DIR, wait_http
from tests.pseudo_locale import ENVIRONMENT, PSEUDO_LANGUAGE, build, french_catalogs, pseudo, unmarked

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def pseudo_console(live) -> Iterator[object]:
    """Daphne restarted with the pseudo-locale built now (tests/settings.py reads the variable), and restarted
    without it afterwards so that the next tests see the console as it was."""
    directory = RUN_DIR / "pseudo-locale"
    build(directory, french_catalogs(catalogs(), all_locale_paths()))
    daphne = live.procs["daphne"]
    daphne.env = {**daphne.env, ENVIRONMENT: str(directory)}
    live.restart("daphne")
    wait_http(f"{live.url}/healthz")
    try:
        yield live
    finally:
        daphne.env = {k: v for k, v in daphne.env.items() if k != ENVIRONMENT}
        live.restart("daphne")
        wait_http(f"{live.url}/healthz")


def _signed_in_page(browser, live, user) -> object:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-XA")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live.url}/accounts/login/")
    return sign_in(page, user)


def _data(lane, *users) -> list[str]:
    """What the test and the sandbox put on the pages: names, codes, references, the card's and terminal's text."""
    data = [lane.store.name, lane.name, lane.code, lane.terminal.device, lane.store.merchant.gateway_name,
            "Store Console", *(u.username for u in users), *(u.get_full_name() for u in users)]
    for attempt in PaymentAttempt.objects.filter(lane=lane):
        data += [attempt.order_reference, attempt.gateway_reference, attempt.auth_num, attempt.card_brand,
                 attempt.terminal_text, attempt.message, str(attempt.sale_id)]
        data += [value for value in (attempt.card or {}).values() if isinstance(value, str)]
    return data


# The visible text, less that of elements with a language of their own (the switch's "Français"), as the
# server-side reader does (tests/pseudo_locale.py, VisibleText).
_VISIBLE = """() => {
  const own = new Set();
  document.body.querySelectorAll("[lang]").forEach((el) => el.innerText.split("\\n").forEach((l) => own.add(l)));
  return document.body.innerText.split("\\n").filter((line) => !own.has(line));
}"""


def _english(page, lane, *users) -> list[str]:
    return unmarked(page.evaluate(_VISIBLE), _data(lane, *users))


def test_the_scripts_show_no_unmarked_string(browser, pseudo_console, lane, cashier):
    live = pseudo_console
    assert not LanguagePreference.objects.filter(user=cashier).exists()  # the browser's language decides
    supervisor = staff("supervisor", lane.store, username="sbelanger")
    page = _signed_in_page(browser, live, cashier)
    page.wait_for_url(f"{live.url}/lanes/{lane.code}/")
    assert page.get_attribute("html", "lang") == PSEUDO_LANGUAGE
    # /jsi18n/ serves the pseudo-locale's djangojs catalog to the page's scripts.
    assert page.evaluate("() => gettext('Today')") == pseudo("Today")
    page.wait_for_selector("#connection[data-state=connected]")
    found: dict[str, list[str]] = {}

    page.fill("#amount-input", "12.50")
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=APPROVED]")
    found["checkout, approved"] = _english(page, lane, cashier)
    screenshot(page, "pseudo-checkout-approved")

    page.click("#new-sale-button")
    page.fill("#amount-input", "8.01")
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=DECLINED]")
    found["checkout, declined"] = _english(page, lane, cashier)
    screenshot(page, "pseudo-checkout-declined")
    page.context.close()

    wall = _signed_in_page(browser, live, supervisor)
    wall.goto(f"{live.url}/backoffice/lanes/?store={lane.store.pk}")
    wall.wait_for_selector("#connection[data-state=connected]")
    wall.wait_for_selector(f'[data-lane="{lane.code}"][data-status="IDLE"]')
    found["lanes wall"] = _english(wall, lane, cashier, supervisor)
    screenshot(wall, "pseudo-lanes-wall")
    wall.context.close()

    found = {name: texts for name, texts in found.items() if texts}
    count = sum(len(texts) for texts in found.values())
    report = "\n".join(f"  {name}: {text!r}" for name, texts in found.items() for text in texts)
    assert not found, f"{count} visible strings of the scripts are not marked for translation:\n{report}"
