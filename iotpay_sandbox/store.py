"""SQLite persistence: orders, refunds and a request log.

One connection guarded by one lock; every use is a short statement or a short transaction, so a
create_order call that waits on the cardholder never holds it. An order stores its scripted final status
and the time it resolves; its current status is derived when read, so a restart mid-payment behaves.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    pay_order_id TEXT PRIMARY KEY,
    mch_id TEXT NOT NULL, mch_order_no TEXT NOT NULL,
    channel_id TEXT NOT NULL, currency TEXT NOT NULL, amount INTEGER NOT NULL, tip INTEGER NOT NULL,
    client_ip TEXT NOT NULL, device TEXT NOT NULL, notify_url TEXT NOT NULL, subject TEXT NOT NULL,
    body TEXT NOT NULL, request_extra TEXT NOT NULL, job_no TEXT NOT NULL, remarks TEXT NOT NULL,
    source TEXT NOT NULL, outcome TEXT NOT NULL, final_status INTEGER NOT NULL, final_extra TEXT NOT NULL,
    channel_order_no TEXT NOT NULL, created_ms INTEGER NOT NULL, resolve_ms INTEGER NOT NULL,
    refundable INTEGER NOT NULL,
    UNIQUE (mch_id, mch_order_no)
);
CREATE TABLE IF NOT EXISTS refund_orders (
    refund_order_id TEXT PRIMARY KEY,
    mch_id TEXT NOT NULL, mch_refund_no TEXT NOT NULL, pay_order_id TEXT NOT NULL,
    refund_amount INTEGER NOT NULL, currency TEXT NOT NULL, client_ip TEXT NOT NULL, device TEXT NOT NULL,
    login_name TEXT NOT NULL, created_ms INTEGER NOT NULL, refundable_after INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS refund_orders_by_order ON refund_orders (pay_order_id);
CREATE INDEX IF NOT EXISTS refund_orders_by_no ON refund_orders (mch_id, mch_refund_no);
CREATE TABLE IF NOT EXISTS request_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL, endpoint TEXT NOT NULL, mch_id TEXT, mch_order_no TEXT, pay_order_id TEXT,
    mch_refund_no TEXT, http_status INTEGER, ret_code TEXT, res_code TEXT, err_code TEXT, duration_ms INTEGER
);
CREATE INDEX IF NOT EXISTS log_by_order ON request_log (endpoint, mch_id, mch_order_no);
CREATE INDEX IF NOT EXISTS log_by_pay_order ON request_log (endpoint, mch_id, pay_order_id);
CREATE TABLE IF NOT EXISTS order_times (
    mch_id TEXT NOT NULL, mch_order_no TEXT NOT NULL,
    received_at REAL, paid_at REAL, answered_at REAL,
    PRIMARY KEY (mch_id, mch_order_no)
);
"""

TIME_COLUMNS = {"receivedAt": "received_at", "paidAt": "paid_at", "answeredAt": "answered_at"}


@dataclass
class OrderRow:
    """One create_order that was accepted (a refused duplicate or busy call leaves none)."""

    pay_order_id: str
    mch_id: str
    mch_order_no: str
    channel_id: str
    currency: str
    amount: int
    tip: int
    client_ip: str
    device: str
    notify_url: str
    subject: str
    body: str
    request_extra: str
    job_no: str
    remarks: str
    source: str
    outcome: str
    final_status: int
    final_extra: str
    channel_order_no: str
    created_ms: int
    resolve_ms: int
    refundable: int

    def status_at(self, now_ms: int) -> int:
        """1 (paying) until the order resolves, then its final status."""
        return 1 if now_ms < self.resolve_ms else self.final_status

    def extra_at(self, now_ms: int) -> str:
        """Card data once resolved; the merchant's own ``extra`` while the cardholder acts."""
        return self.request_extra if self.status_at(now_ms) == 1 else self.final_extra

    def refundable_at(self, now_ms: int) -> int:
        return self.refundable if self.status_at(now_ms) in (2, 3) else 0


@dataclass
class RefundRow:
    refund_order_id: str
    mch_id: str
    mch_refund_no: str
    pay_order_id: str
    refund_amount: int
    currency: str
    client_ip: str
    device: str
    login_name: str
    created_ms: int
    refundable_after: int


ORDER_COLUMNS = ", ".join(f.name for f in fields(OrderRow))
REFUND_COLUMNS = ", ".join(f.name for f in fields(RefundRow))


