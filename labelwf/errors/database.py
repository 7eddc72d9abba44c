"""Errors of the database: the driver's failures wrapped, a schema of another revision, a replay that would
mix with or erase what others recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..message import N_, Message
from .base import LabelwfError


class DatabaseError(LabelwfError):
    """Raised when the database refuses or fails a statement; ``detail`` is the driver's message."""

    def __init__(self, url: str, detail: str, message: Message | None = None) -> None:
        self.url, self.detail = url, detail
        super().__init__(message or N_("database %(url)s failed: %(detail)s", url=url, detail=detail))


class DatabaseBusy(DatabaseError):
    """Raised when another process held the write lock for longer than the busy timeout; try again."""

    def __init__(self, url: str, detail: str, timeout_ms: int | None) -> None:
        self.timeout_ms = timeout_ms
        waited = N_("after waiting %(ms)s ms ", ms=timeout_ms) if timeout_ms is not None else ""
        super().__init__(
            url,
            detail,
            N_(
                "database busy: another process holds the write lock of %(url)s; gave up %(waited)s(%(detail)s). "
                "Try again, or raise busy_timeout_ms (LABELWF_BUSY_TIMEOUT_MS)",
                url=url,
                waited=waited,
                detail=detail,
            ),
        )


class DatabaseUnavailable(DatabaseError):
    """Raised when the database cannot be reached (server down, wrong URL) or its file cannot be opened."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(
            url,
            detail,
            N_(
                "cannot use %(url)s: %(detail)s; check the database setting and that the server runs",
                url=url,
                detail=detail,
            ),
        )


class ReadOnlyDatabase(DatabaseError):
    """Raised when a write is asked of a database that can only be read here (file or server read-only)."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(
            url,
            detail,
            N_(
                "database %(url)s is read-only here (%(detail)s): reads work, but this command writes; "
                "use a writable copy, or ask for write access to the file and its folder",
                url=url,
                detail=detail,
            ),
        )


class SchemaMismatch(LabelwfError):
    """Raised when the database schema revision differs from the one this version of labelwf expects."""

    def __init__(self, url: str, found: str | None, expected: str) -> None:
        self.url, self.found, self.expected = url, found, expected
        if found is None:
            said = N_(
                "database %(url)s has no labelwf schema; this labelwf needs revision %(expected)s: "
                "run `labelwf init` first",
                url=url,
                expected=expected,
            )
        else:
            said = N_(
                "database %(url)s is at schema revision %(found)s; this labelwf needs revision %(expected)s: "
                "run `labelwf init` first",
                url=url,
                found=found,
                expected=expected,
            )
        super().__init__(said)


class DatabaseNotEmpty(LabelwfError):
    """Raised when a replay would mix with instances already in the database."""

    def __init__(self, url: str, instances: int, replay_mark: str | None = None) -> None:
        self.url, self.instances, self.replay_mark = url, instances, replay_mark
        if replay_mark is None:
            hint = N_(
                "it was not created by a replay, so --reset will not erase it: "
                "pass --db to replay into another database"
            )
        else:
            kind = replay_mark.split(":")[0]
            hint = N_(
                "it holds a %(kind)s replay: pass --reset to erase it first, or --db to replay into another database",
                kind=kind,
            )
        super().__init__(
            N_(
                "database %(url)s already holds %(instances)s instance(s); a replay needs an empty one; %(hint)s",
                url=url,
                instances=instances,
                hint=hint,
            )
        )


class ResetRefused(LabelwfError):
    """Raised when ``replay --reset`` is asked to erase a database that no replay created."""

    def __init__(self, url: str, instances: int) -> None:
        self.url, self.instances = url, instances
        super().__init__(
            N_(
                "refusing to erase %(url)s: its %(instances)s instance(s) were not created by a replay (the database "
                "carries no replay mark); --reset erases only replay databases: pass --db to replay into another one",
                url=url,
                instances=instances,
            )
        )


class OthersActed(LabelwfError):
    """Raised when ``replay --reset`` would erase what someone other than the replay recorded."""

    def __init__(self, url: str, acted: Sequence[tuple[str, int]], erased: Mapping[str, int]) -> None:
        self.url, self.acted, self.erased = url, list(acted), dict(erased)
        who = ", ".join(f"{principal}: {count}" for principal, count in self.acted[:5])
        more = N_(" and %(more)s more", more=len(self.acted) - 5) if len(self.acted) > 5 else ""
        total = sum(count for _, count in self.acted)
        rows = ", ".join(f"{count} {table}(s)" for table, count in self.erased.items() if count)  # what it holds
        super().__init__(
            N_(
                "refusing to erase %(url)s: besides the replay, %(total)s event(s) or plan(s) were recorded by "
                "others (%(who)s%(more)s); to keep them, replay into another database (--db another.db); to erase "
                "them with the rest, pass --reset --force, which deletes %(rows)s",
                url=url,
                total=total,
                who=who,
                more=more,
                rows=rows,
            )
        )
