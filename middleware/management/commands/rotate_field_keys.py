"""Re-encrypt every encrypted field with the newest key of FIELD_ENCRYPTION_KEYS.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy, run this command,
then drop the old keys. MultiFernet.rotate decrypts with any listed key and re-encrypts with the first.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from middleware.plumbing.fields import EncryptedTextField, fernet


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        multi = fernet()
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            for field in fields:
                column = connection.ops.quote_name(field.column)
                rotated = 0
                with transaction.atomic(), connection.cursor() as cursor:
                    # Raw SQL: the field's Python side would decrypt; here we need the stored ciphertext.
                    cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} <> ''")  # noqa: S608
                    for row_pk, token in cursor.fetchall():
                        if not token:
                            continue
                        new_token = multi.rotate(token.encode()).decode()
                        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                                       [new_token, row_pk])
                        rotated += 1
                total += rotated
                self.stdout.write(f"{model._meta.label}.{field.name}: {rotated} value(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} value(s) now under the newest key."))
