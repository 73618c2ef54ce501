"""Re-encrypt every merchant's signing key with the first of FIELD_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext, ngettext

from lanes.commands import ConsoleCommand
from payments import crypto
from payments.models import Merchant


class Command(ConsoleCommand):
    help = (
        "Re-encrypt the merchants' signing keys with the first key of FIELD_ENCRYPTION_KEYS. Rotation: put the new "
        "key first (keep the old ones after it), restart, run this, then remove the old keys. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true",
                            help="only say how many keys are not yet encrypted with the first key (exit 1 if any)")

    def handle(self, *args: Any, **opts: Any) -> None:
        stale = [m for m in Merchant.objects.order_by("pk") if crypto.needs_rotation(m.key_ciphertext)]
        if opts["check"]:
            self.stdout.write(ngettext("{count} merchant key(s) not encrypted with the first key.",
                                       "{count} merchant key(s) not encrypted with the first key.", len(stale)).format(
                count=len(stale)))
            if stale:
                raise CommandError(gettext("rotation needed: run manage.py rotate_merchant_keys"), returncode=1)
            return
        try:
            with transaction.atomic():
                for merchant in stale:
                    Merchant.objects.filter(pk=merchant.pk).update(
                        key_ciphertext=crypto.rotate(merchant.key_ciphertext))
        except ValueError as exc:
            raise CommandError(gettext("{exc}: nothing was changed").format(exc=exc), returncode=2) from exc
        total = Merchant.objects.count()
        self.stdout.write(ngettext(
            "Re-encrypted {count} of {total} merchant key(s) with the first key of FIELD_ENCRYPTION_KEYS. Once every "
            "process runs with the new list, the old keys can go.",
            "Re-encrypted {count} of {total} merchant key(s) with the first key of FIELD_ENCRYPTION_KEYS. Once every "
            "process runs with the new list, the old keys can go.", total).format(count=len(stale), total=total))
