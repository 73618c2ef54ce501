"""Create the cashier, supervisor, manager and admin groups with their permissions."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from lanes.roles import ensure_roles

    ensure_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("lanes", "0003_alter_lane_options"),
        ("payments", "0002_alter_paymentattempt_options_refund_and_more"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
