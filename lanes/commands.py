"""What the management commands that act on one store share: the store named on the command line, and lists
given either way (``--opt a b`` or ``--opt a,b``)."""

from __future__ import annotations

from django.core.management.base import CommandError

from lanes.models import Store


def store_named(name: str) -> Store:
    """The store of that name, or a CommandError (exit code 2) that lists the stores there are."""
    store = Store.objects.filter(name=name).first()
    if store is None:
        names = ", ".join(f'"{n}"' for n in Store.objects.order_by("name").values_list("name", flat=True)[:20])
        raise CommandError(f'No store is named "{name}" (stores: {names or "none yet"}).', returncode=2)
    return store


def split_values(values: list[str]) -> list[str]:
    """``--opt a b`` and ``--opt a,b`` alike."""
    return [part for value in values for part in value.replace(",", " ").split()]
