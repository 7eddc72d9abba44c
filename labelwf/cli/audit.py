"""The audit trail: ``audit verify`` (every chain, optionally against a checkpoint), ``audit checkpoint``
and ``audit export``."""

from __future__ import annotations

import os
import sys
from datetime import UTC
from pathlib import Path

import click

from .. import audit, checkpoint
from ..errors import ConfigError
from ..export import export_lines
from ..representations import verify_json
from .base import EXIT_AUDIT_BROKEN, App, json_option, main


@main.group("audit")
def audit_group() -> None:
    """Check the tamper-evident audit trail, and take checkpoints of it to keep elsewhere."""


def _key(app: App, what: str) -> bytes:
    key = app.runtime.audit_key
    if key is None:
        raise ConfigError(
            "audit_key_file",
            str(app.runtime.settings.audit_key_file),
            f"the audit key, which {what} (`labelwf init` creates it)",
        )
    return key


@audit_group.command("verify")
@click.option("--entity", help="Only this entity's chain.")
@click.option(
    "--allow-unkeyed", is_flag=True, help="Accept events hashed without the audit key (written before it existed)."
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also check that nothing this checkpoint covered was rewritten, truncated or erased.",
)
@json_option
@click.pass_obj
def audit_verify(
    app: App, entity: str | None, allow_unkeyed: bool, checkpoint_file: Path | None, as_json: bool
) -> None:
    """Recompute every hash chain; name the first broken link of each instance (exit 6 if any).

    With the audit key (audit_key_file) the events' authenticity is checked; without it, the
    structure of the chains only (what a recomputation of every hash would not break). With
    --checkpoint, each instance the checkpoint names must still exist and pass through the hash
    it recorded, which holds even against someone who has the key.

    \b
    Examples:
      labelwf audit verify
      labelwf audit verify --entity enfant --json
      labelwf audit verify --checkpoint /mnt/elsewhere/checkpoint-2026-12-01.json
    """
    taken = checkpoint.read(checkpoint_file, _key(app, "authenticates a checkpoint")) if checkpoint_file else None
    report = audit.verify(
        app.db,
        entity=entity,
        key=app.runtime.audit_key,
        allow_unkeyed=allow_unkeyed,
        checkpoint=taken.heads if taken else None,
    )
    guarantee = (
        "authenticity checked with the audit key"
        if report.keyed
        else f"structure only: no audit key at {app.runtime.settings.audit_key_file}"
    )
    if as_json:
        covered = None
        if taken is not None:
            covered = {"file": str(checkpoint_file), "created_at": taken.created_at, "instances": report.checkpoint}
        app.emit_json(verify_json(report) | {"checkpoint": covered})
    elif report.ok:
        click.echo(f"audit trail intact: {report.events} events in {report.instances} instances verified ({guarantee})")
        if taken is not None:
            click.echo(
                f"  checkpoint of {app.local(taken.created_at)}: its {report.checkpoint} instance(s) still pass "
                "through the heads it recorded"
            )
        if report.unauthenticated:
            what = "keyed events checked for structure only" if not report.keyed else "events written without the key"
            click.echo(f"  {report.unauthenticated} {what}: their content is not authenticated")
    else:
        click.echo(f"audit trail BROKEN in {len(report.breaks)} instance(s):", err=True)
        for item in report.breaks:
            click.echo(f"  {item}", err=True)
    if not report.ok:
        sys.exit(EXIT_AUDIT_BROKEN)


@audit_group.command("checkpoint")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (never overwritten; default: labelwf-checkpoint-<UTC time>.json here).",
)
@json_option
@click.pass_obj
def audit_checkpoint(app: App, output: Path | None, as_json: bool) -> None:
    """Write every chain's head and the counts, signed with the audit key, to a new file.

    Keep the file where whoever can write to the database cannot reach it (another machine,
    an archive, a registered e-mail): `audit verify --checkpoint FILE` then detects any rewrite,
    truncation or erasure of what it covered, even by someone who holds the audit key.

    \b
    Examples:
      labelwf audit checkpoint
      labelwf audit checkpoint -o /mnt/archive/labelwf-2026-12-01.json
    """
    key = _key(app, "signs a checkpoint")
    app.db.check_schema()
    now = app.engine.clock.now()
    taken = checkpoint.take(app.db, now)
    path = output or Path(f"labelwf-checkpoint-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.json")
    checkpoint.write(taken, path, key)
    if as_json:
        app.emit_json({"file": str(path), "instances": taken.instances, "events": taken.events, "created_at": now})
        return
    click.echo(f"checkpoint written to {path}: {taken.instances} instance(s), {taken.events} event(s), signed")
    click.echo("  keep it elsewhere; `labelwf audit verify --checkpoint FILE` checks the database against it")


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
    click.echo(f"{count} event(s) exported to {output}")
