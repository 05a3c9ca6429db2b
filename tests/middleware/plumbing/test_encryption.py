"""Secrets at rest: ciphertext in the database, plaintext only in Python, and key rotation."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from bigcommerce_app.models import Store
from middleware.plumbing.fields import _fernet_for, secret_hint

pytestmark = pytest.mark.django_db


def _raw_token(store_hash: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM bigcommerce_app_store WHERE store_hash = %s", [store_hash])
        return cursor.fetchone()[0]


def test_the_database_holds_ciphertext_and_python_sees_plaintext():
    Store.objects.create(store_hash="s1", access_token="tok-123456789")
    assert _raw_token("s1") != "tok-123456789"
    assert "tok-123456789" not in _raw_token("s1")
    assert Store.objects.get(store_hash="s1").access_token == "tok-123456789"


def test_empty_secrets_stay_empty():
    Store.objects.create(store_hash="s2")
    assert _raw_token("s2") == ""


def test_rotation_reencrypts_under_the_newest_key(settings, capsys):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    Store.objects.create(store_hash="s3", access_token="tok-rotate-me")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    _fernet_for.cache_clear()
    call_command("rotate_field_keys")
    assert "1 value(s) re-encrypted" in capsys.readouterr().out

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is retired
    _fernet_for.cache_clear()
    assert Store.objects.get(store_hash="s3").access_token == "tok-rotate-me"

    settings.FIELD_ENCRYPTION_KEYS = [old_key]  # and the old key alone can no longer read it
    _fernet_for.cache_clear()
    with pytest.raises(ImproperlyConfigured):
        Store.objects.get(store_hash="s3")
    _fernet_for.cache_clear()


def test_secret_hint_never_reveals_more_than_four_characters():
    assert secret_hint("") == ""
    assert secret_hint("short") == "set"
    assert secret_hint("abcdefghijklmnop") == "set (…mnop)"
