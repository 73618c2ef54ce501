from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(sender: AppConfig, **kwargs: Any) -> None:
    # After every migrate and every test flush, so the roles always exist.
    from django.apps import apps

    from lanes.roles import ensure_roles

    if sender.name == "lanes":
        ensure_roles(apps)


class LanesConfig(AppConfig):
    name = "lanes"
    verbose_name = "Stores and lanes"

    def ready(self) -> None:
        post_migrate.connect(_ensure_roles, sender=self)
