"""Entities that change: ``entities cease``, ``entities merge``, ``entities versions``."""

from __future__ import annotations

from collections.abc import Sequence

import click

from ..message import N_
from ..operations.entity_changes import cease, merge
from ..operations.entity_versions import entity_versions, version_json
from .base import App, instant, json_option, main, row, table
from .saying import echo


@main.group("entities")
def entities() -> None:
    """Entities that change in a running programme: one that ceases, several that merge.

    New entities join with `labelwf import FILE --at DATE`.
    """


@entities.command("cease")
@click.argument("entity")
@click.option("--actor", required=True, help="Who records it (in the audit).")
@click.option("--reason", required=True, help="What happened, e.g. the court's judgment (in the audit).")
@click.option("--at", metavar="DATETIME", help="When the entity ceased (local time); default now.")
@json_option
@click.pass_obj
def cease_(app: App, entity: str, actor: str, reason: str, at: str | None, as_json: bool) -> None:
    """End ENTITY's label because the entity itself ceased (a liquidation): no decision, no letter.

    \b
    Example:
      labelwf entities cease novalog --at 2020-09-11 --actor ANCT \\
          --reason "Liquidation judiciaire de l'association (jugement du 11 septembre 2020)"
    """
    zone = app.workflow.timezone if app.workflow_name else app.engine.workflows[0].timezone
    change = cease(
        app.engine, entity, actor=actor, reason=reason, at=instant(at, zone, "--at"), workflow=app.workflow_name
    )
    if as_json:
        return app.emit_json({"ended": list(change.ended)})
    echo(
        N_(
            "%(entity)s: label ended with the entity (ceased); its pending deadlines cancelled, no letter",
            entity=entity,
        )
    )
    return None


@entities.command("merge")
@click.argument("merging", nargs=-1, required=True)
@click.option("--into", required=True, metavar="ID", help="The absorbing entity, or the id of a new one.")
@click.option("--name", help="The new entity's name (when --into is new).")
@click.option("--actor", required=True, help="Who records it (in the audit).")
@click.option("--reason", required=True, help="The merger, e.g. the general assemblies' dates (in the audit).")
@click.option("--at", metavar="DATETIME", help="When the merger took effect (local time); default now.")
@json_option
@click.pass_obj
def merge_(
    app: App,
    merging: Sequence[str],
    into: str,
    name: str | None,
    actor: str,
    reason: str,
    at: str | None,
    as_json: bool,
) -> None:
    """Pass the label of MERGING entities to another: an absorbing one, or a new one (--name).

    A new entity's instance continues the first merging one's: its state, data and deadlines.

    \b
    Examples:
      labelwf entities merge pegase risques --into safe --name "SAFE" --at 2015-06-01 \\
          --actor CGET --reason "Fusion de Pégase et Risques (assemblées générales de 2015)"
      labelwf entities merge advancity --into cap-digital --at 2018-05-01 --actor CGET --reason "Absorption"
    """
    zone = app.workflow.timezone if app.workflow_name else app.engine.workflows[0].timezone
    change = merge(
        app.engine,
        merging,
        into,
        actor=actor,
        reason=reason,
        name=name,
        at=instant(at, zone, "--at"),
        workflow=app.workflow_name,
    )
    if as_json:
        return app.emit_json({"ended": list(change.ended), "successor": change.successor})
    echo(
        N_(
            "%(ended)s merged into %(into)s: their instances ended (merged), the label goes on",
            ended=", ".join(change.ended),
            into=into,
        )
    )
    return None


@entities.command("versions")
@click.argument("entity")
@json_option
@click.pass_obj
def versions_(app: App, entity: str, as_json: bool) -> None:
    """List ENTITY's dated versions (name, region), each from its date, with its basis.

    \b
    Example:
      labelwf entities versions mipi
    """
    found = entity_versions(app.engine, entity)
    if as_json:
        return app.emit_json({"entity": entity, "versions": [version_json(v) for v in found]})
    out = table(
        f"Versions de {entity}", "en vigueur depuis", "nom", "région", "fondement", wrap=("nom", "région", "fondement")
    )
    for v in found:
        since = app.local(v.valid_from) if v.valid_from else "l’origine"
        basis = dict(v.basis or {})
        said = {"record": "dossier public", "assumed": "supposé", "synthetic": "fictif"}.get(
            str(basis.get("kind")), "acte"
        )
        detail = basis.get("source") or basis.get("text") or ""
        row(
            out,
            since,
            v.entity.name,
            str(v.entity.attributes.get("region") or "—"),
            f"{said} ({detail})" if detail else said,
        )
    app.out.print(out)
    return None
