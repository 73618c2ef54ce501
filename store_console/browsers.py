"""Which Chromium the browser tests drive: Debian's (or CHROMIUM_PATH), else Playwright's own build.

Debian's package is the first choice: it installs on machines where Playwright's download site is out of
reach. `choose_browser` is the decision alone (tests/unit/test_browsers.py); tests/browser/conftest.py,
`make test` and `make doctor` (store_console.doctor) act on it. Plain Python without Django.

`python -m store_console.browsers` prints the choice; it exits 1 when there is no Chromium at all, and
`make test` then tries `python -m playwright install chromium` once.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # the dev extra is not installed: there is no Playwright browser either
    sync_playwright = None  # type: ignore[assignment]
    PlaywrightError = RuntimeError  # type: ignore[assignment,misc]

DEBIAN_CHROMIUM = "/usr/bin/chromium"
APT_FIX = "apt-get install -y chromium"
PLAYWRIGHT_FIX = "python -m playwright install chromium"
HOW_TO_GET = (f"install Debian's Chromium: `{APT_FIX}` (as root), or Playwright's own build: "
              f"`{PLAYWRIGHT_FIX}` (it downloads from Playwright's site, which some machines cannot reach)")


@dataclass(frozen=True)
class BrowserChoice:
    """`executable_path` None with `found` True: launch Playwright's own Chromium (no executable_path)."""

    found: bool
    executable_path: str | None
    description: str


def configured_chromium() -> str:
    return os.environ.get("CHROMIUM_PATH") or DEBIAN_CHROMIUM


def choose_browser(*, configured: str, configured_exists: bool, playwright_path: str | None) -> BrowserChoice:
    """`configured`: CHROMIUM_PATH or Debian's path; `playwright_path`: Playwright's own Chromium when it is
    installed (None when it is not)."""
    if configured_exists:
        return BrowserChoice(True, configured, f"Chromium at {configured}")
    if playwright_path is not None:
        return BrowserChoice(True, None, f"Playwright's own Chromium at {playwright_path} ({configured} is missing)")
    return BrowserChoice(False, None, f"no Chromium: {configured} is missing and Playwright's own is not "
                                      f"installed. To get one, {HOW_TO_GET}")


def playwright_chromium() -> str | None:
    """The path of Playwright's own Chromium when it is installed (starts Playwright's driver: half a second)."""
    if sync_playwright is None:
        return None
    try:
        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except PlaywrightError:
        return None
    return path if path and Path(path).exists() else None


def find_browser() -> BrowserChoice:
    configured = configured_chromium()
    exists = Path(configured).exists()
    return choose_browser(configured=configured, configured_exists=exists,
                          playwright_path=None if exists else playwright_chromium())


def main() -> int:
    choice = find_browser()
    print(choice.description)
    return 0 if choice.found else 1


if __name__ == "__main__":
    sys.exit(main())
