"""Moderators' passwords (stdlib scrypt, a standard memory-hard KDF) and random tokens.

A password is stored as ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``: the parameters and the salt
travel with the hash, so stronger parameters can be adopted later without invalidating old hashes.
Tokens (session cookies, moderator API keys) are random and stored only as their SHA-256.

>>> stored = hash_password("correct horse", n=2**4)
>>> stored.startswith("scrypt$16$8$1$")
True
>>> verify_password("correct horse", stored), verify_password("wrong horse", stored)
(True, False)
>>> verify_password("correct horse", "not a hash")
False
>>> len(new_token()) >= 43, token_hash("abc")[:16]
(True, 'ba7816bf8f01cfea')
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["hash_password", "new_token", "token_hash", "verify_password"]

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1  # the usual interactive-login parameters (16 MiB, a few tens of ms)
SALT_BYTES = 16
HASH_BYTES = 32
TOKEN_BYTES = 32
# Bounds on parameters read back from a stored hash (a corrupted row must not exhaust memory).
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int = HASH_BYTES) -> bytes:
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen)


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """The storable scrypt hash of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, n, r, p)
    return f"{SCHEME}${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (constant-time comparison); False for a
    malformed or unsupported stored value."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return False
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, expected = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return False
    if not (
        1 < n <= _MAX_N
        and n & (n - 1) == 0
        and 0 < r <= _MAX_R
        and 0 < p <= _MAX_P
        and 0 < len(expected) <= 64
    ):
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


def new_token() -> str:
    """A new random token (URL-safe, 256 bits) for a session cookie or a moderator API key."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
