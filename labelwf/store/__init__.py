"""Persistence: the one package that talks to the database.

* ``schema``     the tables and their column types (aware UTC datetimes, JSON); the schema revision
* ``database``   ``Database``: connections, read and write transactions, driver errors wrapped
* ``prompt``     writes that begin only if nothing waits (a server's event loop), their WAL checkpoints
* ``records``    typed, frozen records of the rows, the statuses they carry, and ``Page``
* ``prepared``   statements compiled once per dialect and run on the driver connection
* ``fires``      the write path: fires, new instances, claiming and closing timers
* ``reads``      typed, paged, keyset reads
* ``outbox``     the delivery of letters
* ``entities``   registering entities, erasing a database for a replay
* ``admin``      the administrative acts' chain: its head, locked by each writer, and its acts

No other module of labelwf runs SQL. The tables are re-exported here for tests and tools that
look at a database directly. May import: the ground floor only (``errors``, ``config``).
"""

from .database import Database, normalize_url
from .prompt import PromptWrite, WriteWouldWait
from .records import (
    Entity,
    Event,
    Instance,
    Letter,
    LetterStatus,
    Page,
    Recipient,
    Timer,
    TimerStatus,
)
from .schema import SCHEMA_REVISION, JSONType, UTCDateTime, entity, event, instance, letter, metadata, timer

__all__ = [
    "SCHEMA_REVISION",
    "Database",
    "Entity",
    "Event",
    "Instance",
    "JSONType",
    "Letter",
    "LetterStatus",
    "Page",
    "PromptWrite",
    "Recipient",
    "Timer",
    "TimerStatus",
    "UTCDateTime",
    "WriteWouldWait",
    "entity",
    "event",
    "instance",
    "letter",
    "metadata",
    "normalize_url",
    "timer",
]
