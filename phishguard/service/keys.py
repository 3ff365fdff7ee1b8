"""API keys: created at random, stored only as their SHA-256, checked with ``hmac.compare_digest``.

A key is 32 random bytes (256 bits), so a fast hash is enough: there is nothing to brute-force that a
slow password hash would protect (unlike passwords, keys are never chosen by people).

>>> key = new_key()
>>> key.startswith("pg_") and len(key) > 40
True
>>> store = KeyStore([ApiKey(tenant="acme", sha256=hash_key(key))])
>>> store.lookup(key).tenant, store.lookup("pg_wrong")
('acme', None)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from .config import ApiKey

__all__ = ["KeyStore", "hash_key", "new_key", "parse_bearer"]

PREFIX = "pg_"


def new_key() -> str:
    """A new random API key (shown once; only its hash is stored)."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The hex SHA-256 stored in the configuration for ``key``."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def parse_bearer(header: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, else None.

    >>> parse_bearer("Bearer abc"), parse_bearer("bearer  abc "), parse_bearer("Basic abc"), parse_bearer(None)
    ('abc', 'abc', None, None)
    """
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    return value


class KeyStore:
    """The configured keys. Every lookup compares against every stored hash (no early exit)."""

    def __init__(self, keys: Iterable[ApiKey]):
        self._keys = tuple(keys)
        self._digests = tuple(bytes.fromhex(k.sha256) for k in self._keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, key: str) -> ApiKey | None:
        """The entry whose hash matches ``key``, else None."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        found: ApiKey | None = None
        for entry, stored in zip(self._keys, self._digests):
            if hmac.compare_digest(digest, stored):
                found = entry
        return found
