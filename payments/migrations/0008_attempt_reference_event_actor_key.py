"""A register's own reference on an attempt (searchable per store), and the API key that acted on an event."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0007_remove_gateway_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentattempt",
            name="reference",
            field=models.CharField(
                blank=True, max_length=64,
                help_text="The register's own reference of the sale (its receipt or ticket number), as it sent it.",
            ),
        ),
        migrations.AddField(
            model_name="paymentevent",
            name="actor_key",
            field=models.CharField(
                blank=True, max_length=120,
                help_text="The API key that asked for it (its prefix and label), when a register did and no person.",
            ),
        ),
        migrations.AddIndex(
            model_name="paymentattempt",
            index=models.Index(fields=["store", "reference"], name="attempt_store_reference"),
        ),
    ]
