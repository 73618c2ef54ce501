"""The console's processes, declared once: what `make run`, the tests, the benchmarks and the Procfile start.

Each process is a name, a command whose placeholders each caller fills in, and when it runs. `argv()`
renders a command for one caller (ports, interpreter, concurrency, files, the sandbox's timings);
`procfile()` writes the same table as the repository's `Procfile`, its placeholders read from the
environment the way `make run` reads them. tests/architecture/test_process_table.py keeps the two the same.

Plain Python without Django: the runner imports it before any settings are loaded.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# When a process runs.
ALWAYS = "always"
# Only when the console talks to the sandbox it starts itself (IOTPAY_BASE_URL unset): `make run`'s demo, the
# tests and the benchmarks. Against a real gateway nothing pretends to be one.
EMBEDDED_SANDBOX = "embedded sandbox"
WHEN = {
    ALWAYS: "always",
    EMBEDDED_SANDBOX: "only with the embedded sandbox, i.e. IOTPAY_BASE_URL unset (make run, tests, benchmarks)",
}

# Placeholders a deployment sets through the environment, with their defaults: the runner's Context and
# the Procfile read the same variables.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "port": ("PORT", "8000"),
    # Daphne's address: loopback behind nginx on the same host; 0.0.0.0 in a container (compose.yaml).
    "bind": ("DAPHNE_BIND", "127.0.0.1"),
    "sandbox_port": ("SANDBOX_PORT", "8010"),
    "gateway_concurrency": ("CELERY_GATEWAY_CONCURRENCY", "200"),
    "default_concurrency": ("CELERY_DEFAULT_CONCURRENCY", "8"),
    "webhooks_concurrency": ("CELERY_WEBHOOKS_CONCURRENCY", "16"),
    "log_level": ("LOG_LEVEL", "INFO"),
    "var": ("CONSOLE_VAR_DIR", "var"),
}
SANDBOX_DATA = "iotpay-sandbox.sqlite3"  # under {var} unless a caller names another file
# The sandbox's merchants ("MERCHANT=KEY,..."): by environment, never argv, where `ps` would show the keys.
SANDBOX_MERCHANTS = "IOTPAY_SANDBOX_MERCHANTS"


@dataclass(frozen=True)
class Process:
    name: str  # also the name its output lines and log file carry
    command: tuple[str, ...]  # "{placeholder}" parts are filled in; a "*{placeholder}" part is a list spliced in
    when: str  # ALWAYS or EMBEDDED_SANDBOX
    ready: str | None = None  # text in its output once it is ready
    health: str | None = None  # a path that answers over HTTP once it serves
    health_port: str = "port"  # the placeholder of the port that path answers on
    environment: tuple[str, ...] = ()  # variables it needs that no placeholder carries


def _celery(app: str) -> tuple[str, ...]:
    return ("{python}", "-m", "celery", "-A", app)


_CELERY = _celery("store_console")
# No gossip or mingle: the workers share nothing between them, and both cost start-up time and broker traffic.
_QUIET = ("--without-gossip", "--without-mingle", "--loglevel", "{log_level}")

# Daphne first: honcho and foreman give each process type its own PORT counting up from the base port, so
# the first line gets the base port itself.
TABLE: tuple[Process, ...] = (
    Process("daphne", ("{python}", "-m", "daphne", "-b", "{bind}", "-p", "{port}",
                       "store_console.asgi:application"), ALWAYS, health="/healthz"),
    # The long charge calls wait on a cardholder: a threads pool sized for waiting, not for CPU.
    Process("gateway", (*_CELERY, "worker", "-Q", "gateway", "-P", "threads", "-c", "{gateway_concurrency}",
                        "-n", "{node}@%h", *_QUIET), ALWAYS, ready="ready."),
    Process("default", (*_CELERY, "worker", "-Q", "default", "-P", "threads", "-c", "{default_concurrency}",
                        "-n", "{node}@%h", *_QUIET), ALWAYS, ready="ready."),
    # Webhook POSTs wait on other systems, each bounded by its time-outs: threads, and a queue of their own.
    Process("webhooks", (*_CELERY, "worker", "-Q", "webhooks", "-P", "threads", "-c", "{webhooks_concurrency}",
                         "-n", "{node}@%h", *_QUIET), ALWAYS, ready="ready."),
    # Beat's own app, without Django's apps (store_console/beat.py): it only sends the schedule's tasks.
    Process("beat", (*_celery("store_console.beat"), "beat", "--schedule", "{var}/celerybeat-schedule",
                     "--loglevel", "{log_level}"), ALWAYS, ready="beat: Starting"),
    Process("sandbox", ("{python}", "-m", "iotpay_sandbox", "--host", "127.0.0.1", "--port", "{sandbox_port}",
                        "--data", "{sandbox_data}", "*{sandbox_options}"), EMBEDDED_SANDBOX,
            ready="listening", health="/_sandbox/health", health_port="sandbox_port",
            environment=(SANDBOX_MERCHANTS,)),
)
BY_NAME = {process.name: process for process in TABLE}


def _default(name: str) -> int:
    return int(ENVIRONMENT[name][1])


@dataclass(frozen=True)
class Context:
    """What one caller fills the placeholders with."""

    var: Path  # this run's files: the beat schedule, and the sandbox's data unless sandbox_data says otherwise
    port: int = _default("port")  # Daphne's
    bind: str = ENVIRONMENT["bind"][1]  # Daphne's address
    sandbox_port: int = _default("sandbox_port")
    python: str = sys.executable
    gateway_concurrency: int = _default("gateway_concurrency")
    default_concurrency: int = _default("default_concurrency")
    webhooks_concurrency: int = _default("webhooks_concurrency")
    # Readiness waits read the workers' and beat's INFO lines ("ready.", "beat: Starting").
    log_level: str = ENVIRONMENT["log_level"][1]
    # Appended to the workers' node names: runs sharing a Redis must not share node names.
    node_tag: str = ""
    sandbox_data: Path | None = None
    # The sandbox's timings by option name: {"think_time": 0.3} gives `--think-time 0.3`.
    sandbox_options: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, var: Path, environ: Mapping[str, str] = os.environ, **overrides: Any) -> Context:
        """The placeholders a deployment sets (ENVIRONMENT) as the environment sets them, then `overrides`."""

        def setting(name: str) -> str:
            variable, default = ENVIRONMENT[name]
            return environ.get(variable) or default

        found = cls(var=var, port=int(setting("port")), bind=setting("bind"), sandbox_port=int(setting("sandbox_port")),
                    gateway_concurrency=int(setting("gateway_concurrency")),
                    default_concurrency=int(setting("default_concurrency")),
                    webhooks_concurrency=int(setting("webhooks_concurrency")), log_level=setting("log_level"))
        return replace(found, **overrides)

    def health_url(self, name: str) -> str:
        process = BY_NAME[name]
        if process.health is None:
            raise ValueError(f"{name} answers on no health path")
        return f"http://127.0.0.1:{getattr(self, process.health_port)}{process.health}"


def _fill(command: tuple[str, ...], values: Mapping[str, str | list[str]]) -> list[str]:
    out: list[str] = []
    for part in command:
        if part.startswith("*{") and part.endswith("}"):
            out += values[part[2:-1]]
        else:
            out.append(part.format_map(values))
    return out


def argv(name: str, context: Context, *, instance: int = 1) -> list[str]:
    """The command of process `name` for `context`; `instance` > 1 names a further worker of the same queue."""
    options = [part for option, value in context.sandbox_options.items()
               for part in (f"--{option.replace('_', '-')}", str(value))]
    values: dict[str, str | list[str]] = {
        "python": context.python, "port": str(context.port), "bind": context.bind, "sandbox_port": str(context.sandbox_port),
        "gateway_concurrency": str(context.gateway_concurrency),
        "default_concurrency": str(context.default_concurrency),
        "webhooks_concurrency": str(context.webhooks_concurrency), "log_level": context.log_level,
        "var": str(context.var), "node": f"{name}{instance if instance > 1 else ''}{context.node_tag}",
        "sandbox_data": str(context.sandbox_data or context.var / SANDBOX_DATA), "sandbox_options": options,
    }
    return _fill(BY_NAME[name].command, values)


def selected(*, embedded_sandbox: bool) -> list[Process]:
    """The processes that run, in the table's order."""
    return [process for process in TABLE if process.when == ALWAYS or embedded_sandbox]


