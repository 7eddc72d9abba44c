"""The audit key: a secret kept outside the database, with which the chain's hashes are keyed (HMAC).

Without it, someone with write access to the database could change an event and recompute
every hash after it; with it, they cannot produce hashes that verify. ``labelwf init`` creates
the key file (32 random bytes, hex, readable by its owner only) when it is missing; keep it
outside the database's backups and give it to the processes that write and verify the trail.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ..errors import ConfigError
from ..message import N_

KEY_BYTES = 32


def load_key(path: Path) -> bytes | None:
    """The key in ``path``, or None when there is no such file; ``ConfigError`` for a malformed one."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            "audit_key_file", str(path), N_("a readable key file (%(problem)s)", problem=str(exc))
        ) from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(
            "audit_key_file", str(path), N_("a file holding %(count)s hexadecimal digits", count=KEY_BYTES * 2)
        )
    return key


def create_key(path: Path) -> bool:
    """Write a new random key to ``path`` (mode 0600) unless one exists; return whether it was created."""
    if path.exists():
        load_key(path)  # refuse a malformed one now rather than at the first fire
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(KEY_BYTES) + "\n")
    return True
