"""The terminal's login at the gateway, in the console's words (it was named after IOTPay's jobNo)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lanes", "0006_store_memberships"),
    ]

    operations = [
        migrations.RenameField("terminal", "job_no", "gateway_login"),
        migrations.AlterField(
            model_name="terminal",
            name="device",
            field=models.CharField(
                help_text="The device id the gateway addresses this terminal by.", max_length=64, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="terminal",
            name="gateway_login",
            field=models.CharField(
                blank=True,
                help_text="The gateway login for this terminal; blank uses the merchant's.",
                max_length=50,
            ),
        ),
    ]