class Store:
    """Thread-safe access to the sandbox's SQLite file (or ``:memory:``)."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # ---- request log -------------------------------------------------------------------------------
    def log_request(self, *, at_ms: int, endpoint: str, mch_id: str | None, mch_order_no: str | None,
                    pay_order_id: str | None, mch_refund_no: str | None) -> int:
        """Record a request on arrival (so create_calls counts calls still waiting on the cardholder)."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO request_log (at_ms, endpoint, mch_id, mch_order_no, pay_order_id, mch_refund_no)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (at_ms, endpoint, mch_id, mch_order_no, pay_order_id, mch_refund_no),
            )
            return int(cur.lastrowid or 0)

    def log_result(self, log_id: int, *, http_status: int | None, ret_code: str | None, res_code: str | None,
                   err_code: str | None, duration_ms: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE request_log SET http_status=?, ret_code=?, res_code=?, err_code=?, duration_ms=?"
                " WHERE id=?",
                (http_status, ret_code, res_code, err_code, duration_ms, log_id),
            )

    def request_counts(self) -> dict[str, int]:
        rows = self._all("SELECT endpoint, COUNT(*) AS n FROM request_log GROUP BY endpoint")
        return {row["endpoint"]: row["n"] for row in rows}

    def call_counts(self, order: OrderRow | None, mch_id: str, mch_order_no: str) -> tuple[int, int]:
        """(create_calls, query_calls) received for one merchant order, answered or not."""
        rows = self._all(
            "SELECT endpoint, COUNT(*) AS n FROM request_log WHERE mch_id=? AND ("
            " (endpoint='create_order' AND mch_order_no=?)"
            " OR (endpoint='query_order' AND (mch_order_no=? OR pay_order_id=?))) GROUP BY endpoint",
            (mch_id, mch_order_no, mch_order_no, order.pay_order_id if order else "\0"),
        )
        counts = {row["endpoint"]: row["n"] for row in rows}
        return counts.get("create_order", 0), counts.get("query_order", 0)

    # ---- orders ------------------------------------------------------------------------------------
    def insert_order(self, order: OrderRow) -> bool:
        """False when the merchant already used this mchOrderNo (the existing order is left as it is)."""
        marks = ", ".join("?" * len(fields(OrderRow)))
        with self._lock:
            try:
                self._db.execute(f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES ({marks})", astuple(order))  # noqa: S608
            except sqlite3.IntegrityError as exc:
                if "mch_order_no" in str(exc):
                    return False
                raise
        return True

    def _order(self, where: str, args: tuple[Any, ...]) -> OrderRow | None:
        rows = self._all(f"SELECT {ORDER_COLUMNS} FROM orders WHERE {where}", args)  # noqa: S608
        return OrderRow(*rows[0]) if rows else None

    def order_by_mch_order_no(self, mch_id: str, mch_order_no: str) -> OrderRow | None:
        return self._order("mch_id=? AND mch_order_no=?", (mch_id, mch_order_no))

    def order_by_pay_order_id(self, mch_id: str, pay_order_id: str) -> OrderRow | None:
        return self._order("mch_id=? AND pay_order_id=?", (mch_id, pay_order_id))

    def pay_order_id_taken(self, pay_order_id: str) -> bool:
        return bool(self._all("SELECT 1 FROM orders WHERE pay_order_id=?", (pay_order_id,)))

    def orders(self, mch_id: str | None) -> list[OrderRow]:
        where, args = ("WHERE mch_id=?", (mch_id,)) if mch_id else ("", ())
        rows = self._all(f"SELECT {ORDER_COLUMNS} FROM orders {where} ORDER BY rowid", args)  # noqa: S608
        return [OrderRow(*row) for row in rows]

    def resolve_order(self, pay_order_id: str, *, final_status: int, final_extra: str, channel_order_no: str,
                      resolve_ms: int) -> None:
        """Fix the outcome of an order decided by a person on the terminal page (cents 99)."""
        with self._lock:
            self._db.execute(
                "UPDATE orders SET final_status=?, final_extra=?, channel_order_no=?, resolve_ms=?"
                " WHERE pay_order_id=?",
                (final_status, final_extra, channel_order_no, resolve_ms, pay_order_id),
            )

    def devices(self) -> list[str]:
        return [row["device"] for row in self._all("SELECT DISTINCT device FROM orders ORDER BY device")]

    def create_counts_by_order(self, mch_id: str | None) -> dict[tuple[str, str], int]:
        where, args = ("AND mch_id=?", (mch_id,)) if mch_id else ("", ())
        sql = f"SELECT mch_id, mch_order_no, COUNT(*) AS n FROM request_log WHERE endpoint='create_order' AND mch_order_no IS NOT NULL {where} GROUP BY mch_id, mch_order_no"  # noqa: S608
        rows = self._all(sql, args)
        return {(row["mch_id"], row["mch_order_no"]): row["n"] for row in rows}

    def query_counts_by_order(self, mch_id: str | None) -> dict[tuple[str, str], int]:
        """Query calls per (mchId, payOrderId), whether the caller named the order by either id."""
        where, args = ("AND l.mch_id=?", (mch_id,)) if mch_id else ("", ())
        join = ("JOIN orders o ON o.mch_id = l.mch_id"
                " AND (o.pay_order_id = l.pay_order_id OR o.mch_order_no = l.mch_order_no)")
        sql = f"SELECT o.mch_id, o.pay_order_id, COUNT(*) AS n FROM request_log l {join} WHERE l.endpoint='query_order' {where} GROUP BY o.mch_id, o.pay_order_id"  # noqa: S608
        rows = self._all(sql, args)
        return {(row["mch_id"], row["pay_order_id"]): row["n"] for row in rows}

    # ---- timestamps (benchmarks) -------------------------------------------------------------------
    def note_time(self, mch_id: str, mch_order_no: str, name: str, at: float) -> None:
        """Record one moment of an order's life, epoch seconds: receivedAt (create_order arrived), paidAt
        (the order became final at the gateway: the end of the think time, or the press) or answeredAt
        (the create_order answer handed to the HTTP server to be written)."""
        column = TIME_COLUMNS[name]
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO order_times (mch_id, mch_order_no) VALUES (?, ?)",
                             (mch_id, mch_order_no))
            self._db.execute(f"UPDATE order_times SET {column}=? WHERE mch_id=? AND mch_order_no=?",  # noqa: S608
                             (at, mch_id, mch_order_no))

    def order_times(self, mch_id: str, mch_order_no: str) -> dict[str, float | None]:
        rows = self._all("SELECT received_at, paid_at, answered_at FROM order_times WHERE mch_id=? AND mch_order_no=?",
                         (mch_id, mch_order_no))
        return order_times_view(rows[0] if rows else None)

    # ---- refunds -----------------------------------------------------------------------------------
    def refunds_for(self, pay_order_ids: list[str]) -> dict[str, list[RefundRow]]:
        found: dict[str, list[RefundRow]] = {pid: [] for pid in pay_order_ids}
        if not pay_order_ids:
            return found
        if len(pay_order_ids) <= 500:
            marks = ", ".join("?" * len(pay_order_ids))
            rows = self._all(f"SELECT {REFUND_COLUMNS} FROM refund_orders WHERE pay_order_id IN ({marks})"  # noqa: S608
                             " ORDER BY rowid", tuple(pay_order_ids))
        else:
            rows = self._all(f"SELECT {REFUND_COLUMNS} FROM refund_orders ORDER BY rowid")  # noqa: S608
        for row in rows:
            refund = RefundRow(*row)
            if refund.pay_order_id in found:
                found[refund.pay_order_id].append(refund)
        return found

    def apply_refund(self, refund: RefundRow) -> tuple[str, RefundRow | None]:
        """Record a refund and lower the order's refundable in one transaction: ("created", row), or
        ("exceeds", None) when the order has less left to refund.

        A mchRefundNo already used refunds again: nothing public says IOTPay returns the first refund
        instead (docs/iotpay.md, "refund_order"), so the sandbox does the worst a gateway could do.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                left = self._db.execute("SELECT refundable FROM orders WHERE pay_order_id=?",
                                        (refund.pay_order_id,)).fetchone()
                if left is None or refund.refund_amount > left[0]:
                    self._db.execute("COMMIT")
                    return "exceeds", None
                refund.refundable_after = left[0] - refund.refund_amount
                marks = ", ".join("?" * len(fields(RefundRow)))
                self._db.execute(f"INSERT INTO refund_orders ({REFUND_COLUMNS}) VALUES ({marks})",  # noqa: S608
                                 astuple(refund))
                self._db.execute("UPDATE orders SET refundable=? WHERE pay_order_id=?",
                                 (refund.refundable_after, refund.pay_order_id))
                self._db.execute("COMMIT")
                return "created", refund
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def refund_calls(self, mch_id: str, pay_order_id: str) -> int:
        """refund_order requests received for one paid order, answered or not."""
        rows = self._all("SELECT COUNT(*) FROM request_log WHERE endpoint='refund_order' AND mch_id=? AND"
                         " pay_order_id=?", (mch_id, pay_order_id))
        return int(rows[0][0])


def order_times_view(row: sqlite3.Row | tuple[Any, ...] | None) -> dict[str, float | None]:
    """{receivedAt, paidAt, answeredAt} (epoch seconds, None when that moment has not happened)."""
    values = tuple(row) if row is not None else (None, None, None)
    return dict(zip(TIME_COLUMNS, values, strict=True))


def read_order_times(path: str, mch_id: str) -> dict[str, dict[str, float | None]]:
    """Every order's timestamps by mchOrderNo, read from a running sandbox's data file (read-only)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute("SELECT mch_order_no, received_at, paid_at, answered_at FROM order_times WHERE mch_id=?",
                          (mch_id,)).fetchall()
    finally:
        db.close()
    return {row[0]: order_times_view(row[1:]) for row in rows}
