"""What a console process holds in memory: the merchant key's encryption key derived once however many threads
ask for it first (payments/crypto.py), checked in a fresh interpreter where nothing is derived yet. That no
process loads the Sentry SDK without a DSN is checked beside the error reports (tests/unit/test_error_reports.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from payments import crypto
from tests.processes import ROOT

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
