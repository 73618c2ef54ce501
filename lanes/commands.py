"""What the management commands share: the shell's language, the store named on the command line, and lists
given either way (``--opt a b`` or ``--opt a,b``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext

from lanes.models import Store


def shell_language(environ: Mapping[str, str] = os.environ) -> str:
    """The language the shell asks for, the Unix way: the first of LC_ALL, LC_MESSAGES and LANG that is set
    decides; French when it starts with "fr" (fr_CA.UTF-8, fr), English otherwise (C, POSIX, en_CA...)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := environ.get(name, ""):
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


class ConsoleCommand(BaseCommand):
    """A command that answers in the shell's language (Django runs commands in LANGUAGE_CODE): its output,
    its errors and its --help."""

    def run_from_argv(self, argv: list[str]) -> None:
        with translation.override(shell_language()):
            super().run_from_argv(argv)

    def execute(self, *args: Any, **options: Any) -> str | None:
        with translation.override(shell_language()):
            return super().execute(*args, **options)


def store_named(name: str) -> Store:
    """The store of that name, or a CommandError (exit code 2) that lists the stores there are."""
    store = Store.objects.filter(name=name).first()
    if store is None:
        names = ", ".join(f'"{n}"' for n in Store.objects.order_by("name").values_list("name", flat=True)[:20])
        raise CommandError(gettext('No store is named "{name}" (stores: {names}).').format(
            name=name, names=names or gettext("none yet")), returncode=2)
    return store


def split_values(values: list[str]) -> list[str]:
    """``--opt a b`` and ``--opt a,b`` alike."""
    return [part for value in values for part in value.replace(",", " ").split()]
