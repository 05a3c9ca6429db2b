"""An encrypted text field for every secret the service stores (access tokens, Ordergroove keys, SFTP
passwords). MultiFernet over FIELD_ENCRYPTION_KEYS, newest key first, independent of SECRET_KEY so that
rotating one never makes the other's data unreadable (patterns-and-peers §2.8)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from middleware.plumbing.logging import register_secret


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: secrets cannot be stored")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_str(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt_str(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # wrong or retired key: fail loudly, never return ciphertext as a secret
        raise ImproperlyConfigured("An encrypted field cannot be decrypted with FIELD_ENCRYPTION_KEYS") from exc


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code only ever sees the plaintext. Empty string and None are stored
    as they are (nothing secret to hide), so "is it set?" needs no decryption."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        plain = decrypt_str(value)
        register_secret(plain)
        return plain

    def to_python(self, value):
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        register_secret(str(value))
        return encrypt_str(str(value))


def secret_hint(value: str | None) -> str:
    """What the console may show of a secret: whether it is set and, for long values, its last 4 chars."""
    if not value:
        return ""
    return f"set (…{value[-4:]})" if len(value) >= 12 else "set"
