"""The deadline storm's reference: hand-written sqlite3 and Jinja2 doing a storm fire's work, nothing more.

Per batch: BEGIN IMMEDIATE, the claim of the due timers (oldest first, with their instance and
entity), the fires, COMMIT. Per fire, as labelwf's sweep does them: the guarded instance update,
the event insert, the timer close (fired, the state's others cancelled), and the step's letter
rendered and stored for its two recipients. The letter is rendered as labelwf renders it: the
same two templates (the letter's content through the text and the HTML layout) and its subject,
in Jinja2's immutable sandbox, compiled once, with the same filters, the same ``finalize`` (French
typography of every printed value), the template's own words typeset once when compiled, and the
same context (namespaces: the entity, the event, the data, the workflow, the letterhead, the
recipient with its forms of address, the copies, the reference, the dates, the mentions, the
signatory, no agent, no basis). The letter row holds its checksum (sha256 of the letter and its
recipient). No decision, no event hashing, no loop budget, no size bound: the floor of the same
work. ``bench_timers.py`` checks that the letters it writes are byte for byte labelwf's.

``bench_timers.py`` prepares the database with ``prepare`` and times ``python raw_storm.py DB
BATCH STATIC.json`` as a process, like the daemons; ``STATIC.json`` holds what is the same for
every fire (the workflow's title, the templates folder, the ranks, the configured people). What
the storm's single decision date gives every letter (the letterhead of that day, the directory's
row, the mentions, the signatory) is read once before the first fire (``Decided``), with labelwf's
pure helpers, as a hand-written program would precompute it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

from labelwf.config import load_settings
from labelwf.letters.address import RANKS, address
from labelwf.letters.directory import kind_of, load_directory
from labelwf.letters.filters import FILTERS, lead
from labelwf.letters.mentions import MENTION_FILTERS, mentions_of
from labelwf.letters.render import date_fr, letter_checksum, printable
from labelwf.letters.typography import typeset_template
from labelwf.workflow.loader import load_workflow

SCHEMA = """
CREATE TABLE entity (id TEXT PRIMARY KEY, name TEXT NOT NULL, attributes TEXT NOT NULL, contacts TEXT NOT NULL);
CREATE TABLE instance (id INTEGER PRIMARY KEY, entity_id TEXT NOT NULL REFERENCES entity(id), workflow TEXT NOT NULL,
  state TEXT NOT NULL, data TEXT NOT NULL, version INTEGER NOT NULL, last_hash TEXT NOT NULL, entered_at TEXT,
  updated_at TEXT);
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
  recipient_label TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, body_html TEXT, checksum TEXT NOT NULL,
  status TEXT NOT NULL, attempts INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX ix_letter_status ON letter (status);
CREATE INDEX ix_letter_instance_id ON letter (instance_id);
"""
DUE = "2009-12-31 23:00:00.000000"
DUE_AT = datetime(2009, 12, 31, 23, tzinfo=UTC)
ROLES = ("governance", "prefet")  # the storm letter's addressee, then the copy
TRIGGER, LETTER = "end_label_term", "fin_label_maintenu"
CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"  # the configuration bench_timers' storm runs with
WORDS = re.compile(r"[ \t\n]+")


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def prepare(path: str, n: int) -> None:
    """N poles in group_3 (named and placed as bench_timers names them), each with its label_term timer due."""
    conn = connect(path)
    conn.executescript(SCHEMA)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO entity VALUES (?, ?, '{\"region\": \"Bretagne\"}', '[]')",
        ((f"storm-{i:06d}", f"Pôle storm-{i:06d}") for i in range(n)),
    )
    conn.executemany(
        "INSERT INTO instance VALUES (?, ?, 'poles-2008', 'group_3', '{\"group\": 3}', 1, ?, ?, ?)",
        ((i + 1, f"storm-{i:06d}", "0" * 64, DUE, DUE) for i in range(n)),
    )
    conn.executemany(
        "INSERT INTO timer (instance_id, name, trigger, due_at, status) VALUES (?, 'label_term', 'end_label_term', ?, "
        "'pending')",
        ((i, DUE) for i in range(1, n + 1)),
    )
    conn.execute("COMMIT")
    conn.close()


class Typography(Extension):
    """A template's own words typeset once, when it is compiled (as labelwf's letters are)."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return typeset_template(source, html=bool(self.environment.autoescape))


def environment(folder: Path, html: bool) -> jinja2.Environment:
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(folder), str(folder.parent / "_shared")]),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        finalize=printable,
        extensions=[Typography],
        keep_trailing_newline=True,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.filters.update(MENTION_FILTERS)
    return env


class Decided:
    """What the storm's single decision date (every timer is due at ``DUE_AT``) gives each of its letters,
    read once: the letterhead in force that day, the directory's row for the step's kind of decision, the
    mentions the law asks and the signatory, the decision's date in French, the recipients' regions."""

    def __init__(self, static: dict[str, Any], config: Path = CONFIG) -> None:
        settings = load_settings(config)
        workflow = load_workflow(config.parent / "workflows" / "poles-2008.yaml")
        spec, head = workflow.letters[LETTER], workflow.letterhead
        decided = DUE_AT.astimezone(workflow.timezone)
        issuer = head.issuer_at(decided.date())
        people = static["letterhead"]  # the configured agent and signatory's name, the letter's attachments
        self.letterhead = SimpleNamespace(
            service=issuer.service if issuer else "",
            signatory=issuer.signatory if issuer else "",
            delegation=issuer.delegation if issuer else "",
            place=head.place,
            recourse_court=head.recourse_court,
            agent=people["agent"],
            signatory_name=people["signatory_name"],
            attachments=tuple(people["attachments"]),
        )
        kind = kind_of(TRIGGER, spec.decision)
        directory = load_directory(settings.directory) if settings.directory is not None else None
        row = directory.at(kind, decided.date()) if directory is not None and kind else None
        self.authority = row.namespace() if row else None
        self.date_fr = date_fr(decided, decided.tzinfo or workflow.timezone)
        self.mentions = mentions_of(
            spec.legal_basis or head.legal_basis,
            head.online_recourse,
            decided=decided.date(),
            decided_fr=self.date_fr,
            decision=kind not in (None, "information", "pilotage"),
        )
        if row is not None:
            name, title, delegation = row.signatory_name, row.signatory, row.delegation
            note = "" if name else row.note
        else:
            day = self.letterhead
            name, title, delegation, note = day.signatory_name, day.signatory, day.delegation, ""
        self.signatory = SimpleNamespace(
            name=name, title=title[:1].upper() + title[1:], delegation=delegation, note=note
        )
        self.regions = head.regions


