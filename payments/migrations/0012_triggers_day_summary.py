"""PostgreSQL keeps payments_daysummary: triggers on the attempts, the refunds and the stores' time zones, and a
function that recomputes the summary from the attempts (payments/day_summary.py). SQLite gets the table only: there
the dashboard sums the attempts themselves (backoffice/totals.py)."""

from django.db import migrations

KEY = "store_id, day, lane_id, terminal_id, status, card_brand, batch_num"

# Deltas (store_id, created_at, lane_id, terminal_id, status, card_brand, batch_num, attempts, amount, tip,
# refunds, refunded) → added to their rows, keyed by the business day in the store's time zone; rows in key order
# so two transactions lock shared rows in the same order.
UPSERT = f"""
    INSERT INTO payments_daysummary AS t ({KEY}, attempts, amount, tip, refunds, refunded)
    SELECT d.store_id, (d.created_at AT TIME ZONE s.time_zone)::date AS day, d.lane_id, d.terminal_id, d.status,
           d.card_brand, d.batch_num, sum(d.attempts), sum(d.amount), sum(d.tip), sum(d.refunds), sum(d.refunded)
    FROM deltas d JOIN lanes_store s ON s.id = d.store_id
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ({KEY}) DO UPDATE SET
        attempts = t.attempts + EXCLUDED.attempts, amount = t.amount + EXCLUDED.amount, tip = t.tip + EXCLUDED.tip,
        refunds = t.refunds + EXCLUDED.refunds, refunded = t.refunded + EXCLUDED.refunded
"""

DELTAS = ("deltas (store_id, created_at, lane_id, terminal_id, status, card_brand, batch_num, attempts, amount, tip, "
          "refunds, refunded) AS")
ATTEMPT_COLUMNS = "store_id, created_at, lane_id, terminal_id, status, card_brand, batch_num"


def _attempt_side(table: str, sign: str, where: str = "") -> str:
    """An attempt's own figures and its approved refunds, with a sign."""
    return f"""
        SELECT a.store_id, a.created_at, a.lane_id, a.terminal_id, a.status, a.card_brand, a.batch_num,
               {sign}1, {sign}a.amount::bigint, {sign}a.tip::bigint,
               {sign}coalesce(f.n, 0), {sign}coalesce(f.cents, 0)
        FROM {table} a LEFT JOIN refunded f ON f.attempt_id = a.id {where}"""


REFUNDED_OF = """refunded AS (
        SELECT r.attempt_id, count(*) AS n, sum(r.amount)::bigint AS cents FROM payments_refund r
        WHERE r.status = 'APPROVED' AND r.attempt_id IN (SELECT id FROM {ids}) GROUP BY r.attempt_id)"""

CHANGED_ATTEMPTS = f"""changed AS (
        SELECT o.id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.{ATTEMPT_COLUMNS.replace(', ', ', o.')}, o.amount, o.tip)
              IS DISTINCT FROM (n.{ATTEMPT_COLUMNS.replace(', ', ', n.')}, n.amount, n.tip))"""


def _function(name: str, body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{body};
    RETURN NULL;
END
$$;"""


# Refunds count in the row of their attempt as it is now; the attempt is locked (FOR SHARE) so that a change of
# the attempt and a change of its refund, in two transactions, are applied one after the other.
def _refund_side(table: str, sign: str, where: str) -> str:
    return f"""
        SELECT a.store_id, a.created_at, a.lane_id, a.terminal_id, a.status, a.card_brand, a.batch_num,
               0, 0::bigint, 0::bigint, {sign}1, {sign}r.amount::bigint
        FROM {table} r JOIN attempts a ON a.id = r.attempt_id {where}"""


REFUND_ATTEMPTS = """attempts AS MATERIALIZED (
        SELECT id, store_id, created_at, lane_id, terminal_id, status, card_brand, batch_num
        FROM payments_paymentattempt WHERE id IN (SELECT attempt_id FROM {rows}) ORDER BY id FOR SHARE)"""

CHANGED_REFUNDS = """changed AS (
        SELECT o.id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.status = 'APPROVED' OR n.status = 'APPROVED')
          AND (o.attempt_id, o.status, o.amount) IS DISTINCT FROM (n.attempt_id, n.status, n.amount))"""

FUNCTIONS = [
    _function("payments_day_summary_attempts_inserted", f"""
    WITH refunded AS (SELECT NULL::bigint AS attempt_id, 0::bigint AS n, 0::bigint AS cents WHERE false),
    {DELTAS} ({_attempt_side("new_rows", "+")})
    {UPSERT}"""),
    _function("payments_day_summary_attempts_updated", f"""
    WITH {CHANGED_ATTEMPTS},
    {REFUNDED_OF.format(ids="changed")},
    {DELTAS} ({_attempt_side("old_rows", "-", "WHERE a.id IN (SELECT id FROM changed)")}
        UNION ALL {_attempt_side("new_rows", "+", "WHERE a.id IN (SELECT id FROM changed)")})
    {UPSERT}"""),
    _function("payments_day_summary_attempts_deleted", f"""
    WITH {REFUNDED_OF.format(ids="old_rows")},
    {DELTAS} ({_attempt_side("old_rows", "-")})
    {UPSERT}"""),
    _function("payments_day_summary_refunds_inserted", f"""
    WITH {REFUND_ATTEMPTS.format(rows="new_rows WHERE status = 'APPROVED'")},
    {DELTAS} ({_refund_side("new_rows", "+", "WHERE r.status = 'APPROVED'")})
    {UPSERT}"""),
    _function("payments_day_summary_refunds_updated", f"""
    WITH {CHANGED_REFUNDS},
    {REFUND_ATTEMPTS.format(rows="(SELECT attempt_id FROM old_rows WHERE id IN (SELECT id FROM changed) UNION "
                                 "SELECT attempt_id FROM new_rows WHERE id IN (SELECT id FROM changed)) AS c")},
    {DELTAS} ({_refund_side("old_rows", "-", "WHERE r.status = 'APPROVED' AND r.id IN (SELECT id FROM changed)")}
        UNION ALL {_refund_side("new_rows", "+", "WHERE r.status = 'APPROVED' AND r.id IN (SELECT id FROM changed)")})
    {UPSERT}"""),
    _function("payments_day_summary_refunds_deleted", f"""
    WITH {REFUND_ATTEMPTS.format(rows="old_rows WHERE status = 'APPROVED'")},
    {DELTAS} ({_refund_side("old_rows", "-", "WHERE r.status = 'APPROVED'")})
    {UPSERT}"""),
]

# What the summary must hold for a store's attempts created in [p_start, p_end): the rebuild command writes it,
# the agreement check compares the summary with it.
RECOMPUTED = f"""
CREATE OR REPLACE FUNCTION payments_day_summary_recomputed(p_store bigint, p_start timestamptz, p_end timestamptz)
RETURNS TABLE (store_id bigint, day date, lane_id bigint, terminal_id bigint, status varchar, card_brand varchar,
               batch_num varchar, attempts bigint, amount bigint, tip bigint, refunds bigint, refunded bigint)
