"""Ordergroove AES (DECISIONS §3.2): the vectors of ordergroove.md §3.2, recomputed independently."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ordergroove import crypto

KEY = "Mt!ZQ45q&GHsgiRD8{NB-_h87#rjvbn0"

VECTORS = [
    ("12/2099", "kwWZ/53+x32tmofPBfCppQzDFDlnWL9lCXQ/q5nFNdk="),
    ("01/2019", "nq+UQCFXsSJQx/dOvA+zwQzDFDlnWL9lCXQ/q5nFNdk="),
    ("something", "pWseSIJPZbFHTRdxfjXQgAzDFDlnWL9lCXQ/q5nFNdk="),
    ("4111111111111111", "liUAjAnLVH5tToX+SoIFIAzDFDlnWL9lCXQ/q5nFNdk="),
]


def _independent(plain: str) -> str:
    padded = plain + "{" * (32 - len(plain) % 32)
    enc = Cipher(algorithms.AES(KEY.encode()), modes.ECB()).encryptor()
    return base64.b64encode(enc.update(padded.encode()) + enc.finalize()).decode()


@pytest.mark.parametrize(("plain", "cipher"), VECTORS)
def test_vectors(plain, cipher):
    assert crypto.aes_encrypt(plain, KEY) == cipher == _independent(plain)
    assert crypto.aes_decrypt(cipher, KEY) == plain


def test_a_full_block_gets_a_whole_block_of_padding():
    plain = "x" * 32
    cipher = crypto.aes_encrypt(plain, KEY)
    assert len(base64.b64decode(cipher)) == 64
    assert crypto.aes_decrypt(cipher, KEY) == plain


def test_is_aes_ciphertext_tells_ours_from_plaintext():
    assert crypto.is_aes_ciphertext(VECTORS[0][1], KEY)
    for value in ["12/2099", "Jane Doe", "1111", "", "kwWZ/53+x32tmofPBfCppQ=="]:
        assert not crypto.is_aes_ciphertext(value, KEY)


def test_bad_key_and_bad_ciphertext_are_clear_errors():
    with pytest.raises(crypto.OrdergrooveCryptoError, match="32 bytes"):
        crypto.aes_encrypt("12/2099", "short")
    with pytest.raises(crypto.OrdergrooveCryptoError):
        crypto.aes_decrypt("not base64!", KEY)
    with pytest.raises(crypto.OrdergrooveCryptoError):
        crypto.aes_decrypt(base64.b64encode(b"123").decode(), KEY)
