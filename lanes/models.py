"""Stores, their checkout lanes and the PAX terminal at each lane."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    """The console's languages as a choice; "" (not chosen) lets the next rule decide (docs/languages.md)."""

    ENGLISH = "en", "English"
    FRENCH = "fr", "Français"


class Province(models.TextChoices):
    """Canada's provinces and territories, by their postal abbreviation."""

    AB = "AB", _("Alberta")
    BC = "BC", _("British Columbia")
    MB = "MB", _("Manitoba")
    NB = "NB", _("New Brunswick")
    NL = "NL", _("Newfoundland and Labrador")
    NS = "NS", _("Nova Scotia")
    NT = "NT", _("Northwest Territories")
    NU = "NU", _("Nunavut")
    ON = "ON", _("Ontario")
    PE = "PE", _("Prince Edward Island")
    QC = "QC", _("Quebec")
    SK = "SK", _("Saskatchewan")
    YT = "YT", _("Yukon")


def store_default_language(language: str, province: str) -> str:
    """A store's own language, else French for a Quebec store, else "" (the browser decides)."""
    if language:
        return language
    return Language.FRENCH if province == Province.QC else ""


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("{value} is not a known time zone (e.g. America/Toronto).").format(value=repr(value)))


class Store(models.Model):
    name = models.CharField(max_length=100, unique=True)
    address = models.TextField(blank=True, help_text=_("Printed on receipts; one line per row."))
    time_zone = models.CharField(max_length=64, default="America/Toronto", validators=[validate_time_zone])
    merchant = models.ForeignKey("payments.Merchant", on_delete=models.PROTECT, related_name="stores")
    tips_enabled = models.BooleanField(default=False)
    max_amount = models.PositiveIntegerField(
        default=500_000, help_text=_("Largest sale a cashier may send, in cents (tip included).")
    )
    province = models.CharField(max_length=2, blank=True, choices=Province.choices,
                                help_text=_("Where the store is; a Quebec store's pages default to French."))
    language = models.CharField(max_length=8, blank=True, choices=Language.choices,
                                help_text=_("The language of the store's lanes and back office for staff who "
                                            "have not chosen theirs; blank: French in Quebec, else the browser's."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def default_language(self) -> str:
        return store_default_language(self.language, self.province)


lane_code_validator = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", _("Letters, digits, - and _ only."))


class Lane(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="lanes")
    code = models.CharField(max_length=32, unique=True, validators=[lane_code_validator])
    name = models.CharField(max_length=100)
    cashiers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="lanes", help_text=_("Cashiers allowed on this lane.")
    )

    class Meta:
        ordering = ["store__name", "code"]
        permissions = [
            ("operate_any_lane", _("Can take payments on any lane")),
            ("view_lanes_wall", _("Can watch the live wall of all lanes")),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class StoreRole(models.TextChoices):
    """A role in one store. Organisation-wide roles (owner, admin) are groups: they see every store."""

    CASHIER = "cashier", _("Cashier")
    SUPERVISOR = "supervisor", _("Supervisor")
    MANAGER = "manager", _("Manager")


class StoreMembership(models.Model):
    """A user's role in one store. A cashier also needs the lanes they use (on each lane)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="store_memberships")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=StoreRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "store"], name="one_role_per_user_and_store")]
        verbose_name = _("store role")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.store}"


class Terminal(models.Model):
    lane = models.OneToOneField(Lane, on_delete=models.PROTECT, related_name="terminal")
    device = models.CharField(
        max_length=64, unique=True, help_text=_("The device id the gateway addresses this terminal by.")
    )
    gateway_login = models.CharField(
        max_length=50, blank=True, help_text=_("The gateway login for this terminal; blank uses the merchant's.")
    )
    serial = models.CharField(max_length=64, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["device"]

    def __str__(self) -> str:
        return self.device


class LanguagePreference(models.Model):
    """The language a person chose for the console (the header's switch, or the admin); "" = not chosen."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="language_preference")
    language = models.CharField(max_length=8, blank=True, choices=Language.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("language preference")

    def __str__(self) -> str:
        return f"{self.user}: {self.language or 'not chosen'}"
