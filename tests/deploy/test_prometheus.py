"""deploy/prometheus/alerts.yml and the Grafana dashboard: valid for Prometheus's own promtool (Debian's
`prometheus` package; .ci/run installs it), firing when they should (promtool's rule tests), and naming only
metrics the console exposes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import live.consumers
import payments.metrics
import store_console.heartbeats
import webhooks.delivery
from store_console.metrics import SCRAPED
from tests.deploy.test_deploy_files import tool

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "store-console.json"
# What the issue asks to be alerted on, by alert.
EXPECTED_ALERTS = {"ConsoleAttemptUnresolved", "ConsoleAttemptsNeedReview", "ConsoleGatewayErrors",
                   "ConsoleGatewayWorkerDown", "ConsoleWebhookDeliveriesFailing", "ConsoleBeatDown"}
# The modules that define the console's metrics, imported for that.
DEFINING_MODULES = (live.consumers, payments.metrics, store_console.heartbeats, webhooks.delivery)
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    binary = tool("promtool", "apt-get install -y prometheus (.ci/run does it)")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def exposed_names() -> set[str]:
    """Every sample name the console's own metrics have (DEFINING_MODULES registered them on import)."""
    names = set(SCRAPED)
    for family in REGISTRY.collect():
        if family.name.startswith("console_"):
            names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def console_names(text: str) -> set[str]:
    return set(re.findall(r"\bconsole_[a-z_]+\b", text))


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_promtool_checks_the_alert_rules() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    assert {rule["alert"] for rule in rules} == EXPECTED_ALERTS


def test_promtool_rule_tests_fire_each_alert_when_it_should() -> None:
    result = promtool("test", "rules", "alerts.test.yml", cwd=ALERTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alerts_and_dashboard_name_only_metrics_the_console_exposes() -> None:
    exposed = exposed_names()
    assert {"console_payments_total", "console_gateway_request_duration_seconds_bucket",
            "console_websocket_connections", "console_webhook_deliveries_total"} <= exposed
    assert console_names(ALERTS.read_text()) <= exposed
    used = console_names(" ".join(dashboard_exprs()))
    assert used <= exposed
    assert {"console_payments_total", "console_oldest_unresolved_attempt_seconds", "console_attempts_open",
            "console_gateway_request_duration_seconds_bucket"} <= used


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each panel's query as a recording rule's."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query{n}", "expr": expr} for n, expr in enumerate(dashboard_exprs())]}]}
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", str(tmp_path / "dashboard.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
