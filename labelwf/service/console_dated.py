"""What the console's instance page shows of an entity's dated versions: the entity as it was on a
chosen day ("À la date du"), and the list of its versions with their bases, in French.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import Any

from ..engine.fire import Engine
from ..operations.entity_versions import entity_versions
from ..store.basis import Basis
from ..store.entity_versions import in_force
from ..store.records import Entity
from ..workflow.timers import localize


@dataclass(frozen=True, slots=True)
class ShownVersion:
    """One version as the page lists it: from when, its name and region, its basis in French."""

    since: str
    name: str
    region: str
    basis: str


def basis_text(basis: Any) -> str:
    """A version's basis as a person reads it: ``Source : …``, ``Hypothèse : …``, or the act itself."""
    if not basis:
        return "Acte enregistré (sans autre fondement)"
    try:
        return Basis.parse(basis).described
    except ValueError:
        return "Fondement illisible"


def day_of(text: str, zone: tzinfo, at: time = time(23, 59, 59)) -> tuple[datetime | None, str]:
    """The instant ``at`` (default the end) of the day ``text`` (``AAAA-MM-JJ`` or ``JJ/MM/AAAA``) in
    ``zone``, or None and an error in French."""
    raw = text.strip()[:40]
    for form in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            day = datetime.strptime(raw, form).date()  # a calendar day, localized below
        except ValueError:
            continue
        return localize(datetime.combine(day, at), zone), ""
    return None, f"« {raw} » n'est pas une date lisible : attendu JJ/MM/AAAA, par exemple 01/01/2016."


def dated_context(engine: Engine, entity: str, as_of: str, zone: tzinfo) -> dict[str, Any]:
    """The page's dated part: the versions, and the entity as it was on ``as_of`` (when given)."""
    versions = entity_versions(engine, entity)
    shown = [
        ShownVersion(
            since=v.valid_from.astimezone(zone).strftime("%d/%m/%Y") if v.valid_from else "l'enregistrement",
            name=v.entity.name,
            region=str(v.entity.attributes.get("region") or "—"),
            basis=basis_text(v.basis),
        )
        for v in versions
    ]
    context: dict[str, Any] = {"versions": shown, "as_of": "", "as_of_fr": "", "as_of_entity": None, "as_of_error": ""}
    if not as_of.strip():
        return context
    when, error = day_of(as_of, zone)
    if when is None:
        return context | {"as_of_error": error}
    found = in_force(versions, when)
    dated: Entity | None = found.entity if found is not None else None
    return context | {
        "as_of": when.astimezone(zone).strftime("%d/%m/%Y"),
        "as_of_fr": when.astimezone(zone).strftime("%d/%m/%Y"),
        "as_of_entity": dated,
    }
