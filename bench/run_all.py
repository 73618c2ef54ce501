"""Run every benchmark module's main() and print one table of all their figures at the end.

    .venv/bin/python bench/run_all.py            # every module of bench/ (what `make bench` runs)
    .venv/bin/python bench/run_all.py waiting_lanes

A benchmark module is any `bench/<name>.py` (this file aside) with a top-level `main(argv)` that
accepts `--rows-json PATH`; helper modules (harness.py, figures.py, measure.py...) have no main(). Each runs in a
fresh interpreter (`python -m bench.<name>`): every bench loads Django with its own environment and
starts its own processes, which one process could not do twice. They run one after another, never together, so one's load does not skew another's figures.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _has_main(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


# Run last: it writes and then drops a database of hundreds of MB (docs/performance.md), and PostgreSQL's and
# the kernel's writing of it back to disk would still be going on during the next benchmark, slowing its commits.
LAST = ("backoffice_scale",)


def bench_modules() -> list[str]:
    here = Path(__file__).resolve()
    return sorted((p.stem for p in (ROOT / "bench").glob("*.py")
                   if p.resolve() != here and not p.stem.startswith("_") and _has_main(p)),
                  key=lambda name: (name in LAST, name))


def main(argv: list[str] | None = None) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # run as a script, bench/ is on the path, not the project
    figures = importlib.import_module("bench.figures")
    names = (argv if argv is not None else sys.argv[1:]) or bench_modules()
    unknown = sorted(set(names) - set(bench_modules()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; there are: {', '.join(bench_modules())}")
        return 2
    rows, failed = [], []
    with tempfile.TemporaryDirectory(prefix="bench-rows-") as tmp:
        for name in names:
            out = Path(tmp) / f"{name}.json"
            print(f"=== {name}", flush=True)
            started = time.monotonic()
            try:
                code = subprocess.run([sys.executable, "-m", f"bench.{name}", "--rows-json", str(out)],
                                      cwd=ROOT, check=False).returncode
            except KeyboardInterrupt:
                print(f"=== {name}: interrupted")
                return 130
            print(f"=== {name}: exit code {code} after {time.monotonic() - started:.0f} s", flush=True)
            if code != 0:
                failed.append(name)
            if out.exists():
                rows += figures.read_rows(out)
    print()
    print(figures.format_table(rows) if rows else "no figures")
    if failed:
        print(f"\nfailed: {', '.join(failed)} (their output is above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
