"""An entity's reference data changed from a date (a pole renamed, its region merged): one transaction.

The change is an event in the chain of the entity's newest instance (state kept, trigger
``(entity changed)``, data ``{"entity_change": {...new values...}, "was": {...previous values...},
"valid_from": ISO}``, with its basis), and a new row of ``entity_version`` that references that
event; no version is ever overwritten. The entity row becomes the new version (a change takes
effect at the latest now: the row always holds the version in force now).

What may change: ``name`` (the display name), ``contacts`` (the whole list, each contact with the
keys of an import: role, name, address, email, civility) and any attribute (``region``, ``address``,
``theme``…; ``None`` removes it). Refused, writing nothing: an unknown entity, an entity with no
instance to carry the event, a contact with an unknown key, a ``valid_from`` in the future or not
after the newest version's, a change that changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import require_aware
from ..engine.chain import chain_action
from ..engine.decision import CLOCK_SKEW, Request, refuse_reserved, require_justification
from ..engine.fire import Engine
from ..errors import ActionRefused, BusinessTimeRefused, InvalidData, NotFound
from ..store import reads
from ..store.entity_versions import EntityVersion, entity_at, insert_version, load_entity, set_current, versions_of
from ..store.records import Basis, Entity
from ..text import text_problem
from ..workflow.definition import OPERATOR
from .importer import MAX_NAME, MAX_VALUE

CHANGED = "(entity changed)"
CONTACT_KEYS = ("role", "name", "address", "email", "civility")


@dataclass(frozen=True, slots=True)
class EntityChange:
    """What a change wrote: the event (its instance's workflow and seq) and the version now in force."""

    entity: Entity
    valid_from: datetime
    workflow: str
    seq: int


def _value_problem(key: str, value: Any) -> str | None:
    if key == "contacts":
        if not isinstance(value, list) or not all(isinstance(c, Mapping) for c in value):
            return f"contacts is a list of contacts (role, name, address, email, civility), got {value!r}"
        for contact in value:
            unknown = sorted(str(k) for k in contact if k not in CONTACT_KEYS)
            if unknown:
                return f"a contact has the key(s) {', '.join(unknown)}: a contact's keys are {', '.join(CONTACT_KEYS)}"
            if not all(isinstance(v, str) for v in contact.values()):
                return f"a contact maps its keys to texts, got {dict(contact)!r}"
        return None
    if value is None and key != "name":
        return None  # removes the attribute
    if not isinstance(value, str) or not value.strip():
        return f"{key} is a non-empty text, got {value!r}"
    return text_problem(value, key, max_length=MAX_NAME if key == "name" else MAX_VALUE, multiline=key == "address")


def changed(current: Entity, changes: Mapping[str, Any]) -> tuple[Entity, dict[str, Any], dict[str, Any]]:
    """``current`` with ``changes`` applied, and the values that differ: (new version, new values, old values)."""
    name, attributes, contacts = current.name, dict(current.attributes), current.contacts
    new: dict[str, Any] = {}
    was: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            if value != name:
                new[key], was[key], name = value, name, str(value).strip()
        elif key == "contacts":
            listed = tuple(dict(c) for c in value)
            if listed != tuple(dict(c) for c in contacts):
                new[key], was[key], contacts = list(listed), [dict(c) for c in contacts], listed
        elif attributes.get(key) != value:
            new[key], was[key] = value, attributes.get(key)
            if value is None:
                attributes.pop(key, None)
            else:
                attributes[key] = value
    return Entity(current.id, name, attributes, contacts), new, was


def change_entity(
    engine: Engine,
    entity: str,
    changes: Mapping[str, Any],
    *,
    actor: str,
    reason: str,
    valid_from: datetime | None = None,
    at: datetime | None = None,
    basis: Basis | Mapping[str, Any] | None = None,
    principal: str | None = None,
) -> EntityChange:
    """Record that ``entity``'s ``changes`` are in force from ``valid_from`` (default: ``at``, or now).

    ``at`` is the business time of the event that records it (default now); ``basis`` where the
    change comes from (the record with its source keys, an assumption, synthetic data)."""
    refuse_reserved(Request(entity=entity, trigger=CHANGED, actor=actor, reason=reason))
    require_justification(entity, CHANGED, actor, reason)
    if not changes:
        raise InvalidData(entity, CHANGED, "set", "say what changes: name, contacts or an attribute (region…)")
    for key, value in changes.items():
        problem = _value_problem(str(key), value)
        if problem is not None:
            raise InvalidData(entity, CHANGED, str(key), problem)
    try:
        given = None if basis is None else Basis.parse(basis)
    except ValueError as exc:
        raise InvalidData(entity, CHANGED, "basis", str(exc)) from None
    now = engine.clock.now()
    occurred = require_aware(at, "at") if at is not None else now
    start = require_aware(valid_from, "valid_from") if valid_from is not None else occurred
    with engine.db.write() as conn:
        current = load_entity(conn, entity)
        if current is None:
            raise NotFound("entity", entity, "`labelwf list` shows the registered entities")
        instances = reads.find_instances(conn, entity)
        if not instances:
            raise ActionRefused("change", entity, "without an instance", "an entity with an instance to record it")
        newest = max(instances, key=lambda i: i.id)
        last = reads.last_event_at(conn, newest.id)
        if (last is not None and occurred < last) or occurred > now + CLOCK_SKEW:
            raise BusinessTimeRefused(entity, occurred, last, now + CLOCK_SKEW)
        versions = versions_of(conn, entity)
        latest = max((v.valid_from for v in versions if v.valid_from is not None), default=None)
        if start > now + CLOCK_SKEW:
            raise InvalidData(
                entity,
                CHANGED,
                "valid_from",
                f"{start.isoformat()} is in the future: record a change when it takes effect, "
                f"from {(now + CLOCK_SKEW).isoformat(timespec='seconds')} at the latest",
            )
        if latest is not None and start <= latest:
            raise InvalidData(
                entity,
                CHANGED,
                "valid_from",
                f"{start.isoformat()} is not after the newest version's ({latest.isoformat()}): "
                f"a version is never rewritten; give a date after {latest.isoformat()}",
            )
        version, new, was = changed(current, changes)
        if not new:
            raise InvalidData(
                entity, CHANGED, "set", f"nothing changes: {dict(changes)!r} are already {entity!r}'s values"
            )
        data = {"entity_change": new, "was": was, "valid_from": start.isoformat()}
        event, eid = chain_action(
            engine,
            conn,
            newest,
            action=CHANGED[1:-1],
            data=data,
            actor=actor,
            role=OPERATOR,
            reason=reason,
            principal=principal,
            occurred_at=occurred,
            basis=given,
        )
        if not versions:  # the version as registered, in force since always
            insert_version(conn, current, valid_from=None, event_id=None, basis=None, now=now)
        insert_version(
            conn, version, valid_from=start, event_id=eid, basis=None if given is None else given.as_json(), now=now
        )
        set_current(conn, version)
    return EntityChange(version, start, newest.workflow, event.seq)


def entity_as_of(engine: Engine, entity: str, at: datetime) -> Entity:
    """``entity`` as it was at ``at`` (the version then in force)."""
    with engine.db.read() as conn:
        current = load_entity(conn, entity)
        if current is None:
            raise NotFound("entity", entity, "`labelwf list` shows the registered entities")
        return entity_at(conn, current, require_aware(at, "as_of"))


def entity_versions(engine: Engine, entity: str) -> list[EntityVersion]:
    """Every version of ``entity``, oldest first (one, as registered, when it never changed)."""
    with engine.db.read() as conn:
        current = load_entity(conn, entity)
        if current is None:
            raise NotFound("entity", entity, "`labelwf list` shows the registered entities")
        return versions_of(conn, entity) or [EntityVersion(current, None)]


def version_json(version: EntityVersion) -> dict[str, Any]:
    """One version as ``--json`` and the API give it: its values, from when, its event and its basis."""
    return {
        "name": version.entity.name,
        "attributes": dict(version.entity.attributes),
        "contacts": [dict(c) for c in version.entity.contacts],
        "valid_from": version.valid_from.isoformat() if version.valid_from else None,
        "workflow": version.workflow or None,
        "seq": version.seq,
        "basis": dict(version.basis) if version.basis else None,
    }
