"""IOTPay's order status column, now kept as ``gateway_outcome`` (0006)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0006_gateway_outcomes"),
    ]

    operations = [
        migrations.RemoveField("paymentattempt", "gateway_status"),
    ]
