"""Keeps Python's full garbage collections short in the long-running processes.

A Django process holds a few hundred thousand objects made at start-up (modules, models, URL patterns,
templates) that live as long as it does. Python's oldest-generation collection walks all of them each
time it runs: measured in a gateway worker during 500 answers, 50 to 300 ms with every thread stopped,
which is the slowest results' whole delay (docs/performance.md §1). `gc.freeze()` moves what exists once
the process is ready out of the collector's sight; what is made afterwards is collected as before.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_objects() -> None:
    """Collect once, then exempt every object alive now from later collections. Call when the process is
    ready to work, after its imports and before its first request or task."""
    gc.collect()
    gc.freeze()
    log.debug("garbage collector: %d start-up objects frozen", gc.get_freeze_count())
