"""The console's processes cap glibc's malloc arenas (store_console/memory_tuning.py) and load no Sentry SDK
unless a DSN is set (store_console/error_reports.py): the two changes that keep the waiting gateway worker's
memory down. Each check runs in a fresh interpreter, where glibc's arenas and Python's modules start empty."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from payments import crypto
from tests.processes import ROOT

# Eight threads alive at once, each allocating from C: glibc gives each its own arena unless capped (its
# default cap is eight per core). malloc_stats() writes one "Arena n:" block per arena to stderr.
ARENAS = """
import ctypes, ctypes.util, os, threading
{setup}
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
together = threading.Barrier(9)
def allocate():
    together.wait()
    kept = [libc.malloc(512) for _ in range(64)]
    together.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
together.wait()
together.wait()
libc.malloc_stats()
"""

WORKER = """
from celery.signals import celeryd_init
from store_console.celery import app
celeryd_init.send(sender="gateway@test", instance=None, conf=app.conf, options={})
"""


def arenas(setup: str, **env: str) -> int:
    done = subprocess.run([sys.executable, "-c", ARENAS.format(setup=setup)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**{k: v for k, v in os.environ.items()
                                                        if k not in ("MALLOC_ARENA_MAX", "SENTRY_DSN")}, **env})
    assert done.returncode == 0, done.stderr
    return done.stderr.count("Arena ")


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's arenas")


def test_threads_get_an_arena_each_without_the_cap():
    assert arenas("") >= 8  # what the cap is for: the measurement below can tell the two apart


def test_a_worker_caps_its_arenas_when_it_starts():
    assert arenas(WORKER) <= 2


def test_daphne_caps_its_arenas_when_it_loads_the_application():
    assert arenas("import store_console.asgi") <= 2


def test_an_operators_own_setting_is_left_to_glibc():
    assert arenas(WORKER, MALLOC_ARENA_MAX="4") == 4


def test_no_process_loads_sentry_without_a_dsn():
    script = WORKER + "import store_console.asgi, sys\nprint(sorted(m for m in sys.modules if m.startswith('sentry')))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "SENTRY_DSN"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


# The first payments of a burst reach a fresh worker together, and each decrypts its merchant's key. The key's
# derivation (scrypt, 16 MiB of memory and ~50 ms) must run once per process, not once per thread that asks
# before the first has finished: measured before this was fixed, 20-odd threads took 250 MiB at once.
FIRST_DECRYPTS = """
import os, resource, threading
import django
django.setup()
from payments import crypto
token = os.environ["TEST_TOKEN"]  # encrypted by the test's process: nothing derived in this one yet
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
together = threading.Barrier(24)
def decrypt():
    together.wait()
    assert crypto.decrypt(token) == "merchant-key"
threads = [threading.Thread(target=decrypt) for _ in range(24)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_burst_of_first_decrypts_derives_the_key_once():
    # The same FIELD_ENCRYPTION_KEYS here and in the child: tests.settings put them in the environment.
    token = crypto.encrypt("merchant-key")
    done = subprocess.run([sys.executable, "-c", FIRST_DECRYPTS], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TEST_TOKEN": token})
    assert done.returncode == 0, done.stderr
    grown_mib = int(done.stdout.strip().splitlines()[-1])
    assert grown_mib < 40, f"the process grew {grown_mib} MiB: the key was derived by several threads at once"
