"""IOTPay's words stay inside its gateway package (``gateways/iotpay/``).

Everything else (payments, the back office, receipts, pages, scripts) speaks the neutral words of
``gateways.base``; a second provider then has a place to go. Scanned: every Python module, template and
script of the console. Not scanned: ``gateways/iotpay/`` itself, the sandbox (a stand-in for IOTPay's HTTP
API), migrations (history), and tests and benchmarks (they drive the sandbox on IOTPay's wire). A few files
may say some of the words, each for a reason written beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ["payments", "lanes", "live", "webhooks", "integrations", "checkout", "backoffice", "store_console",
           "gateways", "templates", "static/js", "manage.py"]
NOT_SCANNED = ["gateways/iotpay", "iotpay_sandbox", "/migrations/", "__pycache__"]

# IOTPay's fields (as sent, and as our columns were once named after them), endpoints, client classes, and its
# name. Environment variables (IOTPAY_*) are deployments' contracts and are matched separately.
IOTPAY_WORDS = re.compile(
    r"\b(?:mch_?order_?no|pay_?order_?id|pay_?order|mch_?refund_?no|refund_?order_?id|receipt_?disp|mch_?id|"
    r"job_?no|pay_?succ_?time|ret_?code|res_?code|err_?code|CC_PAX|create_order|query_order|refund_order|"
    r"gateway_status|IOTPayClient|IOTPayGateway|PayOrder|CreateOrderResult|QueryOrderResult|RefundOrderResult|"
    r"GatewayRefused|OrderNotFound|OutcomeUnknown|card_from_extra|CardData)\b"
    r"|(?-i:IOTPay|iotpay(?!\.md)|IOTPAY(?!_[A-Z]))",  # docs/iotpay.md is the project's own page on it
    re.IGNORECASE,
)
ENV_NAMES = re.compile(r"\bIOTPAY_[A-Z_]+\b")
IMPORTS = re.compile(r"^\s*(?:from|import)\s+(?:gateways\.iotpay|iotpay_sandbox)\b", re.MULTILINE)

# file -> (words it may say, why)
ALLOWED: dict[str, tuple[re.Pattern[str], str]] = {
    "payments/gateways.py": (re.compile(r".*", re.S), "the registry: the one place a gateway package is chosen"),
    "payments/contract.py": (re.compile(r"mch_order_no|pay_order_id|receipt_disp|mch_refund_no|refund_order_id|"
                                        r"IOTPay|iotpay"),
                             "the API's and the export's old key names, kept as contracts"),
    "payments/models.py": (re.compile(r"iotpay", re.I), "the merchant's choice of gateway"),
    "payments/management/commands/setup_store.py": (re.compile(r"IOTPay|mchId|jobNo|job_no"),
                                                     "its flags were named after IOTPay's fields; the help says so"),
    "store_console/runner.py": (re.compile(r"IOTPay|iotpay(_sandbox)?"), "`make run` starts the sandbox as the demo's gateway"),
    "store_console/processes.py": (re.compile(r"IOTPay|iotpay(_sandbox)?"),
                                   "the process table starts the sandbox in development and tests"),
    "store_console/settings.py": (re.compile(r"IOTPAY"), "the environment's names, a contract of deployments"),
}
# store_console/doctor.py: `make doctor` checks the gateway the environment names, before any settings load.
ENV_ALLOWED = {"store_console/settings.py", "store_console/runner.py", "store_console/processes.py",
               "store_console/doctor.py", "payments/gateways.py", "payments/management/commands/setup_store.py"}


def _files() -> list[Path]:
    found = []
    for top in SCANNED:
        base = ROOT / top
        paths = [base] if base.is_file() else [p for p in base.rglob("*") if p.suffix in (".py", ".html", ".js")]
        found += [p for p in paths if not any(skip in p.as_posix() for skip in NOT_SCANNED)]
    return sorted(found)


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_scan_sees_the_console() -> None:
    names = {_name(p) for p in _files()}
    assert {"payments/services/sending.py", "templates/backoffice/payment_detail.html", "static/js/checkout.js",
            "gateways/base.py", "store_console/settings.py"} <= names
    assert not any(n.startswith("gateways/iotpay/") for n in names)


@pytest.mark.parametrize("path", _files(), ids=_name)
def test_no_iotpay_words_outside_its_package(path: Path) -> None:
    name = _name(path)
    text = path.read_text(encoding="utf-8")
    allowed, _why = ALLOWED.get(name, (None, ""))
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in IOTPAY_WORDS.finditer(line):
            if allowed is None or not allowed.fullmatch(match.group()):
                found.append(f"{name}:{number}: {match.group()!r} in {line.strip()[:100]!r}")
        if name not in ENV_ALLOWED:
            found += [f"{name}:{number}: {m.group()} (read it in settings)" for m in ENV_NAMES.finditer(line)]
    if name != "payments/gateways.py":
        found += [f"{name}: imports {m.group().strip()}" for m in IMPORTS.finditer(text)]
    assert not found, "IOTPay's words outside gateways/iotpay/ (use gateways.base's):\n" + "\n".join(found)


def test_the_check_catches_a_word(tmp_path: Path) -> None:
    """The pattern finds what it is for: a field, an endpoint, a class, the name, an import."""
    for text in ("attempt.mch_order_no", "order['payOrderId']", "client.query_order(x)", "PayOrder(", "IOTPay's",
                 "from gateways.iotpay import X"):
        assert IOTPAY_WORDS.search(text) or IMPORTS.search(text), text
    for text in ("attempt.order_reference", "IOTPAY_BASE_URL", "gateway.lookup(ref)"):
        assert not IOTPAY_WORDS.search(text), text
