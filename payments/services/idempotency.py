"""An Idempotency-Key replays the request it first came with, and only that one (as Stripe's API does)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


class IdempotencyConflict(Exception):
    """The key was first used with another request; ``original`` is what that request created."""

    def __init__(self, original: Any) -> None:
        super().__init__("this Idempotency-Key was already used with a different request")
        self.original = original


def fingerprint(**fields: Any) -> str:
    """A digest of what a request asks for (no secret among ``fields``: it is stored)."""
    text = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def check_replay(existing: Any, requested: str) -> None:
    """Raise ``IdempotencyConflict`` when a replay asks for something else than the first request."""
    if requested and existing.idempotency_fingerprint and existing.idempotency_fingerprint != requested:
        raise IdempotencyConflict(existing)
