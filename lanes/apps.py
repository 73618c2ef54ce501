from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from lanes.roles import ensure_roles


def _ensure_roles(sender: AppConfig, **kwargs: Any) -> None:
    # After every migrate and every test flush, so the roles always exist.
    if sender.name == "lanes":
        ensure_roles(apps)


class LanesConfig(AppConfig):
    name = "lanes"
    verbose_name = _("Stores and lanes")

    def ready(self) -> None:
        post_migrate.connect(_ensure_roles, sender=self)
