"""API keys: shown once, stored hashed, looked up by a public prefix. Pure.

Keys are 190 bits of randomness, so a fast hash (SHA-256) is the right tool: slow password
hashes protect low-entropy secrets, and would cost milliseconds on every telemetry request.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "mob"


@dataclass(frozen=True)
class IssuedKey:
    key: str        # the full secret: shown to the user once, never stored
    lookup: str     # public part, stored and indexed
    digest: str     # SHA-256 of the full key, stored


def issue_key() -> IssuedKey:
    lookup = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{lookup}_{secrets.token_urlsafe(24)}"
    return IssuedKey(key=key, lookup=lookup, digest=digest_of(key))


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def lookup_of(key: str) -> str | None:
    """The public part of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12:
        return None
    return parts[1]


def matches(key: str, digest: str) -> bool:
    return hmac.compare_digest(digest_of(key), digest)
