"""The API's browsable docs (/api/docs/) in Chromium: Swagger UI renders every route from the console's own
files, under its Content-Security-Policy, asking nothing of any other site."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_docs_page_renders_every_route_from_our_own_files(login_page, live):
    page = login_page(UserFactory())
    requested: list[str] = []
    console: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto(f"{live.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock-summary-path")
    paths = {text.replace("\u200b", "") for text in page.locator(".opblock-summary-path").all_inner_texts()}
    assert {"/api/lanes/{code}/payments", "/api/payments", "/api/lanes", "/api/refunds/{refund_id}"} <= paths
    assert len(page.locator(".opblock").all()) == 7
    screenshot(page, "api-docs")
    others = [url for url in requested if not url.startswith((live.url, "data:"))]
    assert not others, others
    blocked = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert not blocked, blocked
