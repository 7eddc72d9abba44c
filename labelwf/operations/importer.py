"""Importing entities from a CSV file: all or nothing, every bad row named with its line.

The file is UTF-8 (a BOM is accepted) with a header row, separated by commas (or by semicolons, as French
spreadsheet software writes it, when the header is). Columns: ``id`` (a lower-case slug),
``name``, and the attribute columns that the workflow declares; any other column is refused.
Blank cells are stored as absent (blank means "not known", never "no"). Each row becomes an
entity and an instance of the workflow in its initial state, in one transaction.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..engine.fire import Engine
from ..errors import ImportRejected, Problem
from ..letters.address import civility_of
from ..store.basis import Basis
from ..store.entities import existing_entities, insert_entities
from ..store.records import Entity
from ..text import email_problem, text_problem
from ..workflow.definition import Workflow

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


@dataclass(frozen=True)
class EntityRow:
    """One valid row of an entity file."""

    line: int
    id: str
    name: str
    attributes: dict[str, str]
    contacts: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class ImportReport:
    """What an import created."""

    file: str
    entities: int
    workflow: str


def read_entities(path: str | Path, workflow: Workflow) -> list[EntityRow]:
    """Read and validate an entity file; raise ``ImportRejected`` listing every bad row."""
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportRejected([Problem(name, None, "file not found")]) from None
    except OSError as exc:
        raise ImportRejected([Problem(name, None, f"cannot be read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportRejected(
            [Problem(name, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8")]
        ) from None
    if not text.strip():
        raise ImportRejected([Problem(name, None, "the file is empty; expected a header row id,name,...")])
    problems: list[Problem] = []
    rows: list[EntityRow] = []
    allowed = ("id", "name", *workflow.attributes)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter_of(text))
    try:
        header = [h.strip() for h in next(reader)]
        unknown = [h for h in header if h not in allowed]
        if unknown:
            problems.append(
                Problem(name, 1, f"unknown column(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")
            )
        for column in ("id", "name"):
            if column not in header:
                problems.append(Problem(name, 1, f"missing column {column!r}; the header must include id and name"))
        repeated = sorted({h for h in header if header.count(h) > 1})
        if repeated:
            problems.append(Problem(name, 1, f"column(s) given twice: {', '.join(repeated)}"))
        if problems:
            raise ImportRejected(problems)
        seen: dict[str, int] = {}
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                problems.append(Problem(name, line, f"{len(cells)} cells, expected {len(header)} (one per column)"))
                continue
            record = {h: c.strip() for h, c in zip(header, cells, strict=True)}
            row_problems = _check_row(record)
            for message in row_problems:
                problems.append(Problem(name, line, message))
            if row_problems:
                continue
            if record["id"] in seen:
                problems.append(
                    Problem(name, line, f"id {record['id']!r} is given twice (first at line {seen[record['id']]})")
                )
                continue
            seen[record["id"]] = line
            attributes = {k: v for k, v in record.items() if k not in ("id", "name") and v}
            rows.append(EntityRow(line, record["id"], record["name"], attributes))
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, f"malformed CSV: {exc}"))
    if problems:
        raise ImportRejected(problems)
    if not rows:
        raise ImportRejected([Problem(name, None, "no data rows after the header")])
    return rows


MAX_NAME, MAX_VALUE = 300, 2000


def delimiter_of(text: str) -> str:
    """``;`` for a file whose header is separated by semicolons and holds no comma (as French
    spreadsheet software writes CSV), else ``,``."""
    header = text.split("\n", 1)[0]
    return ";" if ";" in header and "," not in header else ","


def entity_problems(row: EntityRow, workflow: Workflow | None = None) -> list[str]:
    """What is wrong with an entity before it is registered (the library's boundary, whatever the source).

    Its id becomes a folder name in the outbox and a part of letter references: a slug only. With
    ``workflow``, its attributes must be ones the workflow declares, of the declared types.
    """
    problems = []
    if not isinstance(row.id, str) or not ID_RE.match(row.id):
        problems.append(f"id {row.id!r} is not a slug: use lower-case letters, digits and '-', at most 100 characters")
    if not isinstance(row.name, str) or not row.name.strip():
        problems.append(f"name is empty for id {row.id!r}")
    else:
        problem = text_problem(row.name, f"name of {row.id!r}", max_length=MAX_NAME)
        if problem is not None:
            problems.append(problem)
    for key, value in row.attributes.items():
        problem = text_problem(str(value), f"attribute {key!r} of {row.id!r}", max_length=MAX_VALUE)
        if problem is None and workflow is not None:
            problem = _attribute_problem(workflow, key, value, row.id)
        if problem is not None:
            problems.append(problem)
    for contact in row.contacts:
        problems.extend(_contact_problems(contact, row.id))
    return problems


def _attribute_problem(workflow: Workflow, key: str, value: Any, entity: str) -> str | None:
    if key not in workflow.attributes:
        return f"attribute {key!r} of {entity!r} is not one {workflow.key} declares: {', '.join(workflow.attributes)}"
    kind = workflow.attribute_types.get(key)
    try:
        if kind is not None:
            kind.coerce(value, "attribute")
    except ValueError as exc:
        return f"{entity!r}: {exc}"
    return None


def _contact_problems(contact: Any, entity: str) -> list[str]:
    """What is wrong with one contact of ``entity`` (the library's boundary: whatever the source)."""
    if not isinstance(contact, dict) or not all(isinstance(v, str) for v in contact.values()):
        return [f"contact of {entity!r} must map role, name, address and email to texts, got {contact!r}"]
    role = contact.get("role", "")
    problems = [] if ID_RE.match(role.replace("_", "-")) else [f"contact role {role!r} of {entity!r} is not a name"]
    for key, multiline in (("name", False), ("address", True)):
        problem = text_problem(
            contact.get(key, ""), f"contact {key} of {entity!r}", max_length=MAX_NAME, multiline=multiline
        )
        if problem is not None:
            problems.append(problem)
    email = contact.get("email", "")
    problem = email_problem(email, f"contact e-mail of {entity!r}") if email else None
    if civility_of(contact.get("civility")) is None:
        problems.append(f"contact civility {contact.get('civility')!r} of {entity!r} is not Madame or Monsieur")
    return problems + ([problem] if problem else [])


def _check_row(record: dict[str, str]) -> list[str]:
    problems = []
    if not ID_RE.match(record["id"]):
        problems.append(
            f"id {record['id']!r} is not a slug: use lower-case letters, digits and '-', at most 100 characters"
        )
    if not record["name"]:
        problems.append(f"name is empty for id {record['id']!r}")
    for key, value in record.items():
        if any(ord(ch) < 32 and ch not in "\t\n" for ch in value):
            problems.append(f"column {key!r} contains control characters: {value!r}")
    return problems


def import_entities(
    engine: Engine,
    path: str | Path,
    *,
    actor: str,
    reason: str | None = None,
    workflow: str | None = None,
    progress: Callable[[int, int], Any] | None = None,
    contacts: str | Path | None = None,
    at: datetime | None = None,
) -> ImportReport:
    """Import the entities of ``path`` (and their ``contacts``) and start their instances, all or nothing."""
    wf = engine.workflow(workflow)
    rows = read_entities(path, wf)
    if contacts is not None:
        rows = attach_contacts(rows, read_contacts(contacts, {r.id for r in rows}, set(wf.recipients)))
    add_entities(
        engine,
        rows,
        actor=actor,
        reason=reason or f"import of {Path(path).name}",
        workflow=wf.name,
        source=str(path),
        progress=progress,
        at=at,
    )
    return ImportReport(str(path), len(rows), wf.key)


def add_entities(
    engine: Engine,
    rows: Sequence[EntityRow],
    *,
    actor: str,
    reason: str,
    workflow: str | None = None,
    source: str = "(entities)",
    progress: Callable[[int, int], Any] | None = None,
    at: datetime | None = None,
    basis: Basis | None = None,
) -> None:
    """Register entities and start their instances in one transaction; refuse ids already present.

    ``at``: when the entities entered the programme (business time; default now); ``basis``: where
    their entry comes from (the record's keys, an assumption), in each creation event.
    """
    wf = engine.workflow(workflow)
    refused = [Problem(source, r.line, message) for r in rows for message in entity_problems(r, wf)]
    if refused:
        raise ImportRejected(refused)
    with engine.db.write() as conn:
        existing = existing_entities(conn, [r.id for r in rows])
        if existing:
            raise ImportRejected(
                [Problem(source, r.line, f"id {r.id!r} is already imported") for r in rows if r.id in existing]
            )
        insert_entities(conn, (Entity(r.id, r.name, r.attributes, r.contacts) for r in rows), engine.clock.now())
        for done, row in enumerate(rows, start=1):
            engine.create(conn, row.id, actor=actor, reason=reason, workflow=wf.name, at=at, basis=basis)
            if progress is not None:
                progress(done, len(rows))


CONTACT_COLUMNS = ("entity", "role", "name", "address", "email")


def read_contacts(path: str | Path, entities: set[str], roles: set[str]) -> dict[str, list[dict[str, str]]]:
    """Read a contacts CSV (entity, role, name, address, email, and optionally civility: Madame or Monsieur);
    raise ``ImportRejected`` naming every bad row.

    ``address`` lines are separated by `` / `` or newlines; one contact per entity and role.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ImportRejected([Problem(str(path), None, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ImportRejected([Problem(str(path), None, f"not UTF-8 text ({exc.reason})")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter_of(text))
    problems: list[Problem] = []
    found: dict[str, list[dict[str, str]]] = {}
    try:
        header = [h.strip() for h in reader.fieldnames or []]
        if sorted(set(header) - {"civility"}) != sorted(CONTACT_COLUMNS) or len(set(header)) != len(header):
            expected = f"{', '.join(CONTACT_COLUMNS)} (and civility, optional)"
            raise ImportRejected(
                [Problem(str(path), 1, f"columns must be {expected}; got {', '.join(header) or 'none'}")]
            )
        seen: dict[tuple[str, str], int] = {}
        for record in reader:
            line = reader.line_num
            row = {k.strip(): (v or "").strip() for k, v in record.items() if k is not None}
            if row["entity"] not in entities:
                problems.append(Problem(str(path), line, f"unknown entity {row['entity']!r} (not in the entity file)"))
            if row["role"] not in roles:
                problems.append(
                    Problem(
                        str(path), line, f"unknown recipient role {row['role']!r}; roles: {', '.join(sorted(roles))}"
                    )
                )
            problem = email_problem(row["email"], "e-mail") if row["email"] else None
            if problem is not None:
                problems.append(Problem(str(path), line, problem))
            key = (row["entity"], row["role"])
            if key in seen:
                problems.append(
                    Problem(str(path), line, f"a second contact for {key[0]}/{key[1]} (first at line {seen[key]})")
                )
            seen[key] = line
            address = "\n".join(p.strip() for p in re.split(r"\s+/\s+|\n", row["address"]) if p.strip())
            civility = civility_of(row.get("civility"))
            if civility is None:
                problems.append(Problem(str(path), line, f"civility {row.get('civility')!r} is not Madame or Monsieur"))
            contact = {"role": row["role"], "name": row["name"], "address": address, "email": row["email"]}
            found.setdefault(row["entity"], []).append(contact | ({"civility": civility} if civility else {}))
    except csv.Error as exc:
        problems.append(Problem(str(path), reader.line_num, f"malformed CSV: {exc}"))
    if problems:
        raise ImportRejected(problems)
    return found


def attach_contacts(rows: Sequence[EntityRow], contacts: dict[str, list[dict[str, str]]]) -> list[EntityRow]:
    """The rows with their contacts."""
    return [EntityRow(r.line, r.id, r.name, r.attributes, tuple(contacts.get(r.id, ()))) for r in rows]
