"""What a console form leaves for the page it redirects to, besides its sentence: a new API token
(shown once), the values typed in a refused form (for the form to refill), its list of problems.

Post/Redirect/Get (``console_flash``) carries the sentence in a signed cookie; this is the rest,
kept **in the server process's memory**, keyed by the session (a sha256 of its CSRF token), taken
once by the next full page of that session, and forgotten after ``KEPT_FOR`` on the injected clock
whether taken or not. A secret never rides in a cookie, nor is written to the database: the
sessions live there, but a token is stored only as its hash (a table holding it in clear, even
for two minutes, would put it in the write-ahead log and the backups). The cost: with
``serve --workers N``, a redirect followed on another process (the browser normally keeps its
connection, so the same one) finds nothing here; the page then says the token was made but cannot
be shown, to revoke it and make another, and a refused form comes back empty with its sentence.
A typed password is never kept.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request

from ..clock import Clock
from .api import runtime_of

KEPT_FOR = timedelta(seconds=120)  # as the flash's cookie: the redirect is followed at once
_MADE = threading.Lock()  # one store per app, even when two first requests come at once
MOST = 10_000  # sessions with something kept at once (the oldest go first)
LONGEST = 200_000  # characters of a typed value kept (a plan's list of ids)
SECRET = ("password", "csrf")  # typed values never kept


@dataclass(frozen=True, slots=True)
class Kept:
    """What a form left for the next page: its form's name (``fire:classify``, ``add``, ``plan``…),
    the values typed in it, its problems, a new token."""

    form: str = ""
    typed: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    token: str = ""


class KeptStore:
    """The one-time store of this process: ``keep`` for a session, ``take`` once."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._kept: OrderedDict[str, tuple[datetime, Kept]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(csrf: str) -> str:
        return hashlib.sha256(csrf.encode()).hexdigest()

    def keep(self, csrf: str, kept: Kept) -> None:
        """Keep ``kept`` for the session of ``csrf`` (replacing what it had left)."""
        if not csrf:
            return
        now = self.clock.now()
        with self._lock:
            key = self._key(csrf)
            self._kept.pop(key, None)
            self._kept[key] = (now + KEPT_FOR, kept)
            while len(self._kept) > MOST or (self._kept and next(iter(self._kept.values()))[0] <= now):
                self._kept.popitem(last=False)

    def take(self, csrf: str) -> Kept | None:
        """What the session of ``csrf`` left, once; None when nothing, or too late."""
        if not csrf:
            return None
        with self._lock:
            found = self._kept.pop(self._key(csrf), None)
        if found is None or found[0] <= self.clock.now():
            return None
        return found[1]


def store_of(request: Request) -> KeptStore:
    """The app's store (``app.state.console_kept``), made on first use with the runtime's clock."""
    state = request.app.state
    with _MADE:
        found = getattr(state, "console_kept", None)
        if not isinstance(found, KeptStore):
            found = KeptStore(runtime_of(request).engine.clock)
            state.console_kept = found
    return found


def keep(
    request: Request,
    csrf: str,
    form: str = "",
    typed: Mapping[str, Any] | None = None,
    problems: Sequence[str] = (),
    token: str = "",
) -> None:
    """Leave a form's typed values, problems or new token for the session's next page."""
    values = {str(k): str(v)[:LONGEST] for k, v in (typed or {}).items() if str(k) not in SECRET}
    store_of(request).keep(csrf, Kept(form, values, tuple(problems), token))


def take(request: Request, csrf: str) -> Kept | None:
    """What this session's last form left, once."""
    return store_of(request).take(csrf)
