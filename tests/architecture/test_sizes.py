"""Sizes the project keeps: no module over 400 lines and no function over 60, outside the tests.

A module that grows past 400 lines holds more than one idea; a function past 60 lines holds several steps
that deserve names. Migrations are generated history and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ["store_console", "gateways", "payments", "lanes", "live", "webhooks", "checkout", "backoffice", "iotpay_sandbox",
           "bench", "examples", "manage.py"]
MODULE_LINES, FUNCTION_LINES = 400, 60


def _modules() -> list[Path]:
    found: list[Path] = []
    for top in CHECKED:
        path = ROOT / top
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [p for p in path.rglob("*.py") if "/migrations/" not in p.as_posix()]
    return sorted(found)


def test_the_check_sees_the_code() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _modules()}
    assert {"payments/services/sending.py", "bench/harness.py", "store_console/runner.py"} <= names


def test_no_module_is_over_400_lines() -> None:
    long = {p.relative_to(ROOT).as_posix(): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MODULE_LINES}
    assert not long, f"modules over {MODULE_LINES} lines: {long}"


def test_no_function_is_over_60_lines() -> None:
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, f"functions over {FUNCTION_LINES} lines:\n" + "\n".join(long)
