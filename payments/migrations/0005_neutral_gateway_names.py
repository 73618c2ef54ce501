"""The console's own words for what was named after IOTPay's fields (one gateway among possible others).

Columns are renamed, never dropped and re-added, so their data stays. IOTPay's order status (an integer
0–9) becomes where the gateway said the order stood (0006, then 0007 drops the old column: each step in
a transaction of its own, as PostgreSQL wants between writing rows and altering their table).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_idempotency_fingerprints"),
    ]

    operations = [
        migrations.RenameField("merchant", "mch_id", "gateway_account"),
        migrations.RenameField("merchant", "job_no", "gateway_login"),
        migrations.AddField(
            model_name="merchant",
            name="gateway",
            field=models.CharField(choices=[("iotpay", "IOTPay")], default="iotpay", max_length=20),
        ),
        migrations.RenameField("paymentattempt", "mch_order_no", "order_reference"),
        migrations.RenameField("paymentattempt", "pay_order_id", "gateway_reference"),
        migrations.RenameField("paymentattempt", "receipt_disp", "terminal_text"),
        migrations.AddField(
            model_name="paymentattempt",
            name="gateway_outcome",
            field=models.CharField(blank=True, default="", max_length=16),
            preserve_default=False,
        ),
        migrations.RenameField("refund", "mch_refund_no", "refund_reference"),
        migrations.RenameField("refund", "refund_order_id", "gateway_refund_reference"),
        migrations.RenameField("refund", "receipt_disp", "terminal_text"),
        migrations.AlterField(
            model_name="merchant",
            name="gateway_account",
            field=models.CharField(
                help_text="The id the gateway gave this merchant account.",
                max_length=30,
                unique=True,
                verbose_name="merchant id at the gateway",
            ),
        ),
        migrations.AlterField(
            model_name="merchant",
            name="gateway_login",
            field=models.CharField(
                help_text="The merchant's login at the gateway (the operator sent with each sale).",
                max_length=50,
                verbose_name="gateway login",
            ),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="card",
            field=models.JSONField(
                blank=True, help_text="Card data from the gateway, never the expiry date.", null=True
            ),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="gateway_amount",
            field=models.IntegerField(blank=True, help_text="The gateway's sale amount, cents.", null=True),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="gateway_outcome",
            field=models.CharField(
                blank=True,
                help_text="Where the gateway said the order stood last: paid, declined, ...",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="gateway_reference",
            field=models.CharField(
                blank=True,
                db_index=True,
                help_text="The gateway's own reference of the order.",
                max_length=40,
            ),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="gateway_tip",
            field=models.IntegerField(blank=True, help_text="The gateway's tip, cents.", null=True),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="order_reference",
            field=models.CharField(
                help_text="Our reference of the order, sent to the gateway.", max_length=30, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="paid_at",
            field=models.DateTimeField(blank=True, help_text="When the gateway says it was paid.", null=True),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="poll_claimed_until",
            field=models.DateTimeField(
                blank=True,
                help_text="A look-up at the gateway for this attempt is in flight until then (one at a time).",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="response_signature",
            field=models.CharField(
                blank=True,
                help_text="What the charge answer's signature proved: verified, unverifiable, ...",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="terminal_outcome",
            field=models.CharField(
                blank=True,
                help_text="What the terminal's answer said (APPROVED or DECLINED) while the gateway has not confirmed it.",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="terminal_text",
            field=models.CharField(
                blank=True, help_text="The terminal's approval or decline text.", max_length=255
            ),
        ),
        migrations.AlterField(
            model_name="refund",
            name="card",
            field=models.JSONField(
                blank=True,
                help_text="The refund's own terminal data from the gateway (invoice, sequence, auth).",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="refund",
            name="check_claimed_until",
            field=models.DateTimeField(
                blank=True,
                help_text="A check with the gateway for this refund is in flight until then.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="refund",
            name="gateway_refund_reference",
            field=models.CharField(blank=True, help_text="The gateway's reference.", max_length=40),
        ),
        migrations.AlterField(
            model_name="refund",
            name="gateway_refundable",
            field=models.IntegerField(
                blank=True,
                help_text="What the gateway said was left to refund on the payment at the last check.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="refund",
            name="refund_reference",
            field=models.CharField(
                help_text="Our reference of the refund, sent to the gateway.", max_length=30, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="refund",
            name="refundable_after",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="What the gateway says is still refundable on the payment afterwards (cents).",
                null=True,
            ),
        ),
    ]
