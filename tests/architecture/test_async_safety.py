"""Django's async-safety check stays on everywhere the tests run: an ORM call on an event loop fails here as
it would in production, instead of passing unnoticed (nothing sets the variable that turns it off)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from django.core.exceptions import SynchronousOnlyOperation

from payments.models import Merchant

ROOT = Path(__file__).resolve().parents[2]
NAME = "DJANGO_ALLOW_" + "ASYNC_UNSAFE"  # spelled in two parts so the scan below does not find this file
SKIP = {".git", ".venv", "var", "test-artifacts", "__pycache__", ".mypy_cache", ".ruff_cache"}


def test_nothing_in_the_repository_turns_the_check_off() -> None:
    found = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
             if p.is_file() and p.suffix in {".py", ".toml", ".cfg", ".ini", ".md", ""}
             and not SKIP & set(p.relative_to(ROOT).parts) and NAME in p.read_text(errors="replace")]
    assert found == []


def test_the_check_is_on_in_the_test_process_and_in_the_live_consoles(live: object) -> None:
    assert NAME not in os.environ
    for proc in live.procs.values():  # type: ignore[attr-defined]
        environ = Path(f"/proc/{proc.popen.pid}/environ").read_bytes().split(b"\0")
        assert not any(entry.startswith(NAME.encode() + b"=") for entry in environ), proc.name


@pytest.mark.django_db
def test_an_orm_call_on_the_event_loop_is_refused() -> None:
    async def on_the_loop() -> int:
        return Merchant.objects.count()

    with pytest.raises(SynchronousOnlyOperation):
        asyncio.run(on_the_loop())
