"""Checkpoints taken by themselves: a folder of signed files named by UTC time, a command that ships
each one elsewhere, and the ``Checkpointer`` that the daemon and the server run.

* **The folder** (``checkpoints``) keeps the history: one file per checkpoint, named
  ``labelwf-checkpoint-<UTC date and time to the microsecond>Z.json``, created 0600 in a folder
  created 0700, never overwritten; the newest is found by name. By default it is
  ``$XDG_STATE_HOME/labelwf/checkpoints/<database>`` (``~/.local/state/...``): outside the
  checkout and outside the database's folder, so that neither a copy of the database's folder nor
  a clean checkout takes it along, and one folder per database, so that a replay's or a test's
  checkpoints never pass for production's.
* **The command** (``checkpoint_command``) receives each signed checkpoint on its standard input
  (its file name in ``LABELWF_CHECKPOINT_NAME``): an object store's client, ``ssh`` to another
  machine, a mail with a signature. That copy is the one out of reach of whoever holds this machine.
* **The checkpointer** writes one when something was recorded since the last, at the latest every
  ``checkpoint_interval_minutes`` and sooner after a batch of deadlines or a plan, but never twice
  within ``checkpoint_min_seconds``: a storm of deadlines pays one checkpoint a minute, not one per
  batch. Before writing it checks that the database still holds what the previous checkpoint
  covered (every head still on its chain, no table shorter): a checkpoint never seals a truncation.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shlex
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .. import logs
from ..clock import Clock, SystemClock
from ..errors import CheckpointError, DatabaseError
from ..store import Database
from ..store.admin import hash_at as admin_hash_at
from ..store.trail import hashes_at, last_event_id, last_plan_finished
from .checkpoint import CHAINS, Checkpoint, read, signed, take, write_bytes

log = logging.getLogger("labelwf.checkpoints")
PREFIX = "labelwf-checkpoint-"
_NAME = re.compile(r"^labelwf-checkpoint-(\d{8}T\d{6})(?:\.(\d{6}))?Z\.json$")
HOOK_TIMEOUT_S = 120.0
_SHOWN_PROBLEMS = 5  # a refusal names this many of what went missing, and counts the rest


@dataclass(frozen=True, kw_only=True)
class CheckpointSettings:
    """Where checkpoints go and how often they are taken by themselves."""

    folder: Path
    interval_seconds: float = 3600.0  # 0: no automatic checkpoints
    floor_seconds: float = 60.0  # never two automatic checkpoints closer than this
    command: str = ""  # each checkpoint also goes to this command's standard input

    @property
    def automatic(self) -> bool:
        """Whether the daemon and the server take checkpoints by themselves."""
        return self.interval_seconds > 0


def default_folder(database_url: str, env: Mapping[str, str] | None = None) -> Path:
    """The checkpoint folder of a database when none is configured: under the user's state folder,
    one per database (its name and a digest of its URL, without the password)."""
    env = os.environ if env is None else env
    state = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    tail = database_url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", tail)[:40].strip("._") or "database"
    digest = hashlib.sha256(database_url.encode("utf-8")).hexdigest()[:10]
    return state / "labelwf" / "checkpoints" / f"{name}-{digest}"


def file_name(at: datetime) -> str:
    """The name of a checkpoint taken at ``at``: its UTC time to the microsecond (names sort as times)."""
    return f"{PREFIX}{at.astimezone(UTC):%Y%m%dT%H%M%S.%f}Z.json"


def _instant(path: Path) -> datetime | None:
    match = _NAME.match(path.name)
    if match is None:
        return None
    return datetime.strptime(f"{match[1]}.{match[2] or '000000'}", "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)


def history(folder: Path) -> list[Path]:
    """The checkpoints of ``folder``, oldest first (by the time in their names)."""
    if not folder.is_dir():
        return []
    named = [(at, path) for path in folder.iterdir() if (at := _instant(path)) is not None]
    return [path for _, path in sorted(named)]


def newest(folder: Path, key: bytes, database: str | None = None) -> tuple[Path, Checkpoint] | None:
    """The newest checkpoint of ``folder`` (of ``database``, when named), read and authenticated.

    A newest file that does not read or verify raises ``CheckpointError``: it is a finding, never
    skipped for an older one. A checkpoint of another database is passed over.
    """
    for path in reversed(history(folder)):
        taken = read(path, key)
        if database is None or taken.database == database:
            return path, taken
    return None


def archive(folder: Path, at: datetime) -> tuple[int, Path | None]:
    """Move every checkpoint of ``folder`` into a new subfolder ``archived-<UTC time>`` (kept, never
    deleted): the database they covered was erased on purpose (a replay's reset), and a new series
    starts. Return how many were moved and where (None when there were none)."""
    listed = history(folder)
    if not listed:
        return 0, None
    target = folder / f"archived-{at.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}"
    try:
        target.mkdir(mode=0o700)
        for path in listed:
            path.rename(target / path.name)
    except OSError as exc:
        raise CheckpointError(str(folder), f"its checkpoints could not be archived ({exc.strerror})") from None
    return len(listed), target


def save(content: bytes, folder: Path, at: datetime) -> Path:
    """Write a signed checkpoint into ``folder`` (created 0700) under the name of ``at``, or of the
    next microsecond free after the newest: names keep the order in which checkpoints were written."""
    if not folder.is_dir():
        try:
            folder.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            pass  # another process made it meanwhile
        except OSError as exc:
            raise CheckpointError(str(folder), f"the checkpoint folder cannot be created ({exc.strerror})") from None
        folder.chmod(0o700)
    listed = history(folder)
    latest = _instant(listed[-1]) if listed else None
    when = at if latest is None or at > latest else latest + timedelta(microseconds=1)
    partial = folder / f".{file_name(when)}.partial"
    write_bytes(content, partial)
    try:
        for _ in range(100):  # another writer took the name first: the next microsecond
            path = folder / file_name(when)
            try:
                os.link(partial, path)  # atomic, and never over an existing file
                return path
            except FileExistsError:
                when += timedelta(microseconds=1)
        raise CheckpointError(str(folder), "no free checkpoint name after 100 tries: is another writer looping?")
    except OSError as exc:
        raise CheckpointError(str(folder), f"the checkpoint cannot be written ({exc.strerror})") from None
    finally:
        partial.unlink(missing_ok=True)


def ship(content: bytes, command: str, name: str) -> None:
    """Hand a signed checkpoint to ``command`` on its standard input; ``CheckpointError`` if it fails."""
    args = shlex.split(command)
    env = {**os.environ, "LABELWF_CHECKPOINT_NAME": name}
    try:
        done = subprocess.run(args, input=content, capture_output=True, timeout=HOOK_TIMEOUT_S, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CheckpointError(name, f"checkpoint_command {args[0]!r} could not run ({exc})") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["(nothing on stderr)"]
        raise CheckpointError(name, f"checkpoint_command {args[0]!r} failed (exit {done.returncode}): {said[0][:300]}")


def lost_since(previous: Checkpoint, taken: Checkpoint, db: Database) -> list[str]:
    """What ``previous`` covered that ``taken`` no longer holds: erased instances, truncated or
    rewritten chains, tables with fewer rows. Empty when ``taken`` extends ``previous``."""
    lost: list[str] = []
    links: dict[tuple[int, int], tuple[str, str, str]] = {}
    for (workflow, entity), (seq, last) in sorted(previous.heads.items()):
        now = taken.heads.get((workflow, entity))
        if now is None:
            lost.append(f"{entity} [{workflow}] erased (it had {seq + 1} event(s))")
        elif now[0] < seq:
            lost.append(f"{entity} [{workflow}] truncated: its chain ends at seq {now[0]}, it reached seq {seq}")
        elif now[0] == seq and now[1] != last:
            lost.append(f"{entity} [{workflow}] rewritten: its head at seq {seq} is not the one recorded")
        elif now[0] > seq:
            links[(taken.ids[(workflow, entity)], seq)] = (workflow, entity, last)
    if links:
        with db.read() as conn:
            found = hashes_at(conn, list(links))
        for where, (workflow, entity, last) in links.items():
            if found.get(where) != last:
                lost.append(f"{entity} [{workflow}] rewritten: its event at seq {where[1]} is not the one recorded")
    lost.extend(_admin_lost(previous, taken, db))
    for table, rows in sorted(previous.counts.items()):
        if taken.counts.get(table, rows) < rows:
            lost.append(f"table {table} has {taken.counts[table]} row(s), {rows} were counted")
    return lost


def _admin_lost(previous: Checkpoint, taken: Checkpoint, db: Database) -> list[str]:
    """What ``previous`` pinned of the administrative acts' chain that ``taken`` no longer holds."""
    before, now = previous.admin_head, taken.admin_head
    if before is None:
        return []
    if now is None or now[0] < before[0]:
        reached = 0 if now is None else now[0]
        return [f"administrative acts truncated: the chain ends at act #{reached}, it reached act #{before[0]}"]
    if now[0] == before[0]:
        same = now[1] == before[1]
    else:
        with db.read() as conn:
            same = admin_hash_at(conn, before[0]) == before[1]
    return [] if same else [f"administrative acts rewritten: act #{before[0]} is not the one recorded"]


class Checkpointer:
    """Takes checkpoints of one database into its folder (and its command), now or when due."""

    def __init__(
        self, db: Database, key: bytes | None, settings: CheckpointSettings, *, clock: Clock | None = None
    ) -> None:
        """Without ``key`` (no audit key) nothing is signed, so nothing is written."""
        self.db, self.key, self.settings = db, key, settings
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._previous: Checkpoint | None = None
        self._loaded = False  # the folder's newest checkpoint was read (once per process)
        self._last_try: datetime | None = None
        self._pending = False  # a batch was recorded: write once the floor allows
        self.refused: str | None = None  # why the last checkpoint was not written, if it was refused

    @property
    def latest(self) -> Checkpoint | None:
        """The last checkpoint this checkpointer wrote (or found newest in its folder), if any."""
        return self._previous

    @property
    def enabled(self) -> bool:
        """Whether this process takes checkpoints by itself (an audit key, and an interval)."""
        return self.key is not None and self.settings.automatic

    def nudge(self) -> None:
        """Something was recorded in a batch (deadlines fired): a checkpoint is due once the floor allows."""
        self._pending = True

    def maybe_write(self, now: datetime | None = None) -> Path | None:
        """Write a checkpoint if one is due and something changed; the file, or None. Never raises
        for the checkpoint itself: a refusal or a failure is logged (``refused`` keeps the reason)."""
        if not self.enabled or not self._lock.acquire(blocking=False):
            return None  # another thread is writing one
        try:
            now = now or self.clock.now()
            if self._last_try is not None and now - self._last_try < timedelta(seconds=self.settings.floor_seconds):
                return None
            previous = self._previous_checkpoint()
            with self.db.read() as conn:  # a look at two indexes and a head row: cheap when nothing happened
                last = last_event_id(conn)
                plan = last_plan_finished(conn)
                chains = {name: reader(conn) for name, reader in sorted(CHAINS.items())}
            if previous is not None and previous.last_event == last and previous.chains == chains:
                return None  # nothing recorded since: no new file
            interval = timedelta(seconds=self.settings.interval_seconds)
            planned = plan is not None and (previous is None or plan > previous.created_at)
            due = self._last_try is None or now - self._last_try >= interval or self._pending or planned
            if not due:
                return None
            self._last_try = now
            return self._write(now)
        except (CheckpointError, DatabaseError, OSError) as exc:  # logged: the next try may succeed
            self.refused = str(exc)
            logs.log_event(log, "checkpoint_failed", level=logging.ERROR, error=str(exc))
            return None
        finally:
            self._lock.release()

    def write(self, now: datetime | None = None) -> Path:
        """Write a checkpoint now (``audit checkpoint``), whatever the interval; ``CheckpointError``
        if it cannot be signed, written or shipped, or if the database lost what the previous covered."""
        if self.key is None:
            raise CheckpointError(str(self.settings.folder), "no audit key to sign it (`labelwf init` creates it)")
        with self._lock:
            return self._write(now or self.clock.now())

    def _previous_checkpoint(self) -> Checkpoint | None:
        if not self._loaded:
            assert self.key is not None
            found = newest(self.settings.folder, self.key, self.db.display_url)
            self._previous = found[1] if found else None
            self._loaded = True
        return self._previous

    def _write(self, now: datetime) -> Path:
        assert self.key is not None
        previous = self._previous_checkpoint()
        taken = take(self.db, now)
        if previous is not None:
            lost = lost_since(previous, taken, self.db)
            if lost:
                more = f"; and {len(lost) - _SHOWN_PROBLEMS} more" if len(lost) > _SHOWN_PROBLEMS else ""
                raise CheckpointError(
                    str(self.settings.folder),
                    f"not written: the database lost what the checkpoint of {previous.created_at.isoformat()} "
                    f"covered ({'; '.join(lost[:_SHOWN_PROBLEMS])}{more}); run `labelwf audit verify`. If the "
                    "database was replaced on purpose (a restore, a replay reset), move this folder's "
                    "checkpoints to an archive first",
                )
        content = signed(taken, self.key)
        path = save(content, self.settings.folder, now)
        self._previous, self._pending, self.refused = taken, False, None
        logs.log_event(log, "checkpoint", file=str(path), instances=taken.instances, events=taken.events)
        if self.settings.command:
            ship(content, self.settings.command, path.name)
        return path


def loop(checkpointer: Checkpointer, stop: threading.Event, every_s: float) -> None:
    """Look for a due checkpoint every ``every_s`` seconds until ``stop`` (a server's thread)."""
    while not stop.wait(every_s):
        checkpointer.maybe_write()
