"""What a receipt is made of: lines in sections, one copy per receipt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from payments.receipts.words import Language

Copy = Literal["merchant", "customer"]
Outcome = Literal["APPROVED", "DECLINED", "NOT_COMPLETED"]
LineKind = Literal["center", "pair", "rule", "signature"]


class ReceiptNotAvailable(Exception):
    """No card receipt: not yet (outcome not final) or never (``permanent``: FAILED)."""

    def __init__(self, reason: str, *, status: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.permanent = permanent


@dataclass(frozen=True)
class Line:
    """One printed line. ``pair``: ``text`` is the label, ``value`` right-aligned (may be blank).

    ``signature``: a line to sign on, ``text`` is its caption. ``rule``: a separator.
    """

    kind: LineKind
    text: str = ""
    value: str = ""
    strong: bool = False


@dataclass(frozen=True)
class Section:
    name: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Receipt:
    attempt_id: int
    copy: Copy
    language: Language
    outcome: Outcome
    copy_label: str
    sections: tuple[Section, ...]
    refund_id: int | None = None
    awaiting_confirmation: bool = False


def center(text: str, *, strong: bool = False) -> Line:
    return Line("center", text=text, strong=strong)


def pair(label: str, value: str, *, strong: bool = False) -> Line:
    return Line("pair", text=label, value=value, strong=strong)
