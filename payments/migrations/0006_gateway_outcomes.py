"""Where the gateway said each order stood, from IOTPay's status: 2/3 paid, 4/9 declined, 0/1 in progress;
and the stored card data's ``receipt_disp`` key renamed ``terminal_text``. Reversible."""

from django.db import migrations

STATUS_TO_OUTCOME = {0: "in_progress", 1: "in_progress", 2: "paid", 3: "paid", 4: "declined", 9: "declined"}
BATCH = 2000


def _rename_card_key(rows, old: str, new: str) -> list:
    changed = []
    for row in rows:
        card = row.card
        if isinstance(card, dict) and old in card:
            card = dict(card)
            card[new] = card.pop(old)
            row.card = card
            changed.append(row)
    return changed


def forwards(apps, schema_editor):
    attempts = apps.get_model("payments", "PaymentAttempt")
    refunds = apps.get_model("payments", "Refund")
    for status, outcome in STATUS_TO_OUTCOME.items():
        attempts.objects.filter(gateway_status=status).update(gateway_outcome=outcome)
    for model in (attempts, refunds):
        rows = model.objects.filter(card__isnull=False).only("pk", "card").order_by("pk")
        for start in range(0, rows.count(), BATCH):
            changed = _rename_card_key(rows[start : start + BATCH], "receipt_disp", "terminal_text")
            model.objects.bulk_update(changed, ["card"], batch_size=BATCH)


def backwards(apps, schema_editor):
    attempts = apps.get_model("payments", "PaymentAttempt")
    refunds = apps.get_model("payments", "Refund")
    for outcome, status in (("in_progress", 1), ("paid", 2), ("declined", 9)):
        attempts.objects.filter(gateway_outcome=outcome).update(gateway_status=status)
    for model in (attempts, refunds):
        rows = model.objects.filter(card__isnull=False).only("pk", "card").order_by("pk")
        for start in range(0, rows.count(), BATCH):
            changed = _rename_card_key(rows[start : start + BATCH], "terminal_text", "receipt_disp")
            model.objects.bulk_update(changed, ["card"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0005_neutral_gateway_names"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
