"""No comment, docstring or document points to a path outside the repository: a reader of a clone has only
the clone. (The team's shared notes live in the repository as docs/iotpay.md.)"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"/work/(?!main\b)|\.\./shared\b|\bIOTPAY\.md\b|shared/STYLE\.md|shared/SERVICES\.md")
SUFFIXES = {".py", ".md", ".html", ".js", ".css", ".toml", ".yml", ".yaml", ".conf", ".service", ""}
SKIP = {".git", ".venv", "node_modules", "var", "test-artifacts", "__pycache__", ".mypy_cache", ".ruff_cache",
        ".hypothesis", ".pytest_cache"}  # caches the tools write, not the repository's files


def _files() -> list[Path]:
    return [p for p in ROOT.rglob("*") if p.is_file() and p.suffix in SUFFIXES
            and not SKIP & set(p.relative_to(ROOT).parts) and p.stat().st_size < 2_000_000]


def test_nothing_points_outside_the_repository() -> None:
    found = []
    for path in _files():
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not found, "paths outside the repository:\n" + "\n".join(found)
