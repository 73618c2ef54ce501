"""Which Chromium the browser tests drive (store_console.browsers.choose_browser): the decision alone, no
browser downloaded or launched."""

from __future__ import annotations

from store_console.browsers import APT_FIX, PLAYWRIGHT_FIX, choose_browser

DEBIAN = "/usr/bin/chromium"
OWN = "/home/me/.cache/ms-playwright/chromium-1255/chrome-linux64/chrome"


def test_debians_chromium_comes_first_even_when_playwrights_is_installed() -> None:
    choice = choose_browser(configured=DEBIAN, configured_exists=True, playwright_path=OWN)
    assert choice.found and choice.executable_path == DEBIAN


def test_chromium_path_is_used_when_it_exists() -> None:
    choice = choose_browser(configured="/opt/chromium/chrome", configured_exists=True, playwright_path=None)
    assert choice.found and choice.executable_path == "/opt/chromium/chrome"


def test_without_debians_playwrights_own_is_launched_without_an_executable_path() -> None:
    choice = choose_browser(configured=DEBIAN, configured_exists=False, playwright_path=OWN)
    assert choice.found and choice.executable_path is None
    assert OWN in choice.description and f"{DEBIAN} is missing" in choice.description


def test_without_either_it_says_both_ways_to_get_one() -> None:
    choice = choose_browser(configured=DEBIAN, configured_exists=False, playwright_path=None)
    assert not choice.found and choice.executable_path is None
    assert APT_FIX in choice.description and PLAYWRIGHT_FIX in choice.description
    assert "cannot reach" in choice.description  # a refused download is expected on some machines
