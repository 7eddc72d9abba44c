"""``entities change``: an operator records that an entity's name, region, address or contacts
changed from a date (a new version, never an overwrite), with the reason and where it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

import click

from ..operations.contact_changes import contact_changes
from ..operations.entity_versions import change_entity, entity_versions
from ..store.basis import Basis
from .base import App, instant, json_option
from .entities import entities

_FRENCH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")


def french_or_iso(text: str, zone: tzinfo, option: str) -> datetime:
    """A date given the French way (``JJ/MM/AAAA``) or as ``AAAA-MM-JJ[THH:MM]``, local to ``zone``."""
    found = _FRENCH_DATE.match(text)
    iso = f"{found.group(3)}-{int(found.group(2)):02d}-{int(found.group(1)):02d}" if found else text
    try:
        when = instant(iso, zone, option)
    except click.BadParameter:
        raise click.BadParameter(
            f"« {text} » n'est pas une date lisible : attendu JJ/MM/AAAA (par exemple 01/01/2016) "
            "ou AAAA-MM-JJ (par exemple 2016-01-01)",
            param_hint=option,
        ) from None
    assert when is not None  # a text was given
    return when


def set_changes(sets: Sequence[str]) -> dict[str, Any]:
    """``--set key=value`` as the change's values (an empty value removes an attribute)."""
    changes: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(
                f"« {item} » n'est pas de la forme clé=valeur : par exemple name=Materalia ou region=Grand Est",
                param_hint="--set",
            )
        if key in changes:
            raise click.BadParameter(
                f"« {key} » est donné deux fois (« {changes[key]} » et « {value} ») : donnez chaque clé une fois",
                param_hint="--set",
            )
        if key == "contacts":
            raise click.BadParameter(
                "les contacts se donnent avec --contact role=…,name=…, pas avec --set", param_hint="--set"
            )
        if key == "name" and not value.strip():
            raise click.BadParameter("le nom ne peut pas être vide : donnez le nouveau nom", param_hint="--set")
        changes[key] = value.strip() or None
    return changes


def operator_basis(source: str | None, assumed: str | None) -> Basis | None:
    """The basis of the change: the record's ``--source`` keys, or what it ``--assumed``."""
    try:
        return Basis.said(source, assumed)
    except ValueError as exc:
        option = "--assumed" if assumed is not None else "--source"
        raise click.BadParameter(f"fondement refusé : {exc}", param_hint=option) from None


def change_json(
    entity: str, valid_from: datetime, workflow: str, seq: int, values: Mapping[str, Any]
) -> dict[str, Any]:
    """What ``--json`` prints of a recorded change: the version now in force and its event."""
    return {"entity": entity, "valid_from": valid_from.isoformat(), "workflow": workflow, "seq": seq, **values}


@entities.command("change")
@click.argument("entity")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A new value: name=…, region=…, address=…")
@click.option(
    "--contact",
    "contacts",
    multiple=True,
    metavar="role=…,name=…",
    help="A contact of the new version (replaces the contact of that role): role, name, address, email, civility.",
)
@click.option("--from", "valid_from", required=True, metavar="DATE", help="In force from (JJ/MM/AAAA or AAAA-MM-JJ).")
@click.option("--reason", required=True, help="Why (recorded in the audit), e.g. the act that renamed it.")
@click.option("--actor", help="Who decided it (recorded in the audit); default the acting operator.")
@click.option("--source", metavar="KEYS", help="The public record's source keys the change rests on (e.g. VIP-23).")
@click.option("--assumed", metavar="TEXT", help="What the change assumes where the record is silent.")
@json_option
@click.pass_obj
def change_(
    app: App,
    entity: str,
    sets: Sequence[str],
    contacts: Sequence[str],
    valid_from: str,
    reason: str,
    actor: str | None,
    source: str | None,
    assumed: str | None,
    as_json: bool,
) -> None:
    """Record that ENTITY's name, region, address or contacts changed from a date: a new version,
    never an overwrite; letters dated from then on use it, earlier ones keep the previous one.

    \b
    Examples:
      labelwf entities change mipi --set name=Materalia --from 01/01/2012 \\
          --reason "Le pôle prend le nom de Materalia" --source VIP-23
      labelwf entities change vegepolys --set "region=Pays de la Loire" --from 2016-01-01 \\
          --reason "Carte des régions de 2016" --assumed "date d'effet au 1er janvier 2016"
      labelwf entities change cap-digital --contact "role=president,name=Jean Dupont,civility=M." \\
          --from 2024-06-15 --reason "Élection du nouveau président"
    """
    if not sets and not contacts:
        raise click.UsageError("dites ce qui change : --set name=… ou region=…, ou --contact role=…,name=…")
    changes = set_changes(sets)
    basis = operator_basis(source, assumed)
    start = french_or_iso(valid_from, app.zone, "--from")
    if contacts:
        current = entity_versions(app.engine, entity)[-1].entity
        try:
            changes["contacts"] = contact_changes(current.contacts, contacts)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--contact") from None
    done = change_entity(
        app.engine,
        entity,
        changes,
        actor=actor or app.engine.principal or "opérateur",
        reason=reason,
        valid_from=start,
        basis=basis,
    )
    values = {
        "name": done.entity.name,
        "attributes": dict(done.entity.attributes),
        "contacts": [dict(c) for c in done.entity.contacts],
    }
    if as_json:
        return app.emit_json(change_json(entity, done.valid_from, done.workflow, done.seq, values))
    since = done.valid_from.astimezone(app.zone).strftime("%d/%m/%Y")
    region = done.entity.attributes.get("region")
    click.echo(
        f"{done.entity.name} : nouvelle version en vigueur depuis le {since}"
        + (f" (région : {region})" if region else "")
        + f", enregistrée dans l'historique (version {done.seq})"
    )
    return None
