"""Admin: endpoints (the secret shown once, on the page after adding one, never in a form), and the events and
deliveries, read-only, with every try, and the "Send again" action."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from webhooks.delivery import deliveries_send_again
from webhooks.endpoints import clean_events
from webhooks.models import Delivery, DeliveryTry, Endpoint, Event, EventType
from webhooks.signing import new_secret

# A new endpoint's secret, from saving it to the page that shows it: that one response, then gone.
_new_secrets: WeakKeyDictionary[Endpoint, str] = WeakKeyDictionary()


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https",
                         help_text=_("Events are POSTed here (https in production)."))
    events = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple,
                                       initial=list(EventType.values), help_text=_("The events sent to this URL."))

    class Meta:
        model = Endpoint
        fields = ["store", "url", "events", "active"]

    def clean_events(self) -> list[str]:
        return clean_events(self.cleaned_data["events"])


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["store", "url", "active", "event_types", "updated_at"]
    list_filter = ["active", "store"]
    search_fields = ["url", "store__name"]
    list_select_related = ["store"]

    @admin.display(description=_("events"))
    def event_types(self, endpoint: Endpoint) -> str:
        return ", ".join(endpoint.events)

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        secret = None if change else new_secret()
        if secret is not None:
            obj.set_secret(secret)
        super().save_model(request, obj, form, change)
        if secret is not None:
            _new_secrets[obj] = secret

    def response_add(self, request: HttpRequest, obj: Endpoint, post_url_continue: str | None = None) -> HttpResponse:
        """The page after adding shows the secret, once; it is not put in a message (the messages framework
        keeps messages in a cookie or the session until shown)."""
        secret = _new_secrets.pop(obj, None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "endpoint": obj, "secret": secret,
                   "title": _("Webhook endpoint added: its secret")}
        response = TemplateResponse(request, "admin/webhooks/endpoint/secret.html", context)
        add_never_cache_headers(response)
        return response


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


_TRY_FIELDS = ("started_at", "duration_ms", "response_code", "error", "delivered")


class DeliveryTryInline(ReadOnly, admin.TabularInline):
    model = DeliveryTry
    extra = 0
    fields = _TRY_FIELDS
    readonly_fields = _TRY_FIELDS


_DELIVERY_FIELDS = ("event", "endpoint", "status", "tries", "last_code", "last_error", "next_try_at", "give_up_at",
                    "delivered_at", "created_at")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "event", "endpoint", "status", "tries", "last_code", "last_error", "next_try_at",
                    "delivered_at"]
    list_filter = ["status", "event__type", "endpoint__store", "created_at"]
    search_fields = ["=event__event_id", "endpoint__url"]
    list_select_related = ["event", "endpoint__store"]
    fields = _DELIVERY_FIELDS
    readonly_fields = _DELIVERY_FIELDS
    inlines = [DeliveryTryInline]
    actions = ["send_again"]

    def has_send_again_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("webhooks.change_delivery")

    @admin.action(description=_("Send again"), permissions=["send_again"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        sent, busy = deliveries_send_again(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, ngettext("{count} delivery will be sent again now, with its event's id.",
                                   "{count} deliveries will be sent again now, with their event's id.", sent).format(count=sent),
                          messages.SUCCESS)
        if busy:
            self.message_user(request, ngettext("{count} delivery skipped: a try is in flight.",
                                       "{count} deliveries skipped: a try is in flight.", busy).format(count=busy), messages.WARNING)


class DeliveryInline(ReadOnly, admin.TabularInline):
    model = Delivery
    extra = 0
    show_change_link = True
    fields = ("endpoint", "status", "tries", "last_code", "last_error", "delivered_at")
    readonly_fields = fields


@admin.register(Event)
class EventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "event_id", "type", "store", "attempt", "refund"]
    list_filter = ["type", "store", "created_at"]
    search_fields = ["=event_id", "=attempt__order_reference", "=refund__refund_reference"]
    list_select_related = ["store", "attempt", "refund"]
    fields = ("event_id", "type", "store", "attempt", "refund", "created_at", "body")
    readonly_fields = fields
    inlines = [DeliveryInline]
