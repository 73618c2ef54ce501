"""Fill a finding's ``gateway_outcome`` from IOTPay's status (see payments 0006). Reversible."""

from django.db import migrations

STATUS_TO_OUTCOME = {0: "in_progress", 1: "in_progress", 2: "paid", 3: "paid", 4: "declined", 9: "declined"}


def forwards(apps, schema_editor):
    findings = apps.get_model("backoffice", "VerificationFinding")
    for status, outcome in STATUS_TO_OUTCOME.items():
        findings.objects.filter(gateway_status=status).update(gateway_outcome=outcome)
    findings.objects.filter(gateway_status__isnull=True, kind="mismatch").update(gateway_outcome="not_found")


def backwards(apps, schema_editor):
    findings = apps.get_model("backoffice", "VerificationFinding")
    for outcome, status in (("in_progress", 1), ("paid", 2), ("declined", 9)):
        findings.objects.filter(gateway_outcome=outcome).update(gateway_status=status)


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0002_gateway_outcome"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