# prometheus_client's multiprocess mode: every process writes its metrics under this directory (docs/running.md).
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def fresh_directory(path: Path) -> Path:
    """`path`, empty: a metrics directory must not keep the files of processes of an earlier run."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def embedded_sandbox(environ: Mapping[str, str] = os.environ) -> bool:
    return not environ.get("IOTPAY_BASE_URL")


PROCFILE_HEADER = """\
# The store console's processes for honcho or foreman (`honcho start` in the project's directory, its
# virtualenv active). Written from store_console/processes.py by `python -m store_console.processes`;
# tests/architecture/test_process_table.py fails when the two differ. `make run` starts the same table.
# Settings come from the environment or .env (docs/running.md); run `python manage.py migrate` first.
# With a real gateway (IOTPAY_BASE_URL set) leave the sandbox out: `honcho start daphne gateway default webhooks beat`.
"""


def procfile_command(process: Process) -> str:
    """The process's command as the Procfile's shell runs it: each placeholder its environment variable."""
    values: dict[str, str | list[str]] = {
        name: f"${{{variable}:-{default}}}" for name, (variable, default) in ENVIRONMENT.items()
    }
    var = values["var"]
    values.update(python="python", node=process.name, sandbox_data=f"{var}/{SANDBOX_DATA}", sandbox_options=[])
    return " ".join(_fill(process.command, values))


def procfile() -> str:
    lines = [PROCFILE_HEADER]
    for process in TABLE:
        needs = f"; needs {', '.join(process.environment)}" if process.environment else ""
        lines += [f"# {process.name}: {WHEN[process.when]}{needs}", f"{process.name}: {procfile_command(process)}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(procfile())
