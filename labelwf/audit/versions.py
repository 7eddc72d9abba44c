"""Checking an entity's dated versions against the chain events that recorded them.

A version row is not hashed itself: the event that recorded it is, with the change's new values,
the values they replaced and the date they take effect (``entity_change``, ``was``,
``valid_from``) and its basis. So each version must be the one before it with its event's change
applied, from its event's date and with its event's basis; the first must be the version as
registered (no date, no event) and hold the values the first change says it replaced; and the
newest must be the entity row (the version in force now). A row altered, inserted or deleted in the
database breaks one of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise

from sqlalchemy.engine import Connection

from ..store.entity_versions import EntityVersion, apply_change, every_version, load_entity, same, versions_of
from ..store.records import Entity


def version_problems(
    entity: str, versions: Sequence[EntityVersion], current: Entity | None
) -> list[tuple[str, int | None, int | None, str]]:
    """What does not hold in ``entity``'s versions (oldest first): (workflow, seq, event id, problem)."""
    found: list[tuple[str, int | None, int | None, str]] = []
    if not versions:
        return found
    first = versions[0]
    if first.valid_from is not None or first.event_id is not None:
        found.append((first.workflow, first.seq, first.event_id, "the first version is not the one as registered"))
        return found
    for before, version in pairwise(versions):
        where = (version.workflow, version.seq, version.event_id)
        change = version.change.get("entity_change") if version.event_id is not None else None
        if not isinstance(change, dict) or version.seq is None:
            found.append((*where, f"version of {entity!r} from {version.valid_from} has no change event"))
            continue
        was = version.change.get("was") or {}
        expected = apply_change(before.entity, change)
        stated = str(version.change.get("valid_from", ""))
        if version.valid_from is None or version.valid_from.isoformat() != _iso(stated):
            found.append((*where, f"version dated {version.valid_from} but its event says {stated or 'nothing'}"))
        elif not same(version.entity, expected):
            found.append((*where, f"version of {entity!r} from {stated} altered: not its event's change"))
        elif any(_value(before.entity, key) != value for key, value in was.items()):
            found.append((*where, f"version of {entity!r} before {stated} altered: not what its change replaced"))
        elif (version.basis or None) != (version.event_basis or None):
            found.append((*where, f"version of {entity!r} from {stated}: its basis is not its event's"))
        if before.valid_from is not None and version.valid_from is not None and version.valid_from <= before.valid_from:
            found.append((*where, f"version of {entity!r} from {stated} is not after the one before"))
    newest = versions[-1]
    if current is None or not same(newest.entity, current):
        found.append(("", None, None, f"entity row of {entity!r} is not its newest version"))
    return found


def _iso(stated: str) -> str:
    """The event's ``valid_from`` in the form the row's instant takes (UTC), or the text as given."""
    try:
        return datetime.fromisoformat(stated).astimezone(UTC).isoformat()
    except ValueError:
        return stated


def _value(version: Entity, key: str) -> object:
    if key == "name":
        return version.name
    if key == "contacts":
        return [dict(c) for c in version.contacts]
    return version.attributes.get(key)


def check_versions(conn: Connection, entity: str | None = None) -> list[tuple[str, str, int | None, int | None, str]]:
    """Every problem of every entity's versions (or one entity's): (entity, workflow, seq, event id, problem)."""
    grouped = {entity: versions_of(conn, entity)} if entity is not None else every_version(conn)
    found = []
    for name, versions in grouped.items():
        for workflow, seq, event_id, problem in version_problems(name, versions, load_entity(conn, name)):
            found.append((name, workflow, seq, event_id, problem))
    return found
