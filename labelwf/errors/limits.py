"""A caller asking more than its share, or a server already busy with as much as it takes."""

from __future__ import annotations

from ..message import N_, Word
from .base import LabelwfError


class RateLimited(LabelwfError):
    """Raised when a caller asks for more of something costly than its share (fires, PDFs) in a minute."""

    def __init__(self, what: str, per_minute: int, retry_after_s: int) -> None:
        self.what, self.per_minute, self.retry_after_s = what, per_minute, retry_after_s
        super().__init__(
            N_(
                "too many %(what)s: at most %(per_minute)s a minute per account; retry in %(retry)s s",
                what=Word(what),
                per_minute=per_minute,
                retry=retry_after_s,
            )
        )


class Overloaded(LabelwfError):
    """Raised when a server process already runs and queues as many of a costly kind of work as it takes."""

    def __init__(self, what: str, at_once: int, queued: int, retry_after_s: int) -> None:
        self.what, self.at_once, self.queued, self.retry_after_s = what, at_once, queued, retry_after_s
        super().__init__(
            N_(
                "too many %(what)s at once: this server runs %(at_once)s and queues %(queued)s; retry in %(retry)s s",
                what=Word(what),
                at_once=at_once,
                queued=queued,
                retry=retry_after_s,
            )
        )
