"""Migrations of live instances to a new workflow version: ``migrate plan FILE`` and ``migrate run PLAN``."""

from __future__ import annotations

import click

from ..engine.representations import batch_item_json, batch_json
from ..message import N_, Term, listed
from ..operations.migration import load_migration, plan_migration
from ..store.records import ItemStatus
from .base import App, instant, json_option, main, row, table
from .plans import print_plan, run
from .saying import echo


@main.group()
def migrate() -> None:
    """Carry live instances to a new version of their workflow, in two steps: plan, then run.

    \b
    Examples:
      labelwf migrate plan migrations/phase-3.yaml --at 2013-01-09 \\
          --actor Gouvernement --reason "Phase 3 : les pôles sont reconduits sans nouvelle candidature"
      labelwf migrate run 4
    """


@migrate.command("plan")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--actor", required=True, help="Who decides (recorded in each event).")
@click.option("--reason", required=True, help="Why (recorded in each event).")
@click.option("--at", metavar="DATETIME", help="The migration's date (local time); default now.")
@json_option
@click.pass_obj
def plan(app: App, file: str, actor: str, reason: str, at: str | None, as_json: bool) -> None:
    """Preview the migration FILE describes, instance by instance, and freeze it; change nothing.

    For each instance: its new state, each timer kept or recomputed (old and new due instants),
    the letters it would get, or why it is refused (a state the file does not map, missing data).
    """
    migration = load_migration(file, app.engine)
    report = plan_migration(
        app.engine, migration, actor=actor, reason=reason, at=instant(at, migration.target.timezone, "--at")
    )
    if as_json:
        return app.emit_json(batch_json(report.batch) | {"items": [batch_item_json(i) for i in report.items]})
    print_plan(app, report.batch, report.items)
    left = report.batch.spec.get("left") or {}
    if left:
        labels = migration.source
        where = listed(
            [N_("%(count)s in %(state)s", count=n, state=Term("state", s, quoted=False)) for s, n in left.items()]
        )
        echo(
            N_("  left on version %(version)s: %(where)s", version=migration.source.version, where=where), labels=labels
        )
    timers = table("timers", "how", "timer", "instances")
    counts: dict[tuple[str, str], int] = {}
    for item in report.items:
        for t in item.preview.get("timers", []):
            counts[(t["how"], t["name"])] = counts.get((t["how"], t["name"]), 0) + 1
    for (how, name), n in sorted(counts.items()):
        row(timers, how, name, n)
    if counts:
        app.out.print(timers)
    if report.batch.counts.get(ItemStatus.PENDING):
        echo(
            N_(
                "nothing migrated yet: `labelwf migrate run %(id)s` executes exactly this plan",
                id=report.batch.id,
            )
        )
    return None


migrate.add_command(run, "run")  # the same run as `decide run`: every kind of plan runs alike
