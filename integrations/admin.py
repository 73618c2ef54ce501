"""API keys in the admin: made here (the token is shown once, on the page that follows), listed by prefix, revoked."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integrations.keys import api_key_issue, api_keys_revoke
from integrations.models import SCOPE_CHOICES, ApiKey
from lanes import access

_TOKEN = "_issued_token"  # noqa: S105 - the name of an attribute, not a token


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple,
        initial=[access.PAYMENTS_WRITE, access.PAYMENTS_READ],
        help_text=_("A register that takes payments needs payments:write and payments:read."),
    )

    class Meta:
        model = ApiKey
        fields = ["store", "label", "scopes", "lanes"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        store = cleaned.get("store") or getattr(self.instance, "store", None)
        lanes = cleaned.get("lanes") or []
        if store is not None and any(lane.store_id != store.pk for lane in lanes):
            self.add_error("lanes", _("Choose lanes of the key's own store only."))
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["token_start", "label", "store", "scope_list", "last_used_at", "revoked_at", "created_at"]
    list_filter = ["store", "revoked_at"]
    search_fields = ["=prefix", "label", "store__name"]
    list_select_related = ["store"]
    filter_horizontal = ["lanes"]
    actions = ["revoke"]

    @admin.display(description=_("key"), ordering="prefix")
    def token_start(self, key: ApiKey) -> str:
        return f"sck_{key.prefix}_…"

    @admin.display(description=_("scopes"))
    def scope_list(self, key: ApiKey) -> str:
        return " ".join(key.scopes)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return []
        return ["store", "token_start", "created_at", "created_by", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.created_by = request.user if isinstance(request.user, User) else None
        setattr(obj, _TOKEN, api_key_issue(obj))

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None) -> HttpResponse:
        """The token, once: the page is not cached and the token is kept nowhere (no message, no session)."""
        token = getattr(obj, _TOKEN, None)
        if token is None:
            return super().response_add(request, obj, post_url_continue)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "key": obj, "token": token,
                   "title": f"API key {obj} made"}
        response = TemplateResponse(request, "integrations/key_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke the selected keys (refused from the next request on)"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = api_keys_revoke(ids=queryset.values_list("pk", flat=True))
        self.message_user(request, ngettext("{count} key revoked.", "{count} keys revoked.", count).format(count=count),
                          messages.SUCCESS)
