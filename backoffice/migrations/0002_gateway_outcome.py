"""A finding records where the gateway said the order stood, in the console's words (see payments 0005);
0003 fills it, 0004 drops the old column."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="verificationfinding",
            name="gateway_outcome",
            field=models.CharField(blank=True, default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="verificationfinding",
            name="cleared_at",
            field=models.DateTimeField(
                blank=True,
                help_text="A later re-query found the gateway and the console agreeing.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="verificationfinding",
            name="gateway_outcome",
            field=models.CharField(
                blank=True,
                help_text="Where the gateway said the order stood (paid, declined, not_found, ...).",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="verificationrun",
            name="applied",
            field=models.PositiveIntegerField(
                default=0, help_text="Late gateway results applied to open attempts."
            ),
        ),
    ]
