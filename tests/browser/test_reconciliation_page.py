"""The reconciliation dashboard in Chromium: a day of real payments, its exceptions, verifying it live."""

from __future__ import annotations

import threading
import uuid
import zoneinfo
from datetime import datetime

import pytest
from django.utils import timezone

from payments.models import PaymentAttempt, PaymentEvent, Refund
from tests.browser.conftest import screenshot
from tests.conftest import wait_for_status
from tests.factories import LaneFactory, TerminalFactory, assign_cashier, staff

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Cents pick the sandbox's outcome (01 declined, 11 amount mismatch → needs review); dollars the card.
PAYMENTS = {
    0: [(1250, 0), (2350, 300), (1201, 0), (4250, 600), (1875, 0)],
    1: [(2350, 300), (1560, 0), (3425, 500), (912, 0)],
    2: [(1211, 0), (6480, 1000), (2255, 0), (1330, 0)],
}


def pay_on(session, live, lane, payments, ids):
    for amount, tip in payments:
        response = session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": amount, "tip": tip},
                                headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
        assert response.status_code == 201, response.text
        ids.append(wait_for_status(response.json()["id"], {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"},
                                   timeout=30).pk)


@pytest.fixture
def busy_day(live, lane, cashier, cashier_session):
    """Three lanes of the store, a dozen payments made through the API at once on each."""
    lanes = [lane] + [TerminalFactory(lane=LaneFactory(store=lane.store, code=f"{lane.code}-{n}")).lane
                      for n in (2, 3)]
    for other in lanes[1:]:
        assign_cashier(other, cashier)
    ids: list[int] = []
    threads = [threading.Thread(target=pay_on, args=(cashier_session, live, lanes[i], PAYMENTS[i], ids))
               for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == sum(len(p) for p in PAYMENTS.values())
    # A refund already made (the refund flow itself is tested elsewhere): it shows in the day's net.
    refunded = PaymentAttempt.objects.get(pk__in=ids, amount=6480)
    Refund.objects.create(attempt=refunded, refund_reference=f"R{uuid.uuid4().hex[:20]}", amount=2500, currency="CAD",
                          reason="item returned", status="APPROVED", finalized_at=timezone.now())
    return {"store": lane.store, "lanes": lanes, "ids": ids}


def manager(store):
    return staff("manager", store, username=f"manager-{uuid.uuid4().hex[:6]}", first_name="Maria",
                 last_name="Lopez")


def test_a_manager_sees_the_day_and_verifies_it_live(login_page, live, busy_day):
    store = busy_day["store"]
    charged = PaymentAttempt.objects.filter(pk__in=busy_day["ids"], status="APPROVED", amount=3425).get()
    # Our record says declined, IOTPay says paid: only "verify the day" can find this one.
    PaymentAttempt.objects.filter(pk=charged.pk).update(status="DECLINED")

    page = login_page(manager(store))
    day = datetime.now(zoneinfo.ZoneInfo(store.time_zone)).date().isoformat()
    page.goto(f"{live.url}/backoffice/reconciliation/?store={store.pk}&day={day}")
    page.wait_for_selector("#verify-button")
    approved = PaymentAttempt.objects.filter(pk__in=busy_day["ids"], status="APPROVED")
    total = sum(a.amount + a.tip for a in approved)
    assert page.inner_text("#stat-approved") == f"${total / 100:,.2f}"
    assert page.inner_text("#stat-refunded") == "$25.00"
    assert page.inner_text("#stat-net") == f"${(total - 2500) / 100:,.2f}"
    assert page.inner_text("#stat-open") == "1"
    kinds = page.eval_on_selector_all("#exceptions [data-kind]", "items => items.map(i => i.dataset.kind)")
    assert sorted(kinds) == ["needs_review", "possible_duplicate"]  # 12.11 (IOTPay's amount differs);
    # 23.50 + 3.00 on two lanes a moment apart
    assert page.locator("#table-lanes tbody tr").count() == 3
    screenshot(page, "reconciliation-before-verify")

    page.evaluate("window.__sameDocument = true")
    page.click("#verify-button")
    page.wait_for_selector("#verification[data-status=RUNNING]")
    screenshot(page, "reconciliation-verifying")
    page.wait_for_selector("#verification[data-status=FINISHED]", timeout=60_000)
    count = len(busy_day["ids"])
    page.wait_for_function(
        "n => document.querySelector('#verify-progress').textContent.includes(`Verified ${n} / ${n}`)", arg=count)
    assert page.evaluate("window.__sameDocument") is True  # no reload: the script followed the run
    assert page.get_attribute("#verify-bar", "aria-valuenow") == str(count)
    page.wait_for_selector(f"#exceptions [data-kind=mismatch][data-attempt='{charged.pk}']")
    assert "may have been charged" in page.inner_text(f"[data-attempt='{charged.pk}'] .bo-exception__detail")
    assert "1 mismatch" in page.inner_text("#verify-progress")
    screenshot(page, "reconciliation")

    # Close the duplicate suspicion with a reason: it leaves the list and joins the closed ones.
    item = page.locator("[data-kind=possible_duplicate]").first
    item.locator("summary").click()
    item.locator("textarea[name=reason]").fill("Two customers, same card brand: checked both receipts")
    screenshot(page, "reconciliation-closing")
    item.locator("button[type=submit]", has_text="Close exception").click()
    page.wait_for_selector(".bo-message--success")
    assert page.locator("[data-kind=possible_duplicate]").count() == 0
    assert "checked both receipts" in page.text_content(".bo-closed")


def test_a_supervisor_reads_the_dashboard_without_actions(login_page, live, busy_day):
    page = login_page(staff("supervisor", busy_day["store"], username=f"supervisor-{uuid.uuid4().hex[:6]}"))
    page.goto(f"{live.url}/backoffice/reconciliation/?store={busy_day['store'].pk}")
    page.wait_for_selector("#exceptions")
    assert page.locator("#verify-button").count() == 0
    assert page.locator("[data-action=requery]").count() == 0
    assert page.locator("#export-link").count() == 1
    screenshot(page, "reconciliation-supervisor")


def more_than_a_page_of_exceptions(lane, missing: int = 54):
    """Today on the lane: a payment needing review (the most serious, shown first) and ``missing`` approvals
    without a card brand: 55 open exceptions, one page of 50 (the console's default) and a second of 5."""
    store = lane.store
    common = {"merchant": store.merchant, "store": store, "lane": lane, "terminal": lane.terminal, "currency": "CAD"}
    review = PaymentAttempt.objects.create(order_reference=f"SC{uuid.uuid4().hex[:16].upper()}", sale_id=uuid.uuid4(),
                                           amount=4011, status="NEEDS_REVIEW", message="no final outcome", **common)
    PaymentAttempt.objects.bulk_create(
        PaymentAttempt(order_reference=f"SC{uuid.uuid4().hex[:16].upper()}", sale_id=uuid.uuid4(), amount=1000 + n,
                       status="APPROVED", card_last4=f"{n:04d}", auth_num=f"A{n:05d}", batch_num="0042",
                       gateway_reference=f"CP{uuid.uuid4().hex[:20]}", terminal_text="000 Approved",
                       finalized_at=timezone.now(), **common)
        for n in range(missing))
    return review


def test_a_manager_pages_through_the_exceptions_and_acts_on_either_page(login_page, live, lane):
    store = lane.store
    review = more_than_a_page_of_exceptions(lane)
    page = login_page(staff("owner", username=f"owner-{uuid.uuid4().hex[:6]}", first_name="Julien",
                            last_name="Gagnon"))
    day = datetime.now(zoneinfo.ZoneInfo(store.time_zone)).date().isoformat()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live.url}/backoffice/reconciliation/?store={store.pk}&day={day}")
    rows = "#exceptions [data-kind]"
    assert page.locator(rows).count() == 50
    assert page.inner_text("#exception-count") == "55"
    assert page.inner_text("#exceptions-range") == "Showing 1\u201350 of 55, most serious first"
    assert page.get_attribute(rows, "data-attempt") == str(review.pk)  # the first row: the most serious

    page.click("#exceptions-pager a[rel=next]")
    page.wait_for_url(f"**/backoffice/reconciliation/?store={store.pk}&day={day}&exceptions_page=2#exceptions")
    assert page.locator(rows).count() == 5
    assert page.inner_text("#exceptions-range") == "Showing 51\u201355 of 55, most serious first"
    assert "Page 2 of 2" in page.inner_text("#exceptions-pager")
    screenshot(page, "reconciliation-second-page")

    # One close form for the page: opening a row's Close… moves it there, filled in for that row.
    first, second = page.locator(rows).nth(0), page.locator(rows).nth(1)
    second.locator("summary").click()
    second.locator("form.bo-close__form").wait_for()  # moved there when the row's details opened
    first.locator("summary").click()
    first.locator("form.bo-close__form").wait_for()
    assert page.locator("form.bo-close__form").count() == 1
    assert first.locator("form.bo-close__form").count() == 1 and second.locator("details[open]").count() == 0
    assert first.locator("select[name=outcome]").is_hidden()  # a missing brand is closed with a reason only
    first.locator("textarea[name=reason]").fill("Brand on the terminal's batch report: VISA")
    screenshot(page, "reconciliation-closing-on-second-page")
    closed = int(first.get_attribute("data-attempt"))
    first.locator("button[type=submit]", has_text="Close exception").click()
    page.wait_for_selector(".bo-message--success")
    assert "exceptions_page=2" in page.url  # back where it was closed
    assert page.locator(rows).count() == 4 and page.inner_text("#exception-count") == "54"
    note = PaymentEvent.objects.get(attempt_id=closed, kind="note")
    assert note.data == {"exception": "missing_card_data", "reason": "Brand on the terminal's batch report: VISA"}

    # Re-query from the second page: the answer is shown on the same page.
    page.locator("#exceptions [data-action=requery]").first.click()
    page.wait_for_selector(".bo-message--info")
    assert "exceptions_page=2" in page.url

    # Back on the first page, the payment needing review is closed with the outcome established.
    page.click("#exceptions-pager a[rel=prev]")
    page.wait_for_url("**exceptions_page=1#exceptions")
    item = page.locator(f"[data-attempt='{review.pk}']")
    item.locator("summary").click()
    item.locator("form.bo-close__form").wait_for()
    item.locator("select[name=outcome]").select_option("DECLINED")
    item.locator("input[name=evidence]").fill("terminal batch 0042 report")
    item.locator("textarea[name=reason]").fill("terminal journal shows it cancelled")
    item.locator("button[type=submit]", has_text="Close exception").click()
    page.wait_for_selector(".bo-message--success")
    assert PaymentAttempt.objects.get(pk=review.pk).status == "DECLINED"
    assert page.locator(f"[data-attempt='{review.pk}']").count() == 0
    assert errors == []
