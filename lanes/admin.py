from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from lanes.models import Lane, Store, Terminal


class TerminalInline(admin.StackedInline):
    model = Terminal
    extra = 0
    fields = ["device", "job_no", "serial", "enabled"]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "merchant", "time_zone", "tips_enabled", "max_amount"]
    search_fields = ["name"]


@admin.register(Lane)
class LaneAdmin(admin.ModelAdmin):
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

    @admin.action(description="Enable the selected terminals")
    def enable(self, request: object, queryset: object) -> None:
        queryset.update(enabled=True)

    @admin.action(description="Disable the selected terminals")
    def disable(self, request: object, queryset: object) -> None:
        queryset.update(enabled=False)


# Users: the lanes each one may use, on the user's own page too.


class LaneAccessInline(admin.TabularInline):
    model = Lane.cashiers.through
    extra = 0
    verbose_name = "lane this user may use"
    verbose_name_plural = "lanes this user may use"
    autocomplete_fields = ["lane"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class ConsoleUserAdmin(UserAdmin):
    inlines = [LaneAccessInline]
    list_display = [*UserAdmin.list_display, "role_names"]

    @admin.display(description="roles")
    def role_names(self, user: object) -> str:
        return ", ".join(group.name for group in user.groups.all())