class Letters:
    """The storm step's letter (``fin_label_maintenu``) for one fire: subject, text and HTML, two rows."""

    def __init__(self, static: dict[str, Any], now: datetime) -> None:
        folder = Path(static["templates"])
        text_env, html_env = environment(folder, False), environment(folder, True)
        self.subject = text_env.from_string(static["subject"])
        self.text = text_env.get_template(f"{LETTER}.j2")
        self.html = html_env.get_template(f"{LETTER}.j2")
        self.ranks = {role: RANKS[rank] for role, rank in static["ranks"].items()}
        self.workflow = SimpleNamespace(name="poles-2008", version=1, title=static["title"])
        self.decided = Decided(static)
        self.date = date_fr(now, ZoneInfo(static["timezone"]))
        self.now = now

    def render(self, entity: str, name: str, attributes: dict[str, Any], data: dict[str, Any], seq: int) -> list[Any]:
        """(role, label, subject, text, html, checksum) of each recipient."""
        decided = self.decided
        region = lead(attributes.get("region")) or None
        forms = {
            role: address(rank, "", entity=name, region=region, regions=decided.regions)
            for role, rank in self.ranks.items()
        }
        recipient = forms[ROLES[0]]
        context = {
            "agent": None,  # a timer's fire: no account took it, the service's desk follows the letters
            "entity": SimpleNamespace(id=entity, name=name, attributes=attributes, contacts=[]),  # storm poles: none
            "event": SimpleNamespace(
                trigger=TRIGGER,
                source="group_3",
                dest="awaiting_decision",
                occurred_at=DUE_AT,
                recorded_at=self.now,
                data={},
            ),
            "data": data,
            "basis": None,  # the storm's timers rest on no assumed or synthetic fact
            "workflow": self.workflow,
            "date_fr": self.date,
            "decision_date_fr": decided.date_fr,
            "facts": [],
            "reference": f"POLES-2008/{entity}/{seq:03d}-1",
            "letterhead": decided.letterhead,
            "authority": decided.authority,
            "mentions": decided.mentions,
            "signatory": decided.signatory,
            "copies": [forms[role].label for role in ROLES[1:]],
            "recipient": SimpleNamespace(
                role=ROLES[0],
                label=recipient.label,
                name="",
                address=(),
                email="",
                civility="",
                appel=recipient.appel,
                politesse=recipient.politesse,
            ),
        }
        subject = " ".join(WORDS.split(self.subject.render(context).strip(" \t\n")))  # one line; no-break spaces kept
        text = self.text.render(context, layout="_layout.txt.j2")
        html = self.html.render(context, layout="_layout.html.j2")
        checksum = letter_checksum(subject, text, html)  # no contact: the recipient's name, address, e-mail are ""
        return [(role, forms[role].label, subject, text, html, checksum) for role in ROLES]


def sweep(path: str, batch: int, static: dict[str, Any]) -> int:
    """Fire every due timer in batches; return how many fired."""
    conn = connect(path)
    clock = datetime.now(UTC)
    now = clock.replace(tzinfo=None).isoformat(" ", "microseconds")
    letters = Letters(static, clock)
    fired = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        due = conn.execute(
            "SELECT timer.id, timer.instance_id, instance.version, instance.last_hash, instance.data, entity.id, "
            "entity.name, entity.attributes FROM timer JOIN instance ON instance.id = timer.instance_id "
            "JOIN entity ON entity.id = instance.entity_id WHERE timer.status = 'pending' AND timer.due_at <= ? "
            "ORDER BY timer.due_at, timer.id LIMIT ?",
            (now, batch),
        ).fetchall()
        for timer_id, iid, version, last_hash, data, entity, name, attributes in due:
            seq = version + 1
            rendered = letters.render(entity, name, json.loads(attributes), json.loads(data), seq)
            digest = f"{iid:064x}"
            updated = conn.execute(
                "UPDATE instance SET state = 'awaiting_decision', version = ?, data = ?, last_hash = ?, "
                "entered_at = ?, updated_at = ? WHERE id = ? AND version = ?",
                (seq, data, digest, DUE, now, iid, version),
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
                "INSERT INTO letter (instance_id, event_id, template, recipient, recipient_label, subject, body, "
                "body_html, checksum, status, attempts, created_at) VALUES (?, ?, 'fin_label_maintenu', ?, ?, ?, ?, ?, "
                "?, 'pending', 0, ?)",
                [(iid, eid, *letter, now) for letter in rendered],
            )
        conn.execute("COMMIT")
        fired += len(due)
        if len(due) < batch:
            break
    conn.close()
    return fired


if __name__ == "__main__":
    database, size, static_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(static_file, encoding="utf-8") as handle:
        static = json.load(handle)
    print(f"RAW {sweep(database, size, static)}")
