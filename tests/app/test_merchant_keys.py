"""Merchant keys at rest: encrypted with the first of FIELD_ENCRYPTION_KEYS (scrypt-derived), readable with
any, re-encrypted by `rotate_merchant_keys`; ciphertexts of older versions still read and get rotated."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from payments import crypto
from payments.models import Merchant
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_merchant_keys", *args, stdout=out)
    return out.getvalue()


def test_keys_are_rotated_to_the_new_first_key_and_stay_readable(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["old-key"]
    merchant = MerchantFactory(gateway_account="30000001", key="IOTPAY-KEY-1")
    old_ciphertext = merchant.key_ciphertext
    settings.FIELD_ENCRYPTION_KEYS = ["new-key", "old-key"]
    assert Merchant.objects.get(pk=merchant.pk).get_key() == "IOTPAY-KEY-1"  # read with the old key
    with pytest.raises(CommandError) as needed:
        rotate("--check")
    assert needed.value.returncode == 1
    assert "Re-encrypted 1 of 1" in rotate()
    rotated = Merchant.objects.get(pk=merchant.pk)
    assert rotated.key_ciphertext != old_ciphertext
    settings.FIELD_ENCRYPTION_KEYS = ["new-key"]  # the old key removed
    assert rotated.get_key() == "IOTPAY-KEY-1"
    assert "0 merchant key(s)" in rotate("--check")
    assert "Re-encrypted 0 of 1" in rotate()


def test_a_ciphertext_of_an_older_version_is_read_and_rotated(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["the-secret"]
    legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"store-console merchant key v1|the-secret").digest()))
    merchant = MerchantFactory(gateway_account="30000002", key="whatever")
    Merchant.objects.filter(pk=merchant.pk).update(key_ciphertext=legacy.encrypt(b"LEGACY-KEY").decode())
    assert Merchant.objects.get(pk=merchant.pk).get_key() == "LEGACY-KEY"
    assert crypto.needs_rotation(Merchant.objects.get(pk=merchant.pk).key_ciphertext)
    rotate()
    assert not crypto.needs_rotation(Merchant.objects.get(pk=merchant.pk).key_ciphertext)


def test_a_key_no_listed_key_can_read_stops_the_rotation_with_nothing_changed(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["lost-key"]
    merchant = MerchantFactory(gateway_account="30000003", key="K")
    settings.FIELD_ENCRYPTION_KEYS = ["another-key"]
    with pytest.raises(CommandError) as error:
        rotate()
    assert error.value.returncode == 2
    assert Merchant.objects.get(pk=merchant.pk).key_ciphertext == merchant.key_ciphertext
