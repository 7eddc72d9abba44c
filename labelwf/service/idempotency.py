"""``Idempotency-Key`` on requests that create: a retry with the same key gets the first answer again
(for a day), never a second creation; the same key on another request is refused."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from fastapi.responses import JSONResponse

from ..text import text_problem
from .problems import problem

ANSWERS_KEPT = timedelta(hours=24)  # an Idempotency-Key's first answer is replayed for a day, then forgotten
MAX_KEY = 200


def invalid_key(key: str | None) -> JSONResponse | None:
    """The problem of a malformed ``Idempotency-Key`` header, or None (no header is fine)."""
    if key is None:
        return None
    found = text_problem(key, "Idempotency-Key", max_length=MAX_KEY)
    if not key.strip():
        found = "Idempotency-Key is empty: send a unique key per request (a UUID), or no header"
    return problem(422, "invalid-header", "Invalid header", found) if found else None


def fingerprint(*parts: Any) -> str:
    """What identifies a request's content, so that a key reused for another request is recognised."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def reused(kept: Any, print_: str) -> JSONResponse | None:
    """The refusal of a key kept for another request, or None when ``kept`` answered this very one."""
    if kept["fingerprint"] == print_:
        return None
    return problem(
        422,
        "idempotency-key-reused",
        "Idempotency-Key reused",
        "this Idempotency-Key was used for another request; send a new key for a new request",
    )
