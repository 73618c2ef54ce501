import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import integrations.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("lanes", "0007_terminal_gateway_login"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("label", models.CharField(help_text="Which register (or script) uses it, e.g. “Lane 3 register”.",
                                           max_length=80)),
                ("scopes", models.JSONField(default=list,
                                            help_text="What the key may do: payments:write, payments:read, refunds:write.",
                                            validators=[integrations.models.validate_scopes])),
                ("prefix", models.CharField(editable=False, max_length=16, unique=True,
                                            help_text="The start of the token, kept in the clear to find the key and tell keys apart.")),
                ("token_hash", models.CharField(editable=False, help_text="SHA-256 of the whole token, hex.",
                                                max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("revoked_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("last_used_at", models.DateTimeField(blank=True, editable=False, help_text="Written at most once a minute.",
                                                      null=True)),
                ("created_by", models.ForeignKey(blank=True, editable=False, null=True,
                                                 on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                                                 to=settings.AUTH_USER_MODEL)),
                ("lanes", models.ManyToManyField(blank=True, related_name="api_keys", to="lanes.lane",
                                                 help_text="The lanes the key may charge. None chosen: every lane of its store.")),
                ("store", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="api_keys",
                                            to="lanes.store")),
            ],
            options={"verbose_name": "API key", "ordering": ["store__name", "label"]},
        ),
    ]
