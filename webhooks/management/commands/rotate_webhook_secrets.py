"""Re-encrypt every webhook endpoint's secret with the first of FIELD_ENCRYPTION_KEYS (as rotate_merchant_keys
does for the merchants' keys: run both before an old key is removed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from payments import crypto
from webhooks.models import Endpoint


class Command(BaseCommand):
    help = ("Re-encrypt the webhook endpoints' secrets with the first key of FIELD_ENCRYPTION_KEYS. Rotation: put the "
            "new key first, restart, run this and rotate_merchant_keys, then remove the old keys. Safe to run again.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true",
                            help="only say how many secrets are not yet encrypted with the first key (exit 1 if any)")

    def handle(self, *args: Any, **opts: Any) -> None:
        stale = [e for e in Endpoint.objects.order_by("pk") if crypto.needs_rotation(e.secret_ciphertext)]
        if opts["check"]:
            self.stdout.write(f"{len(stale)} webhook secret(s) not encrypted with the first key.")
            if stale:
                raise CommandError("rotation needed: run manage.py rotate_webhook_secrets", returncode=1)
            return
        try:
            with transaction.atomic():
                for endpoint in stale:
                    Endpoint.objects.filter(pk=endpoint.pk).update(
                        secret_ciphertext=crypto.rotate(endpoint.secret_ciphertext))
        except ValueError as exc:
            raise CommandError(f"{exc}: nothing was changed", returncode=2) from None
        self.stdout.write(f"Re-encrypted {len(stale)} of {Endpoint.objects.count()} webhook secret(s) with the first "
                          "key of FIELD_ENCRYPTION_KEYS.")
