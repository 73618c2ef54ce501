"""Eight indexes of the attempts table that no read of the console uses, dropped.

The attempts table had 22 indexes. A payment writes its row three times (the insert, the claim, the answer), and
each write adds an entry to every index: the status and ``updated_at`` are indexed (``attempt_status_updated``), so
no update of an attempt is a heap-only one. These eight are read by nothing:

- ``lane_id``, ``store_id``: the composite indexes ``attempt_lane_created`` and ``attempt_store_created`` lead with
  the same column and serve every read by lane or store, and the foreign keys' checks;
- ``merchant_id``, ``created_by_id``: no read filters on them; deleting a merchant (refused while it has attempts)
  or a user (their attempts keep no creator) scans the table instead, a rare step in the admin;
- ``card_last4`` and ``gateway_reference`` with their ``LIKE`` copies: the reads by card go through
  ``attempt_approved_card`` (store, card, time); nothing reads by the gateway's reference; the admin's exact
  searches on both compare upper-cased text (``iexact``), which these indexes never served.

Measured on a 300,000-attempt table (docs/performance.md, issue 16, thirteenth pass): the write-ahead log of a
payment's three writes 9,491 → 5,180 bytes, PostgreSQL's time for them 4.31 → 4.01 ms at the median.

Only the indexes are dropped. Django's own ``AlterField`` would also drop and re-add three foreign keys, and re-adding
one checks every row of the largest table while it blocks writes. The model state says the same (``db_index=False``),
so later migrations know the indexes are gone. tests/app/test_attempt_indexes.py keeps the list.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (index, its columns as 0001-0015 made it): written out, as a migration's SQL is frozen with it.
DROPPED = [
    ("payments_paymentattempt_lane_id_9aa561ef", "(lane_id)"),
    ("payments_paymentattempt_store_id_0849242d", "(store_id)"),
    ("payments_paymentattempt_merchant_id_2ef3b3c2", "(merchant_id)"),
    ("payments_paymentattempt_created_by_id_c779f33e", "(created_by_id)"),
    ("payments_paymentattempt_card_last4_8da25ead", "(card_last4)"),
    ("payments_paymentattempt_card_last4_8da25ead_like", "(card_last4 varchar_pattern_ops)"),
    ("payments_paymentattempt_pay_order_id_8b0ff85d", "(gateway_reference)"),
    ("payments_paymentattempt_pay_order_id_8b0ff85d_like", "(gateway_reference varchar_pattern_ops)"),
]


def drop(apps, schema_editor):
    for name, _columns in DROPPED:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def restore(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for name, columns in DROPPED:
        if "varchar_pattern_ops" in columns and not postgresql:
            continue  # the LIKE copies are PostgreSQL's
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "payments_paymentattempt" {columns}')


class Migration(migrations.Migration):

    dependencies = [
        ("lanes", "0008_languages"),
        ("payments", "0015_day_cards_at_commit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, restore)],
            state_operations=[
                migrations.AlterField(
                    model_name="paymentattempt",
                    name="card_last4",
                    field=models.CharField(blank=True, max_length=4),
                ),
                migrations.AlterField(
                    model_name="paymentattempt",
                    name="created_by",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                                            to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name="paymentattempt",
                    name="gateway_reference",
                    field=models.CharField(blank=True, help_text="The gateway's own reference of the order.",
                                           max_length=40),
                ),
                migrations.AlterField(
                    model_name="paymentattempt",
                    name="lane",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="attempts", to="lanes.lane"),
                ),
                migrations.AlterField(
                    model_name="paymentattempt",
                    name="merchant",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="attempts", to="payments.merchant"),
                ),
                migrations.AlterField(
                    model_name="paymentattempt",
                    name="store",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="attempts", to="lanes.store"),
                ),
            ],
        ),
    ]