LANGUAGE sql STABLE AS $$
    WITH a AS (
        SELECT id, store_id, created_at, lane_id, terminal_id, status, card_brand, batch_num, amount, tip
        FROM payments_paymentattempt
        WHERE store_id = p_store AND created_at >= p_start AND created_at < p_end),
    r AS (
        SELECT attempt_id, count(*) AS n, sum(amount)::bigint AS cents FROM payments_refund
        WHERE status = 'APPROVED' AND attempt_id IN (SELECT id FROM a) GROUP BY attempt_id)
    SELECT a.store_id, (a.created_at AT TIME ZONE s.time_zone)::date, a.lane_id, a.terminal_id, a.status,
           a.card_brand, a.batch_num, count(*), sum(a.amount)::bigint, sum(a.tip)::bigint,
           coalesce(sum(r.n), 0)::bigint, coalesce(sum(r.cents), 0)::bigint
    FROM a JOIN lanes_store s ON s.id = a.store_id LEFT JOIN r ON r.attempt_id = a.id
    GROUP BY 1, 2, 3, 4, 5, 6, 7
$$;

-- A store's business days move with its time zone: its rows are recomputed in the same transaction (the lock is
-- the rebuild command's, payments/day_summary.py).
CREATE OR REPLACE FUNCTION payments_day_summary_store_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE payments_daysummary IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM payments_daysummary WHERE store_id = NEW.id;
    INSERT INTO payments_daysummary ({KEY}, attempts, amount, tip, refunds, refunded)
    SELECT * FROM payments_day_summary_recomputed(NEW.id, '-infinity', 'infinity');
    RETURN NULL;
END
$$;
"""

TRIGGERS = """
CREATE TRIGGER day_summary_attempts_inserted AFTER INSERT ON payments_paymentattempt
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payments_day_summary_attempts_inserted();
CREATE TRIGGER day_summary_attempts_updated AFTER UPDATE ON payments_paymentattempt
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION payments_day_summary_attempts_updated();
CREATE TRIGGER day_summary_attempts_deleted AFTER DELETE ON payments_paymentattempt
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION payments_day_summary_attempts_deleted();
CREATE TRIGGER day_summary_refunds_inserted AFTER INSERT ON payments_refund
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payments_day_summary_refunds_inserted();
CREATE TRIGGER day_summary_refunds_updated AFTER UPDATE ON payments_refund
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION payments_day_summary_refunds_updated();
CREATE TRIGGER day_summary_refunds_deleted AFTER DELETE ON payments_refund
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION payments_day_summary_refunds_deleted();
CREATE TRIGGER day_summary_store_moved AFTER UPDATE OF time_zone ON lanes_store
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION payments_day_summary_store_moved();
"""

# Existing attempts: the whole summary at once, before the triggers exist (the migration holds the tables' locks).
FILL = f"""
INSERT INTO payments_daysummary ({KEY}, attempts, amount, tip, refunds, refunded)
SELECT r.* FROM lanes_store s, payments_day_summary_recomputed(s.id, '-infinity', 'infinity') r;
"""

DROP = """
DROP TRIGGER IF EXISTS day_summary_attempts_inserted ON payments_paymentattempt;
DROP TRIGGER IF EXISTS day_summary_attempts_updated ON payments_paymentattempt;
DROP TRIGGER IF EXISTS day_summary_attempts_deleted ON payments_paymentattempt;
DROP TRIGGER IF EXISTS day_summary_refunds_inserted ON payments_refund;
DROP TRIGGER IF EXISTS day_summary_refunds_updated ON payments_refund;
DROP TRIGGER IF EXISTS day_summary_refunds_deleted ON payments_refund;
DROP TRIGGER IF EXISTS day_summary_store_moved ON lanes_store;
DROP FUNCTION IF EXISTS payments_day_summary_attempts_inserted(), payments_day_summary_attempts_updated(),
    payments_day_summary_attempts_deleted(), payments_day_summary_refunds_inserted(),
    payments_day_summary_refunds_updated(), payments_day_summary_refunds_deleted(),
    payments_day_summary_store_moved(), payments_day_summary_recomputed(bigint, timestamptz, timestamptz);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [*FUNCTIONS, RECOMPUTED, FILL, TRIGGERS]:
        schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0011_day_summary'),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
