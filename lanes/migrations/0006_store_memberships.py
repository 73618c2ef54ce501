"""Store memberships. Members of the old supervisor and manager groups (a role in every store) get that role
in every existing store, so nobody loses access on upgrade; cashiers get a cashier membership in the stores of
the lanes they are assigned to; the three old groups are removed (owner and admin are the organisation-wide
roles now)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def memberships_from_groups(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    store_model = apps.get_model("lanes", "Store")
    lane_model = apps.get_model("lanes", "Lane")
    membership_model = apps.get_model("lanes", "StoreMembership")
    stores = list(store_model.objects.all())
    roles = {}
    for role in ("supervisor", "manager"):  # manager wins when a user was in both
        group = group_model.objects.filter(name=role).first()
        if group is not None:
            for user_id in group.user_set.values_list("pk", flat=True):
                roles[user_id] = role
    for user_id, role in roles.items():
        for store in stores:
            membership_model.objects.get_or_create(user_id=user_id, store=store, defaults={"role": role})
    for lane in lane_model.objects.all():
        for user_id in lane.cashiers.values_list("pk", flat=True):
            membership_model.objects.get_or_create(user_id=user_id, store_id=lane.store_id,
                                                   defaults={"role": "cashier"})
    group_model.objects.filter(name__in=("cashier", "supervisor", "manager")).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('lanes', '0005_roles_override_sale'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='StoreMembership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('cashier', 'Cashier'), ('supervisor', 'Supervisor'), ('manager', 'Manager')], max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='lanes.store')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='store_memberships', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'store role',
                'ordering': ['store__name', 'user__username'],
                'constraints': [models.UniqueConstraint(fields=('user', 'store'), name='one_role_per_user_and_store')],
            },
        ),
        migrations.RunPython(memberships_from_groups, migrations.RunPython.noop),
    ]
