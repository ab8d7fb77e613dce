"""API keys: ``ls_<id>_<secret>``. The store keeps the id, the SHA-256 of the secret and the scopes, so a
leaked database gives no working key. A secret has 256 random bits, so a fast hash is enough (no
password stretching is needed for a secret nobody chose)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from leadscore.engine.types import to_micros
from leadscore.store.protocol import Store

#: What a key may do. ``admin`` (models, webhooks, keys) implies the others.
SCOPES = ("ingest", "read", "admin")


class ScopeError(ValueError):
    """A key that cannot be created as asked (an unknown scope)."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(store: Store, name: str, scopes: list[str], now: datetime) -> str:
    """Stores a new key and returns its token: the only time the secret is seen."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ScopeError(f"expected scopes from {', '.join(SCOPES)}, got {', '.join(unknown) or 'none'}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    store.add_api_key(key_id, name, _digest(secret), ",".join(sorted(set(scopes))), to_micros(now))
    return f"ls_{key_id}_{secret}"


def verify_key(store: Store, token: str) -> ApiKey | None:
    """The key a token stands for, or None if it is malformed, unknown, wrong or revoked."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != "ls" or not key_id or not secret:
        return None
    found = store.api_key(key_id)
    if found is None:
        return None
    digest, scopes, revoked_at = found
    if revoked_at is not None or not hmac.compare_digest(digest, _digest(secret)):
        return None
    return ApiKey(key_id, frozenset(scopes.split(",")))
