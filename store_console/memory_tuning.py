"""Bounds glibc's malloc arenas in the console's processes.

glibc gives threads that allocate at the same time arenas of their own, up to eight per core, and memory
freed in an arena mostly stays with the process. The gateway worker runs a thread per waiting cardholder
(1,100 in the capacity benchmark): with 1,000 calls open it peaked at 337 MiB resident with glibc's default
and at 250 MiB with two arenas, at the same speed (docs/performance.md, "Memory with 1,000 calls open").
Python allocates its small objects from its own pools under the GIL; the arenas serve the larger buffers of
sockets and PostgreSQL's results, for which two are enough.

An operator's own `MALLOC_ARENA_MAX` (glibc reads it when the process starts) is left as it is.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads that start from now on; False where that is not glibc's to do
    (another C library) or the environment already sets it. Call at start, before the process's pools."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library Python itself runs on
    except (OSError, AttributeError):  # one without mallopt (musl)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = bool(mallopt(_M_ARENA_MAX, arenas))
    log.debug("malloc arenas limited to %d: %s", arenas, done)
    return done
