"""Set-up and checks: ``init``, ``import``, ``workflows validate``, ``workflows list`` and ``workflows diff``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console

from ..errors import WorkflowError
from ..message import N_
from ..operations.importer import import_entities
from ..store import reads
from ..workflow.definition import Workflow
from ..workflow.diff import Changed, diff, diff_json, touched
from ..workflow.loader import load_workflow
from .base import EXIT_BAD_INPUT, App, instant, json_option, main, row, table
from .saying import echo


@main.command()
@click.option(
    "--demo-certificates",
    is_flag=True,
    help=(
        "Also create a demonstration certificate (no legal value) for each post of the directory "
        "and for the service's seal, each that has none."
    ),
)
@click.pass_obj
def init(app: App, demo_certificates: bool) -> None:
    """Create the database, or migrate it to this version's schema.

    With --demo-certificates, each post of the directory without a certificate in the folder
    signature_certificates gets a self-signed demonstration one (<post>.p12, its passphrase in
    <post>.passphrase, both readable by their owner only, and <post>.pem for whoever verifies);
    its name says it has no legal value, and so do the letters it signs. The service's seal, which
    signs the notices, gets one too (seal.p12). Posts that have one keep it.
    """
    before, after = app.db.upgrade()
    url, key_file = app.db.display_url, str(app.runtime.settings.audit_key_file)
    if before is None:
        echo(N_("database %(url)s: created schema revision %(after)s", url=url, after=after))
    elif before == after:
        echo(N_("database %(url)s: already at schema revision %(after)s", url=url, after=after))
    else:
        echo(
            N_(
                "database %(url)s: migrated from %(before)s to schema revision %(after)s",
                url=url,
                before=before,
                after=after,
            )
        )
    if app.runtime.create_audit_key():
        echo(N_("audit key: created %(file)s (keep it secret, and outside the database's backups)", file=key_file))
    else:
        echo(N_("audit key: %(file)s", file=key_file))
    if demo_certificates:
        from .demo_certificates import create_demo_certificates

        create_demo_certificates(app)


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--actor", default="import", show_default=True, help="Who imports (recorded in the audit).")
@click.option("--reason", help="Why (default: 'import of FILE').")
@click.option(
    "--contacts",
    type=click.Path(dir_okay=False),
    help="CSV of contacts (entity,role,name,address,email) to address letters to.",
)
@click.option(
    "--at", "at", metavar="DATETIME", help="When the entities entered the programme (local time); default now."
)
@click.pass_obj
def import_(app: App, file: str, actor: str, reason: str | None, contacts: str | None, at: str | None) -> None:
    """Import entities from a CSV FILE and start their instances (all or nothing, contacts included).

    \b
    Example:
      labelwf import data/poles_2008.csv --contacts contacts.csv
    """
    from rich.progress import Progress

    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("importing", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = import_entities(
            app.engine,
            file,
            actor=actor,
            reason=reason,
            workflow=app.workflow_name,
            progress=tick,
            contacts=contacts,
            at=instant(at, app.engine.workflow(app.workflow_name).timezone, "--at"),
        )
    echo(
        N_(
            "imported %(count)s entities from %(file)s into %(workflow)s",
            count=report.entities,
            file=str(report.file),
            workflow=report.workflow,
        )
    )


@main.group("workflows")
def workflows_group() -> None:
    """Check, list and compare workflow definitions."""


@workflows_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--templates", type=click.Path(file_okay=False), help="Template root (default: beside workflows/).")
@json_option
def workflows_validate(files: Sequence[str], templates: str | None, as_json: bool) -> None:
    """Validate workflow FILES as a whole; print every problem with file and line (exit 2 if any)."""
    results: list[dict[str, Any]] = []
    for file in files:
        try:
            wf = load_workflow(file, templates)
            results.append(
                {
                    "file": file,
                    "ok": True,
                    "workflow": wf.key,
                    "states": len(wf.states),
                    "transitions": len(wf.transitions),
                    "problems": [],
                }
            )
        except WorkflowError as exc:
            results.append({"file": file, "ok": False, "problems": [str(p) for p in exc.problems]})
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for r in results:
            if r["ok"]:
                said = N_(
                    "%(file)s: ok (%(workflow)s, %(states)s states, %(transitions)s transitions)",
                    file=r["file"],
                    workflow=r["workflow"],
                    states=r["states"],
                    transitions=r["transitions"],
                )
                echo(said)
            else:
                echo(N_("%(file)s: %(count)s problem(s)", file=r["file"], count=len(r["problems"])), err=True)
                for p in r["problems"]:
                    click.echo(f"  {p}", err=True)
    if not all(r["ok"] for r in results):
        sys.exit(EXIT_BAD_INPUT)


@workflows_group.command("list")
@json_option
@click.pass_obj
def workflows_list(app: App, as_json: bool) -> None:
    """List the loaded workflows (every version)."""
    rows = [
        {
            "workflow": w.name,
            "version": w.version,
            "key": w.key,
            "title": w.title,
            "file": str(w.source),
            "states": len(w.states),
        }
        for w in app.engine.workflows
    ]
    if as_json:
        return app.emit_json(rows)
    for r in rows:
        echo(
            N_(
                "%(key)s  %(title)s  (%(file)s, %(states)s states)",
                key=r["key"],
                title=r["title"],
                file=r["file"],
                states=r["states"],
            )
        )
    return None


@workflows_group.command("diff")
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@json_option
@click.pass_obj
def workflows_diff(app: App, first: str, second: str, as_json: bool) -> None:
    """Show what changed from workflow version A to B, and how many live instances of A each change touches.

    A and B are NAME@VERSION, or a bare NAME for its latest loaded version. Each change is counted
    on the instances of A in the states it concerns: a state's own, a timer's state, a transition's
    source states, the source states of the transitions that send a letter or take a data field.
    Entity attributes and workflow settings concern no state (shown "n/a"). "+" added in B,
    "-" removed from A, "~" changed.

    \b
    Examples:
      labelwf workflows diff poles-2008@1 poles-2008@2
      labelwf workflows diff poles-2008@1 poles-2008 --json
    """
    a, b = _named_version(app, first, "A"), _named_version(app, second, "B")
    with app.db.read() as conn:
        counts = reads.state_counts_of_version(conn, a.name, a.version)
    found = diff(a, b)
    if as_json:
        return app.emit_json(diff_json(found, counts))
    if found.empty:
        echo(N_("%(a)s → %(b)s: no change", a=a.key, b=b.key))
        return None
    total, live = found.total, sum(counts.values())
    echo(
        N_(
            "%(a)s → %(b)s: %(total)s change(s); counts of the %(live)s instance(s) on %(a)s",
            a=a.key,
            b=b.key,
            total=total,
            live=live,
        )
    )
    if found.settings:
        out = table("settings", "", "setting", "instances", "change", wrap=("change",))
        for c in found.settings:
            row(out, "~", c.what, "n/a", _before_after(c))
        app.out.print(out)
    for section, changes in found.sections:
        if not changes:
            continue
        out = table(section, "", section.rstrip("s"), "instances", "change", wrap=("change",))
        for change in changes:
            count = touched(change, counts)
            detail = "; ".join(f"{c.what}: {_before_after(c)}" for c in change.changes)
            row(out, change.kind.sign, change.name, "n/a" if count is None else count, detail)
        app.out.print(out)
    return None


def _named_version(app: App, text: str, argument: str) -> Workflow:
    """The loaded workflow ``NAME@VERSION`` (or ``NAME``: its latest); ``NotFound`` names those loaded."""
    name, at, version = text.rpartition("@")
    if not at:
        return app.engine.workflow(text)
    if not (version.isascii() and version.isdigit() and int(version) >= 1):
        raise click.BadParameter(
            f"expected NAME@VERSION, VERSION a whole number >= 1; got {text!r}", param_hint=argument
        )
    return app.engine.workflow(name, int(version))


def _before_after(change: Changed) -> str:
    return f"{_shown(change.before)} → {_shown(change.after)}"


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value) if value != "" else '""'
