"""Encryption of merchant keys at rest: MultiFernet over FIELD_ENCRYPTION_KEYS, each key derived with scrypt.

The first key encrypts; every key decrypts, so keys can be rotated (`manage.py rotate_merchant_keys`).
Ciphertexts of older versions (their key derived with one SHA-256) still decrypt, and are re-encrypted by the
same command.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings

_SALT = b"store-console merchant keys v2"
_derived_keys: dict[str, Fernet] = {}
_deriving = threading.Lock()


def _derived(secret: str) -> Fernet:
    """scrypt (2^14, 8, 1): ~50 ms and 16 MiB once per process and key, and costly for anyone guessing a weak
    secret. Once: the first payments of a burst reach a fresh worker together, and threads that each derived the
    key (``functools.cache`` lets them) took 16 MiB apiece at the same moment (tests/unit/test_process_memory.py)."""
    fernet = _derived_keys.get(secret)
    if fernet is None:
        with _deriving:
            fernet = _derived_keys.get(secret)
            if fernet is None:
                key = Scrypt(salt=_SALT, length=32, n=2**14, r=8, p=1).derive(secret.encode())
                fernet = _derived_keys[secret] = Fernet(base64.urlsafe_b64encode(key))
    return fernet


@functools.cache
def _legacy(secret: str) -> Fernet:
    digest = hashlib.sha256(b"store-console merchant key v1|" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet() -> MultiFernet:
    secrets = list(settings.FIELD_ENCRYPTION_KEYS)
    if not secrets:
        raise ValueError("FIELD_ENCRYPTION_KEYS is empty: merchant keys cannot be encrypted")
    return MultiFernet([*(_derived(s) for s in secrets), *(_legacy(s) for s in secrets)])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("merchant key cannot be decrypted: is its encryption key still in FIELD_ENCRYPTION_KEYS?") \
            from exc


def needs_rotation(token: str) -> bool:
    """True unless ``token`` was encrypted with the first key (as it is derived now)."""
    try:
        _derived(settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(token.encode())
    except InvalidToken:
        return True
    return False


def rotate(token: str) -> str:
    """``token`` re-encrypted with the first key (same plaintext)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("merchant key cannot be decrypted with any of FIELD_ENCRYPTION_KEYS") from exc
