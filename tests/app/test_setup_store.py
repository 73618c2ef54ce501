"""`manage.py setup_store` sets a store up once and changes nothing the second time."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lanes.models import Lane, Store, Terminal
from payments.models import Merchant

pytestmark = pytest.mark.django_db

ARGS = ["--merchant-id", "10000999", "--merchant-key", "k-" + "x" * 20, "--job-no", "storejob",
        "--store-name", "Corner Store", "--lane", "1=PAX-1", "--lane", "2=PAX-2",
        "--cashier", "ana", "--password", "a-long-pass-123"]


def run(*args):
    out = io.StringIO()
    call_command("setup_store", *args, stdout=out)
    return out.getvalue()


def test_creates_then_changes_nothing_the_second_time():
    first = run(*ARGS)
    assert "Created merchant 10000999" in first
    merchant = Merchant.objects.get(gateway_account="10000999")
    ciphertext = merchant.key_ciphertext
    assert "k-" + "x" * 20 not in ciphertext and "xxxxxxxx" not in ciphertext  # base64 may hold "k-" by chance
    assert merchant.get_key() == "k-" + "x" * 20
    assert Lane.objects.count() == 2
    assert set(Terminal.objects.values_list("device", flat=True)) == {"PAX-1", "PAX-2"}
    assert set(Lane.objects.get(code="1").cashiers.values_list("username", flat=True)) == {"ana"}
    snapshot = [(m.pk, m.updated_at) for m in Merchant.objects.all()] + [(s.pk, s.name) for s in Store.objects.all()]

    second = run(*ARGS)

    assert "Nothing to change" in second
    assert Merchant.objects.get(gateway_account="10000999").key_ciphertext == ciphertext
    assert [(m.pk, m.updated_at) for m in Merchant.objects.all()] + [
        (s.pk, s.name) for s in Store.objects.all()] == snapshot


def test_a_changed_device_is_updated():
    run(*ARGS)
    out = run(*[a if a != "2=PAX-2" else "2=PAX-9" for a in ARGS])
    assert "terminal of lane 2" in out
    assert Lane.objects.get(code="2").terminal.device == "PAX-9"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["--lane", "nodevice"], "CODE=DEVICE"),
        (["--lane", "a b=PAX"], "letters, digits"),
        (["--lane", "1=PAX-1", "--lane", "1=PAX-3"], "once"),
        (["--merchant-id", "x" * 31], "at most 30"),
        (["--time-zone", "Mars/Base"], "time zone"),
        (["--cashier", "bob"], "need a password"),
        (["--staff", "sam=owner"], "NAME=supervisor or NAME=manager"),
        (["--cashier", "bob", "--password", "12345678"], "entirely numeric"),
    ],
)
def test_bad_flags_get_a_clear_error_and_exit_code_2(bad, message):
    base = ["--merchant-id", "10000999", "--merchant-key", "k", "--job-no", "j", "--store-name", "S"]
    args = base + bad
    for i in range(0, len(bad), 2):  # a flag given in `bad` replaces the base one
        if bad[i] in base and bad[i] != "--lane":
            j = base.index(bad[i])
            args = base[:j] + base[j + 2:] + bad
    with pytest.raises(CommandError) as error:
        run(*args)
    assert message in str(error.value)
    assert error.value.returncode == 2
    assert Merchant.objects.count() == 0


def test_staff_get_their_role_in_this_store_only(monkeypatch):
    from lanes.models import StoreMembership

    run(*ARGS, "--staff", "sam=supervisor", "--staff", "meg=manager")
    other = ["--merchant-id", "10000999", "--merchant-key", "k-" + "x" * 20, "--job-no", "storejob",
             "--store-name", "Other Store", "--staff", "meg=supervisor", "--password", "a-long-pass-123"]
    run(*other)
    roles = {(m.user.username, m.store.name): m.role for m in StoreMembership.objects.select_related("user", "store")}
    assert roles == {("ana", "Corner Store"): "cashier", ("sam", "Corner Store"): "supervisor",
                     ("meg", "Corner Store"): "manager", ("meg", "Other Store"): "supervisor"}
    users = {m.user.username: m.user for m in StoreMembership.objects.select_related("user")}
    assert users["sam"].check_password("a-long-pass-123") and users["meg"].check_password("a-long-pass-123")
    assert not users["sam"].is_staff and not users["sam"].is_superuser  # a store role, not the admin
    assert "Nothing to change" in run(*ARGS, "--staff", "sam=supervisor", "--staff", "meg=manager")
    assert "Changed sam's role in Corner Store to manager" in run(*ARGS, "--staff", "sam=manager")


def test_the_password_may_come_from_the_environment_or_standard_input(monkeypatch):
    from django.contrib.auth import get_user_model

    without = [a for a in ARGS if a not in ("--password", "a-long-pass-123")]
    monkeypatch.setenv("SETUP_STORE_PASSWORD", "from-the-environment-42")
    run(*without)
    assert get_user_model().objects.get(username="ana").check_password("from-the-environment-42")
    monkeypatch.delenv("SETUP_STORE_PASSWORD")
    monkeypatch.setattr("sys.stdin", io.StringIO("from-standard-input-42\n"))
    assert "Updated cashier ana: password" in run(*without, "--password-stdin")
    assert get_user_model().objects.get(username="ana").check_password("from-standard-input-42")


@pytest.mark.parametrize(("password", "why"), [("short1", "too short"), ("password123", "too common"),
                                               ("corner-store", "too similar")])
def test_weak_passwords_are_refused_before_anything_is_written(password, why):
    args = [a if a != "a-long-pass-123" else password for a in ARGS]
    args = [a if a != "ana" else "corner-store" for a in args]
    with pytest.raises(CommandError) as error:
        run(*args)
    assert why in str(error.value) and error.value.returncode == 2
    assert Merchant.objects.count() == 0
