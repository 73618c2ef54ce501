"""Playwright driving Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium), else Playwright's own build
when `python -m playwright install chromium` could fetch it (store_console.browsers decides).

Playwright's sync API keeps an event loop running in the thread that starts it, and Django rightly refuses
ORM calls from a thread with a running loop. So Playwright lives on a thread of its own: the tests get
proxies (``Remote``) whose every call runs there, while the tests' own ORM calls run here with Django's
async-safety check on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from store_console.browsers import choose_browser, configured_chromium
from tests.conftest import PASSWORD
from tests.processes import ARTIFACTS

CHROMIUM = configured_chromium()
SCREENSHOTS = ARTIFACTS / "screenshots"


_PLAIN = (str, int, float, bool, bytes, type(None))


class PlaywrightThread:
    """One thread that owns Playwright: every call on its objects is run there, one at a time."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="playwright")

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._executor.submit(fn, *args, **kwargs).result()

    def wrap(self, value: Any) -> Any:
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, list):
            return [self.wrap(v) for v in value]
        if isinstance(value, dict):
            return {k: self.wrap(v) for k, v in value.items()}
        return Remote(self, value)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def _unwrap(value: Any) -> Any:
    return value._target if isinstance(value, Remote) else value


class Remote:
    """A Playwright object seen from the tests' thread: attributes and calls are made on its own thread."""

    def __init__(self, owner: PlaywrightThread, target: Any) -> None:
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name: str) -> Any:
        value = self._owner.run(getattr, self._target, name)
        if not callable(value):
            return self._owner.wrap(value)

        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(_unwrap(a) for a in args)
            kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
            return self._owner.wrap(self._owner.run(value, *args, **kwargs))

        return call

    def __repr__(self) -> str:
        return f"Remote({self._target!r})"


def _launch() -> tuple[Any, Any]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    exists = Path(CHROMIUM).exists()
    own = playwright.chromium.executable_path
    choice = choose_browser(configured=CHROMIUM, configured_exists=exists,
                            playwright_path=own if not exists and Path(own).exists() else None)
    if not choice.found:
        playwright.stop()
        raise LookupError(choice.description)
    # Playwright's own: its full Chromium (channel "chromium"), the build `playwright install chromium` fetched.
    where = {"executable_path": choice.executable_path} if choice.executable_path else {"channel": "chromium"}
    browser = playwright.chromium.launch(
        **where,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
              "--disable-component-update", "--no-first-run"],
    )
    return playwright, browser


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    owner = PlaywrightThread()
    try:
        playwright, browser = owner.run(_launch)
    except LookupError as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:
        owner.close()
        pytest.fail(f"{missing}. (.ci/run installs Debian's; `make test` tries Playwright's download once.)",
                    pytrace=False)
    try:
        yield owner.wrap(browser)
    finally:
        owner.run(browser.close)
        owner.run(playwright.stop)
        owner.close()


def sign_in(page: object, user: object) -> object:
    """Fill in and send the login page `page` shows; returns the page once the login page is left (a cashier
    lands on a lane, others on the lane list)."""
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


@pytest.fixture
def login_page(browser: object, live: object) -> Iterator[object]:
    """A logged-in page: `login_page(user)` returns it."""
    contexts = []

    def login(user: object) -> object:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live.url}/accounts/login/")
        return sign_in(page, user)

    yield login
    for context in contexts:
        context.close()


def screenshot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
