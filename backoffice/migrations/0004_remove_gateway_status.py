"""IOTPay's order status on findings, now kept as ``gateway_outcome`` (0003)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0003_finding_outcomes"),
    ]

    operations = [
        migrations.RemoveField("verificationfinding", "gateway_status"),
    ]
