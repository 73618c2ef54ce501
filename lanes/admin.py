from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lanes.models import Lane, LanguagePreference, Store, StoreMembership, Terminal


class TerminalInline(admin.StackedInline):
    model = Terminal
    extra = 0
    fields = ["device", "gateway_login", "serial", "enabled"]


class StoreMembershipInline(admin.TabularInline):
    """The staff of a store, on the store's page (and the stores of a user, on the user's page)."""

    model = StoreMembership
    extra = 0
    autocomplete_fields = ["user"]
    verbose_name = _("role in this store")
    verbose_name_plural = _("staff of this store (supervisors and managers see only their own stores)")


class UserStoreMembershipInline(StoreMembershipInline):
    autocomplete_fields = ["store"]
    verbose_name = _("role in a store")
    verbose_name_plural = _("roles in stores (owners and admins, as groups, see every store)")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "merchant", "province", "language", "time_zone", "tips_enabled", "max_amount"]
    list_filter = ["province", "language"]
    search_fields = ["name"]
    inlines = [StoreMembershipInline]


class LaneForm(forms.ModelForm):
    class Meta:
        model = Lane
        fields = ["store", "code", "name", "cashiers"]

    def clean(self) -> dict[str, Any]:
        """A lane's cashiers belong to its store: give them a role there first."""
        super().clean()
        data = self.cleaned_data  # what ModelForm.clean returns
        store, cashiers = data.get("store"), data.get("cashiers")
        if store is not None and cashiers:
            members = set(StoreMembership.objects.filter(store=store, user__in=cashiers).values_list("user_id",
                                                                                                     flat=True))
            strangers = [user.get_username() for user in cashiers if user.pk not in members]
            if strangers:
                self.add_error("cashiers", gettext("Not staff of {store}: {names}. Give them a role in the store "
                                                   "first (on the store's page).").format(
                    store=store, names=", ".join(strangers)))
        return data


@admin.register(Lane)
class LaneAdmin(admin.ModelAdmin):
    form = LaneForm
    list_display = ["code", "name", "store"]
    list_filter = ["store"]
    search_fields = ["code", "name"]
    filter_horizontal = ["cashiers"]
    inlines = [TerminalInline]


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    list_display = ["device", "lane", "serial", "enabled"]
    list_filter = ["enabled", "lane__store"]
    search_fields = ["device", "serial", "lane__code"]
    actions = ["enable", "disable"]

    @admin.action(description=_("Enable the selected terminals"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Terminal]) -> None:
        queryset.update(enabled=True)

    @admin.action(description=_("Disable the selected terminals"), permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[Terminal]) -> None:
        queryset.update(enabled=False)


# Users: the lanes each one may use, on the user's own page too.


class LaneAccessInline(admin.TabularInline):
    model = Lane.cashiers.through
    extra = 0
    verbose_name = _("lane this user may use")
    verbose_name_plural = _("lanes this user may use")
    autocomplete_fields = ["lane"]


class LanguagePreferenceInline(admin.StackedInline):
    """The user's own language (the header's switch sets it too); blank: their store's, else their browser's."""

    model = LanguagePreference
    extra = 1
    max_num = 1
    can_delete = False
    fields = ["language"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class ConsoleUserAdmin(UserAdmin):
    """Users with their store roles and lanes. Only a superuser makes or changes superusers: the admin group
    manages everyone else."""

    inlines = [LanguagePreferenceInline, UserStoreMembershipInline, LaneAccessInline]
    # django-stubs type list_display per model: reading Django's tuple off the generic class is "ambiguous".
    list_display = [*UserAdmin.list_display, "role_names"]  # type: ignore[misc]

    @admin.display(description=_("roles"))
    def role_names(self, user: Any) -> str:
        roles = [group.name for group in user.groups.all()]
        roles += [f"{m.role} of {m.store.name}" for m in user.store_memberships.select_related("store")]
        return ", ".join(roles)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_superuser", "user_permissions"]
        return fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)
