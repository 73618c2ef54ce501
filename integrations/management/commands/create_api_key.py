"""Make an API key for a store's register; the token is printed alone on the last line, once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.keys import api_key_create
from integrations.models import SCOPES
from lanes import access
from lanes.models import Lane, Store

DEFAULT_SCOPES = [access.PAYMENTS_WRITE, access.PAYMENTS_READ]


def _split(values: list[str]) -> list[str]:
    """``--scopes a b`` and ``--scopes a,b`` alike."""
    return [part for value in values for part in value.replace(",", " ").split() if part]


class Command(BaseCommand):
    help = ("Make an API key for a store's register. The token is printed once, alone on the last line: "
            "only its digest is kept.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", required=True, help="the store's name, as in the admin")
        parser.add_argument("--name", required=True, help="a label saying which register uses the key")
        parser.add_argument("--scopes", nargs="+", default=None, metavar="SCOPE",
                            help=f"some of {', '.join(SCOPES)} (default: {' '.join(DEFAULT_SCOPES)})")
        parser.add_argument("--lanes", nargs="+", default=None, metavar="CODE",
                            help="lane codes of the store the key may charge (default: every lane of the store)")

    def handle(self, *args: Any, **options: Any) -> None:
        store = Store.objects.filter(name=options["store"]).first()
        if store is None:
            raise CommandError(f"No store is named {options['store']!r}.", returncode=2)
        label = " ".join(str(options["name"]).split())
        if not label or len(label) > 80:
            raise CommandError("--name must be 1 to 80 characters.", returncode=2)
        scopes = _split(options["scopes"]) if options["scopes"] else DEFAULT_SCOPES
        if unknown := sorted(set(scopes) - set(SCOPES)):
            raise CommandError(f"Unknown scope(s) {', '.join(unknown)}: use {', '.join(SCOPES)}.", returncode=2)
        lanes: list[Lane] = []
        if options["lanes"]:
            codes = _split(options["lanes"])
            lanes = list(Lane.objects.filter(store=store, code__in=codes))
            if missing := sorted(set(codes) - {lane.code for lane in lanes}):
                raise CommandError(f"{store.name} has no lane {', '.join(missing)}.", returncode=2)
        created = api_key_create(store=store, label=label, scopes=scopes, lanes=lanes)
        where = ", ".join(lane.code for lane in lanes) if lanes else "every lane"
        self.stdout.write(f"API key {created.key} for {store.name}: scopes {' '.join(created.key.scopes)}; "
                          f"charges {where}.")
        self.stdout.write("The token follows, shown this once (only its digest is kept):")
        self.stdout.write(created.token)
