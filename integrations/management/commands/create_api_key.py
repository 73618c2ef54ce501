"""Make an API key for a store's register; the token is printed alone on the last line, once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext

from integrations.keys import api_key_create
from integrations.models import SCOPES
from lanes import access
from lanes.commands import ConsoleCommand, split_values, store_named
from lanes.models import Lane

DEFAULT_SCOPES = [access.PAYMENTS_WRITE, access.PAYMENTS_READ]


class Command(ConsoleCommand):
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
        store = store_named(options["store"])
        label = " ".join(str(options["name"]).split())
        if not label or len(label) > 80:
            raise CommandError(gettext("--name must be 1 to 80 characters."), returncode=2)
        scopes = split_values(options["scopes"]) if options["scopes"] else DEFAULT_SCOPES
        if unknown := sorted(set(scopes) - set(SCOPES)):
            raise CommandError(gettext("Unknown scope(s) {unknown}: use {scopes}.").format(
                unknown=", ".join(unknown), scopes=", ".join(SCOPES)), returncode=2)
        lanes: list[Lane] = []
        if options["lanes"]:
            codes = split_values(options["lanes"])
            lanes = list(Lane.objects.filter(store=store, code__in=codes))
            if missing := sorted(set(codes) - {lane.code for lane in lanes}):
                raise CommandError(gettext("{name} has no lane {codes}.").format(
                    name=store.name, codes=", ".join(missing)), returncode=2)
        created = api_key_create(store=store, label=label, scopes=scopes, lanes=lanes)
        where = ", ".join(lane.code for lane in lanes) if lanes else gettext("every lane")
        self.stdout.write(gettext("API key {key} for {name}: scopes {scopes}; charges {where}.").format(
            key=created.key, name=store.name, scopes=" ".join(created.key.scopes), where=where))
        self.stdout.write(gettext("The token follows, shown this once (only its digest is kept):"))
        self.stdout.write(created.token)
