"""The audit trail: ``audit verify`` (every chain, optionally against a checkpoint), ``audit checkpoint``
and ``audit export``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..audit import admin_chain, checkpoint
from ..audit import verification as audit
from ..audit.admin_chain import AdminReport
from ..audit.export import export_lines
from ..audit.trail import verify_trail
from ..errors import ConfigError
from ..message import N_, Message
from . import saying
from .base import EXIT_AUDIT_BROKEN, App, json_option, main, row, table
from .saying import echo, english
from .wording import ADMIN_ACTIONS, said


@main.group("audit")
def audit_group() -> None:
    """Check the tamper-evident audit trail, and take checkpoints of it to keep elsewhere."""


def _key(app: App, what: Message) -> bytes:
    key = app.runtime.audit_key
    if key is None:
        raise ConfigError(
            "audit_key_file",
            str(app.runtime.settings.audit_key_file),
            N_("the audit key, which %(what)s (`labelwf init` creates it)", what=what),
        )
    return key


@audit_group.command("verify")
@click.option("--entity", help="Only this entity's chain.")
@click.option(
    "--allow-unkeyed",
    is_flag=True,
    help="Accept events hashed without the audit key (written before it existed): their content is NOT "
    "authenticated, anyone who could write to the database could have written them (a warning says so).",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Check against this checkpoint instead of the newest of the checkpoints folder.",
)
@click.option("--no-checkpoint", is_flag=True, help="Skip the checkpoint: truncation and erasure then go unnoticed.")
@json_option
@click.pass_obj
def audit_verify(
    app: App,
    entity: str | None,
    allow_unkeyed: bool,
    checkpoint_file: Path | None,
    no_checkpoint: bool,
    as_json: bool,
) -> None:
    """Recompute every hash chain; name the first broken link of each instance (exit 6 if any).

    With the audit key (audit_key_file) the events' authenticity is checked; without it, the
    structure of the chains only (what a recomputation of every hash would not break). Every
    letter is checked against the checksums its event sealed. The newest checkpoint of the
    checkpoints folder (or --checkpoint FILE) is checked too: each instance it names must still
    exist and pass through the hash it recorded, and no table may hold fewer rows than it
    counted, which holds even against someone who has the key (docs/audit-trail.md).

    \b
    Examples:
      labelwf audit verify
      labelwf audit verify --entity enfant --json
      labelwf audit verify --checkpoint /mnt/elsewhere/labelwf-checkpoint-20261201T000000.000000Z.json
    """
    if checkpoint_file is not None and no_checkpoint:
        raise click.UsageError("--checkpoint FILE and --no-checkpoint contradict each other: give one")
    if checkpoint_file is not None:
        _key(app, N_("authenticates a checkpoint"))
    found = verify_trail(
        app.db,
        key=app.runtime.audit_key,
        folder=app.runtime.checkpoint_folder,
        entity=entity,
        allow_unkeyed=allow_unkeyed,
        checkpoint_file=checkpoint_file,
        skip_checkpoint=no_checkpoint,
    )
    report, admin, taken = found.chains, found.admin, found.checkpoint
    prefix = "--no-checkpoint: " if no_checkpoint else ""
    note = None if found.note is None else prefix + str(found.note)  # --json: the English source text
    said_note = None if found.note is None else prefix + saying.line(found.note)
    guarantee = (
        N_("authenticity checked with the audit key")
        if report.keyed
        else N_("structure only: no audit key at %(file)s", file=str(app.runtime.settings.audit_key_file))
    )
    if as_json:
        warnings = [str(w) for w in (note, _unkeyed_warning(report, allow_unkeyed)) if w]
        app.emit_json(found.as_json() | {"warnings": warnings})
    elif report.ok:
        echo(
            N_(
                "audit trail intact: %(events)s events in %(instances)s instances verified (%(guarantee)s)",
                events=report.events,
                instances=report.instances,
                guarantee=guarantee,
            )
        )
        echo(N_("  %(count)s letter(s) are the ones their events sealed", count=report.letters))
        if taken is not None:
            echo(
                N_(
                    "  checkpoint of %(when)s: its %(count)s instance(s) still pass through the heads it recorded",
                    when=app.local(taken.created_at),
                    count=report.checkpoint,
                )
            )
        if report.unauthenticated:
            count = report.unauthenticated
            if report.keyed:
                echo(N_("  %(count)s events written without the key: their content is not authenticated", count=count))
            else:
                echo(
                    N_(
                        "  %(count)s keyed events checked for structure only: their content is not authenticated",
                        count=count,
                    )
                )
    else:
        echo(N_("audit trail BROKEN in %(count)s instance(s):", count=len(report.breaks)), err=True)
        for item in report.breaks:
            click.echo(f"  {item}", err=True)
        for line in report.missing:
            click.echo(f"  {line}", err=True)
    if not as_json:
        if said_note:
            click.echo(f"  {said_note}", err=True)
        warning = _unkeyed_warning(report, allow_unkeyed)
        if warning:
            warned = saying.line(N_("WARNING: %(warning)s", warning=warning))
            click.secho(warned, fg="red", bold=True, err=True)  # colour on a terminal only
    if admin is not None and not as_json:
        for said in _admin_lines(admin):
            click.echo(said, err=not admin.ok)
    if not found.ok:
        sys.exit(EXIT_AUDIT_BROKEN)


def _admin_lines(admin: AdminReport) -> list[str]:
    """What the admin chain's verification says: in the command's language when intact, else its breaks."""
    if not admin.ok or english():
        return admin.lines()
    checked = saying.line(
        N_("authenticity checked with the audit key") if admin.keyed else N_("structure only: no audit key")
    )
    intact = N_(
        "administrative acts intact: %(count)s act(s) verified (%(checked)s)", count=admin.events, checked=checked
    )
    said = [saying.line(intact)]
    if admin.unauthenticated:
        what = saying.line(
            N_("acts written without the key") if admin.keyed else N_("keyed acts checked for structure only")
        )
        said.append(
            "  "
            + saying.line(
                N_("%(count)s %(what)s: their content is not authenticated", count=admin.unauthenticated, what=what)
            )
        )
    return said


def _unkeyed_warning(report: audit.VerifyReport, allow_unkeyed: bool) -> Message | None:
    if not allow_unkeyed or not report.keyed:
        return None
    return N_(
        "--allow-unkeyed accepted %(count)s event(s) hashed without the audit key. Their content "
        "is NOT authenticated: anyone who could write to the database could have written, changed or recomputed "
        "them. Only a checkpoint taken before such a change, kept out of that person's reach, shows it.",
        count=report.unkeyed_accepted,
    )


@audit_group.command("checkpoint")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (never overwritten; default: a new file of the checkpoints folder, which is also "
    "handed to checkpoint_command).",
)
@json_option
@click.pass_obj
def audit_checkpoint(app: App, output: Path | None, as_json: bool) -> None:
    """Write every chain's head and the counts, signed with the audit key, to a new file.

    By default the file goes to the checkpoints folder (named by its UTC time, where `audit verify`
    finds the newest) and to checkpoint_command when one is set; it is refused if the database no
    longer holds what the folder's newest checkpoint covered. Keep copies where whoever can write
    to the database cannot reach them (another machine, an archive, a registered e-mail): `audit
    verify` then detects any rewrite, truncation or erasure of what they covered, even by someone
    who holds the audit key. The daemon and the server take checkpoints by themselves.

    \b
    Examples:
      labelwf audit checkpoint
      labelwf audit checkpoint -o /mnt/archive/labelwf-2026-12-01.json
    """
    key = _key(app, N_("signs a checkpoint"))
    app.db.check_schema()
    now = app.engine.clock.now()
    if output is None:
        path = app.runtime.checkpointer.write(now)
        taken = app.runtime.checkpointer.latest
        assert taken is not None  # just written
    else:
        taken = checkpoint.take(app.db, now)
        path = output
        checkpoint.write(taken, path, key)
    if as_json:
        app.emit_json({"file": str(path), "instances": taken.instances, "events": taken.events, "created_at": now})
        return
    echo(
        N_(
            "checkpoint written to %(file)s: %(instances)s instance(s), %(events)s event(s), signed",
            file=str(path),
            instances=taken.instances,
            events=taken.events,
        )
    )
    echo(N_("  keep it elsewhere; `labelwf audit verify --checkpoint FILE` checks the database against it"))


@audit_group.command("export")
@click.option("--entity", help="Only this entity's events.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (never overwritten, never left half-written); default: standard output.",
)
@click.pass_obj
def audit_export(app: App, entity: str | None, output: Path | None) -> None:
    """Write every event as one JSON object per line (JSON Lines), with the hashes that chain them.

    The export never holds the audit key: an auditor given it can recompute the chains.

    \b
    Examples:
      labelwf audit export -o audit-2026-12-01.jsonl
      labelwf audit export --entity enfant | jq -c '{seq, trigger, principal}'
    """
    app.db.check_schema()
    lines = export_lines(app.db, entity=entity)
    if output is None:
        for line in lines:
            click.echo(line, nl=False)
        return
    if output.exists():
        raise click.BadParameter(
            f"{output} exists; an export is never overwritten: name a new file", param_hint="--output"
        )
    if not output.parent.is_dir():
        raise click.BadParameter(
            f"{output.parent} is not a folder: name a file in an existing one", param_hint="--output"
        )
    partial = output.with_name(f".{output.name}.partial")
    count = 0
    partial.unlink(missing_ok=True)  # left by an export that was killed
    try:
        with partial.open("x", encoding="utf-8") as out:
            for line in lines:
                out.write(line)
                count += 1
            out.flush()
            os.fsync(out.fileno())
        partial.rename(output)
    finally:
        partial.unlink(missing_ok=True)
    echo(N_("%(count)s event(s) exported to %(file)s", count=count, file=str(output)))


@audit_group.command("acts")
@click.option("--subject", help="Only the acts on this account, token ('token 12') or plan ('plan 3').")
@click.option("--last", type=click.IntRange(1, 100_000), default=50, show_default=True, help="The newest N acts.")
@json_option
@click.pass_obj
def audit_acts(app: App, subject: str | None, last: int, as_json: bool) -> None:
    """List the administrative acts (accounts, roles, passwords, tokens, plan runs) with their authors.

    Each is a link of the admin chain that `audit verify` checks; a token's issue names its owner,
    a plan's run its planner beside its executor (the author).

    \b
    Examples:
      labelwf audit acts
      labelwf audit acts --subject marie.dupont --json
    """
    app.db.check_schema()
    found = admin_chain.history(app.db, subject=subject, newest=last)
    if as_json:
        return app.emit_json(
            [
                {
                    "seq": a.seq,
                    "action": a.action,
                    "subject": a.subject,
                    "author": a.author,
                    "reason": a.reason,
                    "data": dict(a.data),
                    "occurred_at": a.occurred_at,
                }
                for a in found
            ]
        )
    out = table(f"{len(found)} acte(s)", "n°", "date", "acte", "objet", "auteur", "motif", wrap=("auteur", "motif"))
    for a in found:
        act = said(ADMIN_ACTIONS, a.action)
        row(out, a.seq, app.local(a.occurred_at), act, a.subject, a.author, a.reason or "")
    app.print_rows(out, "aucun enregistré" + (f" pour {subject}" if subject else ""))
    return None
