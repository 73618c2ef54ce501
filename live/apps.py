from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = _("Live push and websockets")

    def ready(self) -> None:
        # Imported here, as Django asks of anything that touches models: the registry is ready now.
        from live import access_signals, broadcast  # noqa: PLC0415
        from payments.signals import attempt_changed  # noqa: PLC0415

        attempt_changed.connect(broadcast.on_attempt_changed, dispatch_uid="live-push-attempt")
        access_signals.connect()
