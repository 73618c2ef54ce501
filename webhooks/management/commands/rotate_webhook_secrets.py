"""Re-encrypt every webhook endpoint's secret with the first of FIELD_ENCRYPTION_KEYS (as rotate_merchant_keys
does for the merchants' keys: run both before an old key is removed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext, ngettext

from lanes.commands import ConsoleCommand
from payments import crypto
from webhooks.models import Endpoint


class Command(ConsoleCommand):
    help = ("Re-encrypt the webhook endpoints' secrets with the first key of FIELD_ENCRYPTION_KEYS. Rotation: put the "
            "new key first, restart, run this and rotate_merchant_keys, then remove the old keys. Safe to run again.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true",
                            help="only say how many secrets are not yet encrypted with the first key (exit 1 if any)")

    def handle(self, *args: Any, **opts: Any) -> None:
        stale = [e for e in Endpoint.objects.order_by("pk") if crypto.needs_rotation(e.secret_ciphertext)]
        if opts["check"]:
            self.stdout.write(ngettext("{count} webhook secret(s) not encrypted with the first key.",
                                       "{count} webhook secret(s) not encrypted with the first key.", len(stale)).format(
                count=len(stale)))
            if stale:
                raise CommandError(gettext("rotation needed: run manage.py rotate_webhook_secrets"), returncode=1)
            return
        try:
            with transaction.atomic():
                for endpoint in stale:
                    Endpoint.objects.filter(pk=endpoint.pk).update(
                        secret_ciphertext=crypto.rotate(endpoint.secret_ciphertext))
        except ValueError as exc:
            raise CommandError(gettext("{exc}: nothing was changed").format(exc=exc), returncode=2) from None
        total = Endpoint.objects.count()
        self.stdout.write(ngettext(
            "Re-encrypted {count} of {total} webhook secret(s) with the first key of FIELD_ENCRYPTION_KEYS.",
            "Re-encrypted {count} of {total} webhook secret(s) with the first key of FIELD_ENCRYPTION_KEYS.", total,
        ).format(count=len(stale), total=total))
