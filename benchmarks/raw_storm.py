"""The deadline storm's raw reference: hand-written sqlite3 doing a storm fire's statements, nothing more.

Per fire, as labelwf's sweep does them: the guarded instance update, the event insert, the
timer close (fired, the state's others cancelled), the two letter rows (pre-rendered text and
HTML of the size labelwf writes). Per batch: BEGIN IMMEDIATE, the claim of the due timers
(oldest first), the fires, COMMIT. No decision, no hashing, no rendering: the floor of the same
transaction shape. ``bench_timers.py`` prepares the database with ``prepare`` and times
``python raw_storm.py DB BATCH LETTERS.json`` as a process, like the daemons.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, datetime

SCHEMA = """
CREATE TABLE instance (id INTEGER PRIMARY KEY, entity_id TEXT NOT NULL, workflow TEXT NOT NULL, state TEXT NOT NULL,
  data TEXT NOT NULL, version INTEGER NOT NULL, last_hash TEXT NOT NULL, entered_at TEXT, updated_at TEXT);
CREATE INDEX ix_instance_workflow_entity ON instance (workflow, entity_id);
CREATE TABLE event (id INTEGER PRIMARY KEY, instance_id INTEGER NOT NULL REFERENCES instance(id), seq INTEGER NOT NULL,
  trigger TEXT, source TEXT, dest TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL, reason TEXT NOT NULL,
  data TEXT NOT NULL, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, late_by_s REAL, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL, UNIQUE (instance_id, seq));
CREATE TABLE timer (id INTEGER PRIMARY KEY, instance_id INTEGER NOT NULL REFERENCES instance(id), name TEXT NOT NULL,
  trigger TEXT NOT NULL, due_at TEXT NOT NULL, status TEXT NOT NULL, closed_by_event INTEGER, closed_at TEXT);
CREATE INDEX ix_timer_status_due_at ON timer (status, due_at);
CREATE INDEX ix_timer_instance_id_status ON timer (instance_id, status);
CREATE TABLE letter (id INTEGER PRIMARY KEY, instance_id INTEGER NOT NULL REFERENCES instance(id),
  event_id INTEGER NOT NULL REFERENCES event(id), template TEXT NOT NULL, recipient TEXT NOT NULL,
  subject TEXT NOT NULL, body TEXT NOT NULL, body_html TEXT, checksum TEXT NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX ix_letter_status ON letter (status);
CREATE INDEX ix_letter_instance_id ON letter (instance_id);
"""
DUE = "2009-12-31 23:00:00.000000"


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def prepare(path: str, n: int) -> None:
    """N instances in group_3, each with its pending label_term timer due at the same instant."""
    conn = connect(path)
    conn.executescript(SCHEMA)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO instance VALUES (?, ?, 'poles-2008', 'group_3', '{\"group\": 3}', 1, ?, ?, ?)",
        ((i, f"storm-{i:06d}", "0" * 64, DUE, DUE) for i in range(1, n + 1)),
    )
    conn.executemany(
        "INSERT INTO timer (instance_id, name, trigger, due_at, status) VALUES (?, 'label_term', 'end_label_term', ?, "
        "'pending')",
        ((i, DUE) for i in range(1, n + 1)),
    )
    conn.execute("COMMIT")
    conn.close()


def sweep(path: str, batch: int, text: str, html: str) -> int:
    """Fire every due timer in batches; return how many fired."""
    conn = connect(path)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    fired = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        due = conn.execute(
            "SELECT timer.id, timer.instance_id, instance.version, instance.last_hash FROM timer "
            "JOIN instance ON instance.id = timer.instance_id WHERE timer.status = 'pending' AND timer.due_at <= ? "
            "ORDER BY timer.due_at, timer.id LIMIT ?",
            (now, batch),
        ).fetchall()
        for timer_id, iid, version, last_hash in due:
            seq = version + 1
            digest = f"{iid:064x}"
            updated = conn.execute(
                "UPDATE instance SET state = 'awaiting_decision', version = ?, data = ?, last_hash = ?, "
                "entered_at = ?, updated_at = ? WHERE id = ? AND version = ?",
                (seq, '{"group": 3}', digest, DUE, now, iid, version),
            ).rowcount
            assert updated == 1
            eid = conn.execute(
                "INSERT INTO event (instance_id, seq, trigger, source, dest, actor, role, reason, data, occurred_at, "
                "recorded_at, late_by_s, prev_hash, hash) VALUES (?, ?, 'end_label_term', 'group_3', "
                "'awaiting_decision', 'labelwf-daemon', 'system', 'timer label_term due', '{}', ?, ?, 0.0, ?, ?)",
                (iid, seq, DUE, now, last_hash, digest),
            ).lastrowid
            closed = conn.execute(
                "UPDATE timer SET status = CASE WHEN id = ? THEN 'fired' ELSE 'cancelled' END, closed_by_event = ?, "
                "closed_at = ? WHERE instance_id = ? AND status = 'pending'",
                (timer_id, eid, now, iid),
            ).rowcount
            assert closed >= 1
            conn.executemany(
                "INSERT INTO letter (instance_id, event_id, template, recipient, subject, body, body_html, checksum, "
                "status, attempts, created_at) VALUES (?, ?, 'fin_label_maintenu', ?, 'Fin du label', ?, ?, ?, "
                "'pending', 0, ?)",
                [(iid, eid, role, text, html, digest, now) for role in ("governance", "prefet")],
            )
        conn.execute("COMMIT")
        fired += len(due)
        if len(due) < batch:
            break
    conn.close()
    return fired


if __name__ == "__main__":
    database, size, letters = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(letters, encoding="utf-8") as handle:
        sample = json.load(handle)
    print(f"RAW {sweep(database, size, sample['text'], sample['html'])}")
