"""A receipt as 42-column plain text for ESC/POS printers."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from payments.receipts.model import Line, Receipt

# ESC/POS printers obey ESC (1B) and GS (1D) sequences, and any control character is a risk: none reaches
# the printer, whatever the gateway sent (it is cleaned when received; this is the last guard).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def _text_lines(line: Line, width: int) -> list[str]:
    if line.kind == "rule":
        return ["-" * width]
    if line.kind == "signature":
        return ["", "", "X" + "_" * (width - 2), line.text.center(width).rstrip()]
    if line.kind == "pair":
        label, value = line.text, line.value
        if not value:
            return _wrap(label, width)
        if len(label) + 1 + len(value) <= width:
            return [label + " " * (width - len(label) - len(value)) + value]
        return _wrap(label, width) + [part.rjust(width) for part in _wrap(value, width)]
    text = line.text
    if len(text) > width and " — " in text:
        # "IMPORTANT — retain this copy…": break after the dash rather than mid-sentence.
        head, tail = text.split(" — ", 1)
        parts = _wrap(head + " —", width) + _wrap(tail, width)
    else:
        parts = _wrap(text, width)
    return [part.center(width).rstrip() for part in parts]


def render_text(receipt: Receipt, width: int = 42) -> str:
    """Plain text for an ESC/POS printer: ``width`` columns, sections separated by a blank line."""
    if width < 20:
        raise ValueError("a receipt needs at least 20 columns")
    blocks = ["\n".join(row for line in section.lines for row in _text_lines(line, width))
              for section in receipt.sections]
    return _CONTROL.sub("", "\n\n".join(blocks)) + "\n"


def render_texts(receipts: Sequence[Receipt], width: int = 42) -> str:
    """Several copies, one after the other, with a dashed cut line between them."""
    cut = "\n\n" + ("- " * (width // 2)).rstrip() + "\n\n\n"
    return cut.join(render_text(receipt, width) for receipt in receipts)
