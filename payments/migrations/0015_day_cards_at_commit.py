"""DayCard's update trigger fires at commit, once per changed approval, instead of at the attempt's UPDATE.

Every approval of a store's day with the same card last 4 and total adds to one DayCard row. The statement-level
trigger of 0013 updated that row at the attempt's UPDATE, so the row stayed locked until the transaction
committed, through the rest of the answer's recording in a busy worker: a store's approvals of one card and total
waited on each other (measured in docs/performance.md: the burst round's push p99 from 1,450-2,700 ms to about
600 ms without it). A deferred constraint trigger runs inside COMMIT: the row is locked only while PostgreSQL
commits. It still counts each change in the same transaction as the change.

Only updates move to commit time: an attempt is inserted CREATED, so the insert and delete triggers of 0013 (bulk
loads, deletions) stay statement-level. Inside a transaction that is never committed (a test's), the count runs
at each statement once ``SET CONSTRAINTS day_cards_updated IMMEDIATE`` is set (tests/conftest.py), and any count
still pending runs when that is set (or at ``SET CONSTRAINTS ALL IMMEDIATE``).
"""

from django.db import migrations

# One changed attempt's deltas (-1 for what it was, +1 for what it is, approvals with a card only), the same upsert
# as 0013's statement-level functions, in key order: written out rather than imported from 0013, as a migration's
# SQL is frozen with it. The table lock is the one every attempt change takes through
# the day summary's triggers: it orders this count after a store's time-zone recount (0011, 0013).
ROW_FUNCTION = """
CREATE OR REPLACE FUNCTION payments_day_cards_row_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE payments_daysummary IN ROW EXCLUSIVE MODE;
    WITH deltas (store_id, created_at, card_last4, total, approvals) AS (
        SELECT OLD.store_id, OLD.created_at, OLD.card_last4, OLD.amount::bigint + OLD.tip, -1
        WHERE OLD.status = 'APPROVED' AND OLD.card_last4 <> ''
        UNION ALL
        SELECT NEW.store_id, NEW.created_at, NEW.card_last4, NEW.amount::bigint + NEW.tip, 1
        WHERE NEW.status = 'APPROVED' AND NEW.card_last4 <> '')
    INSERT INTO payments_daycard AS t (store_id, day, card_last4, total, approvals)
    SELECT d.store_id, (d.created_at AT TIME ZONE s.time_zone)::date, d.card_last4, d.total, sum(d.approvals)
    FROM deltas d JOIN lanes_store s ON s.id = d.store_id
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (store_id, day, card_last4, total) DO UPDATE SET approvals = t.approvals + EXCLUDED.approvals;
    RETURN NULL;
END
$$;
"""

# The same rows 0013's CHANGED picked: an approval before or after, with a counted column changed.
AT_COMMIT = ROW_FUNCTION + """
DROP TRIGGER IF EXISTS day_cards_updated ON payments_paymentattempt;
CREATE CONSTRAINT TRIGGER day_cards_updated AFTER UPDATE ON payments_paymentattempt
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.status = 'APPROVED' OR NEW.status = 'APPROVED')
          AND (OLD.store_id, OLD.created_at, OLD.status, OLD.card_last4, OLD.amount, OLD.tip)
              IS DISTINCT FROM (NEW.store_id, NEW.created_at, NEW.status, NEW.card_last4, NEW.amount, NEW.tip))
    EXECUTE FUNCTION payments_day_cards_row_updated();
"""

AT_STATEMENT = """
DROP TRIGGER IF EXISTS day_cards_updated ON payments_paymentattempt;
DROP FUNCTION IF EXISTS payments_day_cards_row_updated();
CREATE TRIGGER day_cards_updated AFTER UPDATE ON payments_paymentattempt
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION payments_day_cards_updated();
"""


def at_commit(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(AT_COMMIT)


def at_statement(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(AT_STATEMENT)


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0014_event_data_values'),
    ]

    operations = [
        migrations.RunPython(at_commit, at_statement),
    ]
