"""Ordergroove's AES for payment fields (DECISIONS §3.2, ordergroove.md §3).

AES-256-ECB, key = the merchant's 32-byte hash key, plaintext right-padded with ``{`` to a multiple of 32 bytes
(always 1–32 pad characters, never PKCS#7), Base64 out. URL-encoding, where a body format needs it, is the
client's job, not this module's.

- ``aes_encrypt(plaintext, hash_key) -> str`` (Base64)
- ``aes_decrypt(ciphertext_b64, hash_key) -> str`` (padding stripped); raises ``OrdergrooveCryptoError``
- ``is_aes_ciphertext(value, hash_key) -> bool``: whether ``value`` already is one of ours (used to avoid
  encrypting twice when a caller passes an already-encrypted field).

ECB is Ordergroove's protocol, not our choice: identical plaintext blocks give identical ciphertext, which is why
every vector shares its padding block.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
PAD = b"{"


class OrdergrooveCryptoError(ValueError):
    """The key is unusable or the ciphertext is not Ordergroove AES under this key."""


def _cipher(hash_key: str | bytes) -> Cipher:
    key = hash_key.encode("utf-8") if isinstance(hash_key, str) else hash_key
    if len(key) != 32:
        raise OrdergrooveCryptoError(
            f"The Ordergroove hash key must be 32 bytes for AES-256 (it is {len(key)}): check the console settings")
    return Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305 - Ordergroove's documented scheme


def aes_encrypt(plaintext: str, hash_key: str | bytes) -> str:
    data = plaintext.encode("utf-8")
    padded = data + PAD * (BLOCK - len(data) % BLOCK)
    encryptor = _cipher(hash_key).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def aes_decrypt(ciphertext_b64: str, hash_key: str | bytes) -> str:
    cipher = _cipher(hash_key)
    try:
        raw = base64.b64decode(ciphertext_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OrdergrooveCryptoError("The value is not Base64") from exc
    if not raw or len(raw) % 16:
        raise OrdergrooveCryptoError("The value is not a whole number of AES blocks")
    decryptor = cipher.decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OrdergrooveCryptoError("The value does not decrypt with this hash key") from exc
    return text.rstrip("{")


def is_aes_ciphertext(value: str, hash_key: str | bytes) -> bool:
    """True when ``value`` decrypts under the key to text ending in our ``{`` padding (a plaintext such as
    ``12/2099`` or a card holder's name can never pass: it is not Base64 of whole 32-byte blocks)."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError, AttributeError):
        return False
    if not raw or len(raw) % BLOCK:
        return False
    decryptor = _cipher(hash_key).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    if not plain.endswith(PAD):
        return False
    try:
        plain.decode("ascii")
    except UnicodeDecodeError:
        return False
    return True
