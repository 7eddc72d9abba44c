"""The outbox folder's files: written whole or not at all, and what a killed writer left removed.

A letter's file is written to a hidden temporary file beside it (``.<name>.<random>.writing``)
and renamed over its name once complete and on disk, so a reader never sees half a letter. The
writer holds an exclusive ``flock`` on the temporary file from its creation until after the
rename. The kernel releases that lock when its process ends, however it ends, so a temporary
file that nobody holds locked is the debris of a writer that died: ``remove_leftovers`` removes
it at once (a daemon restarted two seconds after a kill -9 finds it), and never one a live
writer holds. Hidden files in the older form (``.<name>.<random>``, written without the lock)
are removed only once older than the lease, as before.

The lock is advisory and per open file: it holds between processes on one machine, and on NFS
where the client maps ``flock`` to the server's locks (Linux's default).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

WRITING = ".writing"  # the suffix of a temporary file whose writer holds it locked


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path``: all of it, on disk, or nothing under that name."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # letters are personal data: names too
    handle, temporary = _locked_temporary(path)
    try:
        with os.fdopen(handle, "wb", closefd=False) as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)  # still locked: a sweeper cannot take it between the write and the rename
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        os.close(handle)  # releases the lock


def _locked_temporary(path: Path) -> tuple[int, str]:
    """A new temporary file beside ``path``, open and locked by this process."""
    while True:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=WRITING)
        fcntl.flock(handle, fcntl.LOCK_EX)
        # A sweeper may have locked and removed the file between its creation and this lock:
        # then the name is gone (or another file's), and this writer takes a new one.
        try:
            same = os.stat(temporary, follow_symlinks=False).st_ino == os.fstat(handle).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle, temporary
        os.close(handle)


def remove_leftovers(root: Path, *, older_than: float) -> int:
    """Remove the temporary files under ``root/<entity>/`` that no live writer holds; return how many.

    A locked-form temporary file is removed as soon as nobody holds its lock; an older-form one
    (written without a lock) only if last modified before ``older_than`` (a POSIX timestamp).
    """
    if not root.is_dir():
        return 0
    removed = 0
    for leftover in root.glob("*/.*.*"):
        try:
            if leftover.name.endswith(WRITING):
                removed += _remove_if_unheld(leftover)
            elif leftover.is_file() and not leftover.is_symlink() and leftover.stat().st_mtime < older_than:
                leftover.unlink()
                removed += 1
        except OSError:
            continue  # gone already, or not ours to remove: the next start tries again
    return removed


def _remove_if_unheld(leftover: Path) -> int:
    """Remove a locked-form temporary file if no process holds its lock (its writer died); 1 if removed."""
    handle = os.open(leftover, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # a live writer holds it
        # Locked by this sweeper now: the name is removed only if it is still the file that was
        # opened (a writer that finished meanwhile renamed it away).
        if os.stat(leftover, follow_symlinks=False).st_ino != os.fstat(handle).st_ino:
            return 0
        leftover.unlink()
        return 1
    finally:
        os.close(handle)
