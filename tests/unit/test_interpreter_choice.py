"""Which Python `.venv` is made from (the Makefile), and the benchmarks saying which one they ran on.

The Makefile prefers the system's python3 when it is 3.11+ and can make a venv (on Debian, the statically linked,
optimised build a deployment runs), else the first python3 on PATH; PYTHON given to make always wins.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import measure

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def which_python(*args: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"PYTHON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    done = subprocess.run(["make", "-s", "-C", str(REPO), "which-python", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.strip()


def fake_python(tmp_path: Path, exit_code: int) -> Path:
    """An interpreter whose check (3.11+, can make a venv) answers ``exit_code``."""
    path = tmp_path / f"python-{exit_code}"
    path.write_text(f"#!/bin/sh\nexit {exit_code}\n")
    path.chmod(0o755)
    return path


def test_the_system_python_is_taken_when_it_is_recent_and_can_make_a_venv() -> None:
    assert which_python(f"SYSTEM_PYTHON={sys.executable}") == sys.executable


def test_the_check_decides(tmp_path: Path) -> None:
    assert which_python(f"SYSTEM_PYTHON={fake_python(tmp_path, 0)}") == str(fake_python(tmp_path, 0))
    # Too old, or without ensurepip (Debian without python3-venv): the first python3 on PATH instead.
    assert which_python(f"SYSTEM_PYTHON={fake_python(tmp_path, 1)}") == "python3"


def test_without_a_system_python_the_one_on_path_is_taken() -> None:
    assert which_python("SYSTEM_PYTHON=/nonexistent/python3") == "python3"


def test_python_given_to_make_wins(tmp_path: Path) -> None:
    system = f"SYSTEM_PYTHON={fake_python(tmp_path, 0)}"
    assert which_python(system, "PYTHON=/opt/python3.12/bin/python3") == "/opt/python3.12/bin/python3"
    assert which_python(system, PYTHON="python3.13") == "python3.13"


@pytest.mark.skipif(not Path("/proc/self/maps").exists() or shutil.which("ldd") is None,
                    reason="reads /proc and runs ldd (Linux)")
def test_the_benchmarks_name_the_interpreter_and_how_it_is_linked() -> None:
    summary = measure.interpreter_summary()
    base = getattr(sys, "_base_executable", sys.executable)
    assert summary.startswith(f"Python {sys.version.split()[0]} ({base}, ")
    shared = "libpython" in subprocess.run(["ldd", base], capture_output=True, text=True, check=True).stdout
    assert summary.endswith("from a shared libpython)" if shared else "libpython linked in)")
    assert summary in measure.machine_summary()
