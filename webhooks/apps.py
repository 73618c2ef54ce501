from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        # Imported here, as Django asks of anything that touches models: the registry is ready now.
        from payments.signals import status_changed  # noqa: PLC0415
        from webhooks import outbox  # noqa: PLC0415

        status_changed.connect(outbox.on_status_changed, dispatch_uid="webhooks-outbox")
