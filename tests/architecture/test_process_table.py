"""The console's processes are declared once, in ``store_console/processes.py``.

The repository's ``Procfile`` is that table written for honcho or foreman, and what starts processes
(`make run`'s runner, the tests' live console, the benchmarks) renders its commands from the table instead
of writing daphne, celery or sandbox command lines of its own.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest

from store_console import processes

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = ROOT / "Procfile"
# What starts the console's processes; each must take its commands from the table.
STARTERS = ["store_console/runner.py", "tests/processes.py", "bench/harness.py"]
# Nowhere here may a command line of the table be written out again.
SCANNED = sorted({*STARTERS, *(p.relative_to(ROOT).as_posix() for p in (ROOT / "bench").rglob("*.py"))})
# Words that only a command line of one of the table's processes would contain.
ARGV_WORDS = {"worker", "store_console.asgi:application", "--without-gossip", "--without-mingle",
              "--schedule", "-Q", "--think-time", "--late-delay", "--hang-time", "--interactive-timeout",
              "--outage-time"}
PROGRAMS = {"daphne", "celery", "iotpay_sandbox"}  # as `python -m <program>`
# A benchmark that runs another application than the console (bench.floor, the architecture's skeleton) writes that
# application's command lines: each must name it, and none may name the console's.
OTHER_APPLICATIONS = {"bench/floor/run.py": "bench.floor"}
PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")  # honcho's and foreman's


def _procfile_entries(text: str) -> dict[str, str]:
    return {m[1]: m[2] for line in text.splitlines() if (m := PROCFILE_LINE.match(line))}


def test_the_procfile_is_the_table() -> None:
    entries = _procfile_entries(PROCFILE.read_text())
    table = {p.name: processes.procfile_command(p) for p in processes.TABLE}
    assert entries == table, "the Procfile and store_console/processes.py differ"
    assert PROCFILE.read_text() == processes.procfile(), (
        "the Procfile is not what store_console/processes.py writes: "
        "`.venv/bin/python -m store_console.processes > Procfile`"
    )


def test_the_table_says_when_each_process_runs() -> None:
    assert {p.when for p in processes.TABLE} <= set(processes.WHEN)
    always = [p.name for p in processes.selected(embedded_sandbox=False)]
    assert always == ["daphne", "gateway", "default", "webhooks", "beat"]
    assert [p.name for p in processes.selected(embedded_sandbox=True)] == [*always, "sandbox"]
    assert processes.embedded_sandbox({}) and not processes.embedded_sandbox({"IOTPAY_BASE_URL": "https://x/v1"})
    for process in processes.TABLE:
        # The Procfile's shell splits on spaces and must see each placeholder whole.
        assert not any(" " in part for part in process.command), process.name


def test_rendering_fills_every_placeholder() -> None:
    context = processes.Context(var=Path("/run"), port=9001, sandbox_port=9002, python="/py", gateway_concurrency=7,
                                node_tag="-42", sandbox_options={"think_time": 0.5})
    for process in processes.TABLE:
        argv = processes.argv(process.name, context)
        assert argv[0] == "/py" and not any("{" in part for part in argv), argv
    gateway = processes.argv("gateway", context)
    assert gateway[gateway.index("-c") + 1] == "7" and gateway[gateway.index("-n") + 1] == "gateway-42@%h"
    assert "gateway2-42@%h" in processes.argv("gateway", context, instance=2)
    assert processes.argv("sandbox", context)[-4:] == ["--data", "/run/iotpay-sandbox.sqlite3", "--think-time", "0.5"]
    assert "/run/celerybeat-schedule" in processes.argv("beat", context)
    assert context.health_url("daphne") == "http://127.0.0.1:9001/healthz"
    assert context.health_url("sandbox") == "http://127.0.0.1:9002/_sandbox/health"


def test_the_environment_sets_what_make_run_reads() -> None:
    context = processes.Context.from_environ(Path("/v"), {"PORT": "8100", "CELERY_GATEWAY_CONCURRENCY": "20",
                                                           "CELERY_WEBHOOKS_CONCURRENCY": "3",
                                                           "LOG_LEVEL": "DEBUG"}, sandbox_port=8110)
    assert (context.port, context.sandbox_port, context.gateway_concurrency, context.default_concurrency,
            context.webhooks_concurrency, context.log_level) == (8100, 8110, 20, 8, 3, "DEBUG")
    webhooks = processes.argv("webhooks", context)
    assert webhooks[webhooks.index("-Q") + 1] == "webhooks" and webhooks[webhooks.index("-c") + 1] == "3"
    assert context.bind == "127.0.0.1"  # Daphne on loopback unless DAPHNE_BIND says otherwise (a container)
    daphne = processes.argv("daphne", processes.Context.from_environ(Path("/v"), {"DAPHNE_BIND": "0.0.0.0"}))
    assert daphne[daphne.index("-b") + 1] == "0.0.0.0"


def _imports_the_table(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
            node.module == "store_console.processes"
            or (node.module == "store_console" and any(a.name == "processes" for a in node.names))
        ):
            return True
        if isinstance(node, ast.Import) and any(a.name == "store_console.processes" for a in node.names):
            return True
    return False


def _command_lines(tree: ast.Module) -> list[str]:
    """List and tuple displays that look like a command line of one of the table's processes."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.List, ast.Tuple)):
            continue
        words = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        after_m = {b for a, b in itertools.pairwise(words) if a == "-m"}
        if after_m & PROGRAMS or (ARGV_WORDS & set(words) and len(words) > 1):
            found.append(f"line {node.lineno}: {words}")
    return found


def _not_only_of(application: str, found: list[str]) -> list[str]:
    """The command lines among ``found`` that are not another application's alone: each must name ``application``
    and none may name the console's."""
    return [line for line in found if application not in line or "store_console" in line]


@pytest.mark.parametrize("path", STARTERS)
def test_starters_take_their_commands_from_the_table(path: str) -> None:
    assert _imports_the_table(ast.parse((ROOT / path).read_text())), f"{path} does not use store_console.processes"


@pytest.mark.parametrize("path", SCANNED)
def test_no_command_line_of_the_table_is_written_again(path: str) -> None:
    found = _command_lines(ast.parse((ROOT / path).read_text()))
    if path in OTHER_APPLICATIONS:
        found = _not_only_of(OTHER_APPLICATIONS[path], found)
    assert not found, f"{path} writes a command line of its own; render it with store_console.processes: {found}"


def test_another_application_s_command_lines_must_name_it() -> None:
    assert {"bench/architecture_floor.py", "bench/floor/run.py"} <= set(SCANNED)
    console = ast.parse('argv = [sys.executable, "-m", "celery", "-A", "store_console", "worker", "-Q", "gateway"]\n'
                        'floor = [py, "-m", "celery", "-A", "bench.floor.celery", "worker", "-Q", "floor"]\n')
    found = _command_lines(console)
    assert len(found) == 2
    assert _not_only_of("bench.floor", found) == found[:1]


def test_the_scan_finds_a_written_out_command() -> None:
    written = ast.parse('argv = [sys.executable, "-m", "celery", "-A", "store_console", "worker", "-Q", "default"]\n'
                        'other = [py, "-m", "daphne", "-p", "8000"]\n')
    assert len(_command_lines(written)) == 2
    assert _command_lines(ast.parse('names = ("daphne", "gateway", "default", "beat")\n')) == []
