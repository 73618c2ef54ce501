"""Webhook secrets at rest: encrypted like the merchants' keys, re-encrypted by `rotate_webhook_secrets` so that
an old FIELD_ENCRYPTION_KEYS entry can be removed without losing them."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import StoreFactory
from webhooks.endpoints import endpoint_create
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_webhook_secrets", *args, stdout=out)
    return out.getvalue()


def test_secrets_are_stored_encrypted_and_rotated_to_the_new_first_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["old-key"]
    endpoint, secret = endpoint_create(store=StoreFactory(), url="https://hooks.example.com/a")
    assert secret not in endpoint.secret_ciphertext and Endpoint.objects.get().get_secret() == secret
    old_ciphertext = endpoint.secret_ciphertext
    settings.FIELD_ENCRYPTION_KEYS = ["new-key", "old-key"]
    with pytest.raises(CommandError) as needed:
        rotate("--check")
    assert needed.value.returncode == 1
    assert "Re-encrypted 1 of 1" in rotate()
    settings.FIELD_ENCRYPTION_KEYS = ["new-key"]  # the old key removed
    rotated = Endpoint.objects.get()
    assert rotated.secret_ciphertext != old_ciphertext and rotated.get_secret() == secret
    assert "0 webhook secret(s)" in rotate("--check")


def test_a_secret_no_listed_key_can_read_stops_the_rotation_with_nothing_changed(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["lost-key"]
    endpoint, _ = endpoint_create(store=StoreFactory(), url="https://hooks.example.com/b")
    settings.FIELD_ENCRYPTION_KEYS = ["another-key"]
    with pytest.raises(CommandError) as error:
        rotate()
    assert error.value.returncode == 2
    assert Endpoint.objects.get().secret_ciphertext == endpoint.secret_ciphertext
