"""API keys: how a store's registers (its point-of-sale software) sign their calls to the console's API.

A key belongs to one store, holds scopes (``lanes.access.KEY_SCOPES``) and may be kept to some of the store's
lanes for charging. Only a SHA-256 digest of the token is stored, and its short prefix in the clear (to find the
row and to tell keys apart); the token itself is shown once, when the key is made (``integrations.keys``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from lanes import access

SCOPES = (access.PAYMENTS_WRITE, access.PAYMENTS_READ, access.REFUNDS_WRITE)
SCOPE_CHOICES = [
    (access.PAYMENTS_WRITE, _("payments:write: take payments on lanes and ask again about unclear ones")),
    (access.PAYMENTS_READ, _("payments:read: read and search payments, list lanes")),
    (access.REFUNDS_WRITE, _("refunds:write: refund payments")),
]


def validate_scopes(value: object) -> None:
    if not isinstance(value, list) or not value or not all(isinstance(s, str) and s in SCOPES for s in value):
        raise ValidationError(_("Scopes are a non-empty list of: {scopes}.").format(scopes=", ".join(SCOPES)))


class ApiKey(models.Model):
    store = models.ForeignKey("lanes.Store", on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=80, help_text=_("Which register (or script) uses it, e.g. “Lane 3 register”."))
    scopes = models.JSONField(default=list, validators=[validate_scopes],
                              help_text=_("What the key may do: payments:write, payments:read, refunds:write."))
    lanes = models.ManyToManyField(
        "lanes.Lane", blank=True, related_name="api_keys",
        help_text=_("The lanes the key may charge. None chosen: every lane of its store."),
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False,
                              help_text=_("The start of the token, kept in the clear to find the key and tell keys apart."))
    token_hash = models.CharField(max_length=64, editable=False, help_text=_("SHA-256 of the whole token, hex."))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False,
                                        help_text=_("Written at most once a minute."))

    class Meta:
        ordering = ["store__name", "label"]
        verbose_name = _("API key")

    def __str__(self) -> str:
        return f"sck_{self.prefix} ({self.label})"

    @property
    def display_name(self) -> str:
        return f"API key {self}"

    def holder(self) -> access.KeyHolder:
        """What ``lanes.access`` decides with. Reads the key's lanes (one query)."""
        lane_ids = frozenset(self.lanes.values_list("pk", flat=True))
        return access.KeyHolder(key_id=self.pk, name=self.display_name[:120], store_id=self.store_id,
                                scopes=frozenset(self.scopes), lane_ids=lane_ids or None)
