"""`manage.py run` (the whole service on one machine, with the sandbox without credentials) and
`manage.py rotate_field_keys` (re-encrypts the encrypted fields with the newest key).

May import: every app and the plumbing (the wiring's top layer). Never: tests/.
"""
