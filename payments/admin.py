"""Admin for setup (merchants) and for reading payments (attempts, refunds and events are read-only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from payments.models import Merchant, PaymentAttempt, PaymentEvent, Refund
from payments.services.merchants import merchant_test_connection


class MerchantForm(forms.ModelForm):
    key = forms.CharField(
        label="IOTPay key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave blank to keep the current key.",
    )

    class Meta:
        model = Merchant
        fields = ["name", "mch_id", "job_no", "currency"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("key"):
            self.add_error("key", "A new merchant needs its IOTPay key.")
        return cleaned

    def save(self, commit: bool = True) -> Merchant:
        merchant = super().save(commit=False)
        if key := self.cleaned_data.get("key"):
            merchant.set_key(key)
        if commit:
            merchant.save()
        return merchant


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    form = MerchantForm
    list_display = ["name", "mch_id", "job_no", "currency", "updated_at"]
    search_fields = ["name", "mch_id"]
    actions = ["test_connection"]

    @admin.action(description="Test the connection to IOTPay (a signed query_order)", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Merchant]) -> None:
        for merchant in queryset:
            ok, text = merchant_test_connection(merchant=merchant)
            self.message_user(request, f"{merchant}: {text}", messages.SUCCESS if ok else messages.ERROR)


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "from_status", "to_status", "cause", "actor", "data"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["created_at", "mch_refund_no", "status", "amount", "reason", "requested_by", "refund_order_id",
              "refundable_after", "message", "finalized_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyAdmin):
    list_display = ["mch_order_no", "created_at", "store", "lane", "status", "amount", "tip", "card_brand",
                    "card_last4", "pay_order_id"]
    list_filter = ["status", "store", "lane", "card_brand", "created_at"]
    search_fields = ["=mch_order_no", "=pay_order_id", "=card_last4", "=auth_num"]
    date_hierarchy = "created_at"
    list_select_related = ["store", "lane"]
    inlines = [RefundInline, PaymentEventInline]


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "attempt", "kind", "from_status", "to_status", "cause", "actor"]
    list_filter = ["kind", "to_status"]
    search_fields = ["=attempt__mch_order_no", "=attempt__pay_order_id", "cause"]
    list_select_related = ["attempt", "actor"]


class RefundEventInline(PaymentEventInline):
    fk_name = "refund"


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["mch_refund_no", "created_at", "attempt", "status", "amount", "currency", "requested_by",
                    "refund_order_id", "refundable_after", "finalized_at"]
    list_filter = ["status", "attempt__store", "created_at"]
    search_fields = ["=mch_refund_no", "=attempt__mch_order_no", "=refund_order_id"]
    date_hierarchy = "created_at"
    list_select_related = ["attempt", "requested_by"]
    inlines = [RefundEventInline]
