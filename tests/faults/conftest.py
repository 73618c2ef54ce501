"""The fault suite runs in its own pytest process on the embedded Redis (`make faults`), so that it can
kill and restart Redis and the workers without touching a shared server."""

import os

import pytest

from tests.browser.conftest import browser, login_page  # noqa: F401  (fixtures used here too)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("TEST_EMBEDDED_REDIS") != "1":
        raise pytest.UsageError("the fault suite restarts Redis: run it with REDIS_URL unset (make faults)")
