"""Virtual PAX terminals: which device is busy, what its screen shows, and the interactive presses.

Kept in memory: a terminal is busy only while a create_order call is being served by this process.
Every method holds the registry lock for a few dictionary operations only; a call waiting on the
cardholder waits on its own session's Event.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("approve", "decline", "cancel")


def money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


@dataclass
class Session:
    """One order in progress on one device."""

    pay_order_id: str
    mch_order_no: str
    total: int
    currency: str
    interactive: bool
    think_time: float
    started: float = field(default_factory=time.monotonic)
    event: threading.Event = field(default_factory=threading.Event)
    choice: str | None = None
    finished: bool = False


@dataclass
class Terminal:
    device: str
    session: Session | None = None
    last_result: str = ""
    last_total: int | None = None


class TerminalRegistry:
    """All devices this process has seen, keyed by the ``device`` field of create_order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._terminals: dict[str, Terminal] = {}

    def _terminal(self, device: str) -> Terminal:
        terminal = self._terminals.get(device)
        if terminal is None:
            terminal = self._terminals[device] = Terminal(device)
        return terminal

    def claim(self, device: str, session: Session) -> bool:
        """Make ``device`` busy with ``session``; False if another order is already on it."""
        with self._lock:
            terminal = self._terminal(device)
            if terminal.session is not None:
                return False
            terminal.session = session
            return True

    def note_seen(self, device: str) -> None:
        with self._lock:
            self._terminal(device)

    def release(self, device: str, session: Session, result: str) -> None:
        """Free ``device`` (if ``session`` still holds it) and show ``result`` (if any) on its screen."""
        with self._lock:
            terminal = self._terminal(device)
            session.finished = True
            if terminal.session is session:
                terminal.session = None
                if result:
                    terminal.last_result = result
                    terminal.last_total = session.total

    def press(self, device: str, action: str) -> bool:
        """A person pressed a button; True when an interactive order was waiting for it."""
        if action not in ACTIONS:
            return False
        with self._lock:
            terminal = self._terminals.get(device)
            session = terminal.session if terminal else None
            if session is None or not session.interactive or session.finished or session.choice is not None:
                return False
            session.choice = action
        session.event.set()
        return True

    def finish_interactive(self, session: Session) -> str | None:
        """Close the window for presses; returns the button pressed, or None (time-out or shutdown)."""
        with self._lock:
            session.finished = True
            return session.choice

    def abort_all(self) -> None:
        """Wake every waiting interactive call (the sandbox is stopping)."""
        with self._lock:
            sessions = [t.session for t in self._terminals.values() if t.session is not None]
        for session in sessions:
            session.event.set()

    def devices(self) -> list[str]:
        with self._lock:
            return sorted(self._terminals)

    def busy_count(self) -> int:
        with self._lock:
            return sum(1 for t in self._terminals.values() if t.session is not None)

    def state(self, device: str) -> dict[str, Any]:
        """What the terminal's screen shows now (served as JSON to the terminal page)."""
        with self._lock:
            terminal = self._terminals.get(device) or Terminal(device)
            session = terminal.session
            state: dict[str, Any] = {
                "device": device, "state": "idle", "display": "Idle", "amount": "", "currency": "",
                "mchOrderNo": "", "payOrderId": "", "interactive": False, "canPress": False,
                "lastResult": terminal.last_result,
            }
            if session is None:
                if terminal.last_result:
                    state.update(state="result", display=terminal.last_result,
                                 amount=money(terminal.last_total or 0))
                return state
            state.update(amount=money(session.total), currency=session.currency,
                         mchOrderNo=session.mch_order_no, payOrderId=session.pay_order_id,
                         interactive=session.interactive)
            elapsed = time.monotonic() - session.started
            waiting = session.choice is None if session.interactive else elapsed < session.think_time * 0.6
            if waiting and not session.finished:
                state.update(state="present_card", display=f"Present card — {money(session.total)}",
                             canPress=session.interactive)
            else:
                state.update(state="processing", display="Processing…")
            return state
