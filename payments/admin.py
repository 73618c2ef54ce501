"""Admin for setup (merchants) and for reading payments (attempts, refunds and events are read-only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from payments.models import Merchant, PaymentAttempt, PaymentEvent, Refund
from payments.services.merchants import merchant_test_connection


class MerchantForm(forms.ModelForm):
    key = forms.CharField(
        label=_("Signing key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("The key the gateway gave this merchant to sign with. Stored encrypted and never shown again. "
                    "Leave blank to keep the current key."),
    )

    class Meta:
        model = Merchant
        fields = ["name", "gateway", "gateway_account", "gateway_login", "currency"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data  # what ModelForm.clean returns
        if not self.instance.pk and not cleaned.get("key"):
            self.add_error("key", _("A new merchant needs its signing key."))
        return cleaned

    def save(self, commit: bool = True) -> Merchant:
        merchant: Merchant = super().save(commit=False)
        if key := self.cleaned_data.get("key"):
            merchant.set_key(key)
        if commit:
            merchant.save()
        return merchant


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    form = MerchantForm
    list_display = ["name", "gateway", "gateway_account", "gateway_login", "currency", "updated_at"]
    search_fields = ["name", "gateway_account"]
    actions = ["test_connection"]

    @admin.action(description=_("Test the connection to the gateway (a signed look-up)"), permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Merchant]) -> None:
        for merchant in queryset:
            ok, text = merchant_test_connection(merchant=merchant)
            self.message_user(request, f"{merchant}: {text}", messages.SUCCESS if ok else messages.ERROR)


_EVENT_FIELDS = ("created_at", "kind", "from_status", "to_status", "cause", "actor", "actor_key", "data",
                 "correlation_id")


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = _EVENT_FIELDS
    readonly_fields = _EVENT_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


_REFUND_FIELDS = ("created_at", "refund_reference", "status", "amount", "reason", "requested_by",
                  "gateway_refund_reference", "refundable_after", "message", "finalized_at")


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    show_change_link = True
    fields = _REFUND_FIELDS
    readonly_fields = _REFUND_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyAdmin):
    list_display = ["order_reference", "created_at", "store", "lane", "status", "amount", "tip", "card_brand",
                    "card_last4", "gateway_reference", "reference"]
    list_filter = ["status", "store", "lane", "card_brand", "created_at"]
    search_fields = ["=order_reference", "=gateway_reference", "=card_last4", "=auth_num", "=reference"]
    date_hierarchy = "created_at"
    list_select_related = ["store", "lane"]
    inlines = [RefundInline, PaymentEventInline]


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "attempt", "kind", "from_status", "to_status", "cause", "actor", "actor_key"]
    list_filter = ["kind", "to_status"]
    search_fields = ["=attempt__order_reference", "=attempt__gateway_reference", "=correlation_id", "cause"]
    list_select_related = ["attempt", "actor"]


class RefundEventInline(PaymentEventInline):
    fk_name = "refund"


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["refund_reference", "created_at", "attempt", "status", "amount", "currency", "requested_by",
                    "gateway_refund_reference", "refundable_after", "finalized_at"]
    list_filter = ["status", "attempt__store", "created_at"]
    search_fields = ["=refund_reference", "=attempt__order_reference", "=gateway_refund_reference"]
    date_hierarchy = "created_at"
    list_select_related = ["attempt", "requested_by"]
    inlines = [RefundEventInline]
