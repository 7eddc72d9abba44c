"""A region map (regions merged or renamed on a date) applied to every entity whose region is in it.

The map is a CSV file ``former_region,region,valid_from,source[,note]``: from ``valid_from`` (an
ISO date, midnight in Paris), ``former_region`` is called ``region``. ``source`` gives the public
record's keys; a ``note`` starting with ``assumed:`` says what the record does not give (the row's
basis is then ``assumed``). Every entity whose ``region`` attribute names a former region gets one
new version per date (``operations.entity_versions``), its regions renamed and named once each
("Languedoc-Roussillon; Midi-Pyrénées" becomes "Occitanie"). An entity whose label has ended
(its newest instance in a final state) keeps the regions it had: nothing more is written to it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from ..engine.fire import Engine
from ..store import reads
from ..store.entity_versions import all_entities
from ..store.records import Basis
from .entity_versions import EntityChange, change_entity

COLUMNS = ("former_region", "region", "valid_from", "source")
PARIS = ZoneInfo("Europe/Paris")
_EXTRA = re.compile(r"^(.*?)\s*\(\+\s*(.*)\)\s*$")


@dataclass(frozen=True, slots=True)
class RegionRename:
    """One row of a region map: ``former`` is called ``region`` from ``valid_from``."""

    former: str
    region: str
    valid_from: datetime
    source: str
    note: str = ""

    @property
    def basis(self) -> Basis | None:
        """The row's basis: assumed when its note says so, the record when it has a source."""
        if self.note.lower().startswith("assumed:"):
            return Basis.assumed(self.note.split(":", 1)[1].strip(), source=self.source or None)
        return Basis.record(self.source) if self.source else None


def read_region_map(path: str | Path) -> list[RegionRename]:
    """The rows of a region map, or ``ValueError`` naming the line, the value and what is expected."""
    text = Path(path).read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"{path}: the header lacks {', '.join(missing)}; expected {','.join(COLUMNS)}[,note]")
    rows: list[RegionRename] = []
    for record in reader:
        line = reader.line_num
        former, region = (record.get("former_region") or "").strip(), (record.get("region") or "").strip()
        if not former or not region:
            raise ValueError(
                f"{path}, line {line}: former_region and region are both needed, got {former!r}, {region!r}"
            )
        raw = (record.get("valid_from") or "").strip()
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"{path}, line {line}: valid_from {raw!r} is not a date YYYY-MM-DD") from None
        rows.append(
            RegionRename(
                former,
                region,
                datetime.combine(day, time(), PARIS),
                (record.get("source") or "").strip(),
                (record.get("note") or "").strip(),
            )
        )
    return rows


def remap(value: str, names: Mapping[str, str]) -> str:
    """A ``region`` attribute ("A; B (+ C, D)") with each name renamed by ``names``, each named once."""
    seen: list[str] = []
    parts = []
    for part in value.split(";"):
        found = _EXTRA.match(part.strip())
        head, extras = (found.group(1), found.group(2).split(",")) if found else (part, [])
        head = names.get(head.strip(), head.strip())
        others = []
        for extra in extras:
            renamed = names.get(extra.strip(), extra.strip())
            if renamed and renamed != head and renamed not in seen and renamed not in others:
                others.append(renamed)
        if head and head in seen:
            continue
        seen.append(head)
        seen.extend(others)
        parts.append(f"{head} (+ {', '.join(others)})" if others else head)
    return "; ".join(parts)


def apply_region_map(
    engine: Engine,
    renames: Sequence[RegionRename],
    *,
    actor: str,
    reason: str,
    basis: Basis | None = None,
    at: datetime | None = None,
) -> list[EntityChange]:
    """Give every live entity whose region is renamed a new version per date; ``basis`` (the step's)
    overrides the rows' own. Each version is its own transaction (one event and one version row)."""
    changes: list[EntityChange] = []
    for start in sorted({r.valid_from for r in renames}):
        names = {r.former: r.region for r in renames if r.valid_from == start}
        with engine.db.read() as conn:
            candidates = [
                e
                for e in all_entities(conn)
                if remap(str(e.attributes.get("region") or ""), names) != str(e.attributes.get("region") or "")
            ]
        for current in candidates:
            entity, region = current.id, str(current.attributes.get("region") or "")
            with engine.db.read() as conn:
                instances = reads.find_instances(conn, entity)
            if not instances:
                continue
            newest = max(instances, key=lambda i: i.id)
            if engine.workflow_of(newest).states[newest.state].final:
                continue
            renamed = remap(region, names)
            if renamed == region:
                continue
            matched = [r for r in renames if r.valid_from == start and r.former in region]
            given = basis or next((r.basis for r in matched if r.basis is not None), None)
            changes.append(
                change_entity(
                    engine,
                    entity,
                    {"region": renamed},
                    actor=actor,
                    reason=reason,
                    valid_from=start,
                    at=at,
                    basis=given,
                )
            )
    return changes
