"""Give the roles the permissions added since 0004 (supervisors: charging a blocked sale again)."""

from django.db import migrations


def update_roles(apps, schema_editor):
    from lanes.roles import ensure_roles

    ensure_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("lanes", "0004_roles"),
        ("payments", "0003_gateway_answers_and_claims"),
    ]

    operations = [migrations.RunPython(update_roles, migrations.RunPython.noop)]
