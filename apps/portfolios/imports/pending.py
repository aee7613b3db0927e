"""An import between its dry run and its apply: the file's text in the cache for a short
while, under a random token that only the session which uploaded it holds.

Nothing in the browser is trusted to carry the file or the plan: the apply form names the
token, the token must be one this session was given, and the file is parsed and planned
again from the cached text (services.import_apply).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache

PENDING_SECONDS = 15 * 60
SESSION_KEY = "portfolio_imports"
TOKENS_PER_SESSION = 5  # a few tabs' reports; the oldest is forgotten first


@dataclass(frozen=True, slots=True)
class PendingImport:
    portfolio_id: int
    user_id: int
    format: str
    mode: str
    filename: str
    text: str
    fingerprint: str


def pending_import_keep(session: SessionBase, pending: PendingImport) -> str:
    """Keep the import for PENDING_SECONDS; returns the token the apply form posts back."""
    token = secrets.token_urlsafe(24)
    cache.set(_key(token), asdict(pending), timeout=PENDING_SECONDS)
    tokens = [*session.get(SESSION_KEY, [])][-(TOKENS_PER_SESSION - 1) :]
    session[SESSION_KEY] = [*tokens, token]
    return token


def pending_import_get(
    session: SessionBase, token: str, *, portfolio_id: int, user_id: int
) -> PendingImport | None:
    """The import this session kept under `token` for this portfolio and user, or None
    (expired, applied already, another session's or another portfolio's)."""
    if not token or token not in session.get(SESSION_KEY, []):
        return None
    data: dict[str, Any] | None = cache.get(_key(token))
    if not data:
        return None
    pending = PendingImport(**data)
    if (pending.portfolio_id, pending.user_id) != (portfolio_id, user_id):
        return None
    return pending


def pending_import_renew(token: str, pending: PendingImport) -> None:
    """Keep it again (a new fingerprint after the portfolio changed), for a full period."""
    cache.set(_key(token), asdict(pending), timeout=PENDING_SECONDS)


def pending_import_drop(session: SessionBase, token: str) -> None:
    cache.delete(_key(token))
    session[SESSION_KEY] = [t for t in session.get(SESSION_KEY, []) if t != token]


def _key(token: str) -> str:
    return f"portfolio-import:{token}"
