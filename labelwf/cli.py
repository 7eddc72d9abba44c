"""The ``labelwf`` command: a thin shell over the library.

Exit codes: 0 done; 1 unexpected failure; 2 bad input (arguments, files, data, configuration);
3 not found; 4 transition refused by the workflow; 5 concurrent conflict (someone else changed
the instance first); 6 audit verification failed; 7 database not initialised or at another
schema revision (run ``labelwf init``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import click
import sqlalchemy.exc
from rich.console import Console
from rich.table import Table

from . import audit, diagram, queries
from .config import Settings, load_settings
from .definition import Workflow, load_workflow, load_workflows
from .delivery import LETTER_STATUSES
from .engine import Engine
from .errors import (
    ConcurrentUpdate,
    ConfigError,
    DatabaseNotEmpty,
    ImportRejected,
    InvalidData,
    LabelwfError,
    MissingData,
    MissingJustification,
    NotFound,
    ScenarioError,
    SchemaMismatch,
    TransitionRefused,
    WorkflowError,
)
from .importer import import_entities
from .store import Database
from .timers import localize, parse_local

EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_CONFLICT = 1, 2, 3, 4, 5
EXIT_AUDIT_BROKEN, EXIT_NOT_INITIALISED = 6, 7

_EXIT_CODES: list[tuple[type[LabelwfError], int]] = [
    (ConcurrentUpdate, EXIT_CONFLICT),
    (NotFound, EXIT_NOT_FOUND),
    (SchemaMismatch, EXIT_NOT_INITIALISED),
    (MissingData, EXIT_BAD_INPUT),
    (InvalidData, EXIT_BAD_INPUT),
    (MissingJustification, EXIT_BAD_INPUT),
    (TransitionRefused, EXIT_REFUSED),
    (WorkflowError, EXIT_BAD_INPUT),
    (ImportRejected, EXIT_BAD_INPUT),
    (ScenarioError, EXIT_BAD_INPUT),
    (DatabaseNotEmpty, EXIT_BAD_INPUT),
    (ConfigError, EXIT_BAD_INPUT),
]

EPILOG = """\b
Exit codes: 0 done, 1 unexpected failure, 2 bad input, 3 not found,
4 transition refused, 5 concurrent conflict, 6 audit broken, 7 database not initialised.
\b
Settings come from config.yaml (or --config), then LABELWF_* environment variables
(LABELWF_DATABASE, LABELWF_WORKFLOWS, ...), then the flags below.
"""


class App:
    """What every command needs, built on first use from the settings."""

    def __init__(self, config: str | None, database: str | None, workflow: str | None) -> None:
        self._config, self._database, self.workflow_name = config, database, workflow
        self.out = Console(soft_wrap=True)

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self._config, overrides={"database": self._database})

    @cached_property
    def workflows(self) -> list[Workflow]:
        return load_workflows(self.settings.workflows, self.settings.templates)

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.database, busy_timeout_ms=self.settings.busy_timeout_ms)

    @cached_property
    def engine(self) -> Engine:
        return Engine(self.db, self.workflows)

    @cached_property
    def outbox(self) -> Any:
        from .delivery import DeliverySettings, Outbox, SmtpSettings

        s = self.settings
        smtp = None
        if s.smtp_host:
            smtp = SmtpSettings(
                host=s.smtp_host,
                port=s.smtp_port,
                user=s.smtp_user or None,
                password=s.smtp_password or None,
                starttls=s.smtp_starttls,
                sender=s.smtp_sender,
            )
        settings = DeliverySettings(outbox=s.outbox, smtp=smtp, max_attempts=s.letters_max_attempts, timezone=s.zone)
        return Outbox(self.db, settings)

    @cached_property
    def workflow(self) -> Workflow:
        return self.engine.workflow(self.workflow_name)

    def close(self) -> None:
        """Release the database connections, if any were opened."""
        if "db" in self.__dict__:
            self.db.dispose()

    def local(self, value: datetime | None) -> str:
        """Format an aware instant in the display time zone."""
        if value is None:
            return ""
        return value.astimezone(self.settings.zone).strftime("%Y-%m-%d %H:%M %Z")

    def emit_json(self, payload: Any) -> None:
        click.echo(json.dumps(payload, default=_json_default, ensure_ascii=False, indent=2))

    def print_rows(self, table: Table, empty: str) -> None:
        """Print ``table``; when it has no row, its title and ``empty`` (why, and what to do) instead."""
        self.out.print(table if table.row_count else f"{table.title}{' — ' if empty else ''}{empty}")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def human_duration(seconds: float) -> str:
    """``0.42 s``, ``3 min 20 s``, ``2 h 5 min``, ``6175 d 14 h``."""
    if seconds < 60:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def fail(code: int, message: str) -> NoReturn:
    """Print ``message`` on stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Turns labelwf errors into a message and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LabelwfError as exc:
            code = next((c for kind, c in _EXIT_CODES if isinstance(exc, kind)), EXIT_FAILURE)
            fail(code, str(exc))
        except sqlalchemy.exc.OperationalError as exc:
            app = ctx.find_object(App)
            url = app.db.display_url if app is not None and "db" in app.__dict__ else "the database"
            fail(EXIT_BAD_INPUT, f"cannot use {url}: {exc.orig}; check the database setting and that the server runs")


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table (for scripts).")


@click.group(cls=_Group, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False), help="Config file (default: ./config.yaml).")
@click.option("--db", "database", metavar="URL", help="Database URL or SQLite file (overrides LABELWF_DATABASE).")
@click.option("--workflow", "workflow", metavar="NAME", help="Workflow to act on when several are loaded.")
@click.version_option(package_name="labelwf")
@click.pass_context
def main(ctx: click.Context, config: str | None, database: str | None, workflow: str | None) -> None:
    """labelwf: durable state machines for public label programmes.

    One state machine per labelled entity, declared in workflows/*.yaml; every change goes
    through a fire with who and why, into a tamper-evident audit trail.
    """
    ctx.obj = App(config, database, workflow)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@click.pass_obj
def init(app: App) -> None:
    """Create the database, or migrate it to this version's schema."""
    before, after = app.db.upgrade()
    state = "created" if before is None else ("already at" if before == after else f"migrated from {before} to")
    click.echo(f"database {app.db.display_url}: {state} schema revision {after}")


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--actor", default="import", show_default=True, help="Who imports (recorded in the audit).")
@click.option("--reason", help="Why (default: 'import of FILE').")
@click.option(
    "--contacts",
    type=click.Path(dir_okay=False),
    help="CSV of contacts (entity,role,name,address,email) to address letters to.",
)
@click.pass_obj
def import_(app: App, file: str, actor: str, reason: str | None, contacts: str | None) -> None:
    """Import entities from a CSV FILE and start their instances (all or nothing, contacts included)."""
    from rich.progress import Progress

    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("importing", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = import_entities(
            app.engine, file, actor=actor, reason=reason, workflow=app.workflow_name, progress=tick, contacts=contacts
        )
    click.echo(f"imported {report.entities} entities from {report.file} into {report.workflow}")


@main.command("list")
@click.option("--state", help="Only instances in this state.")
@json_option
@click.pass_obj
def list_(app: App, state: str | None, as_json: bool) -> None:
    """List the instances with their state."""
    rows = queries.list_instances(app.db, app.workflow, state=state)
    if as_json:
        return app.emit_json(rows)
    table = Table(title=f"{app.workflow.key}: {len(rows)} instance(s)" + (f" in {state}" if state else ""))
    for column in ("id", "name", "state", "v", "updated", "region"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["entity"], r["name"], r["state"], str(r["version"]), app.local(r["updated_at"]), r["region"] or ""
        )
    app.print_rows(
        table, "" if state else "import entities (`labelwf import FILE`) or replay a scenario (`labelwf replay`)"
    )
    return None


@main.command()
@click.argument("entity")
@json_option
@click.pass_obj
def show(app: App, entity: str, as_json: bool) -> None:
    """Show one instance: state, allowed triggers, pending timers and letters."""
    info = queries.get_instance(app.db, app.workflow, entity)
    if as_json:
        return app.emit_json(info)
    out = app.out
    out.print(f"[bold]{info['name']}[/bold] ({info['entity']}) — {info['workflow']}")
    final = " (final state)" if info["final"] else ""
    out.print(f"state: [bold]{info['state']}[/bold]{final} — {info['description']}")
    out.print(f"version {info['version']}, in this state since {app.local(info['entered_at'])}")
    if info["data"]:
        out.print("data: " + ", ".join(f"{k}={v}" for k, v in info["data"].items()))
    if info["allowed"]:
        table = Table(title="allowed triggers")
        for column in ("trigger", "to", "requires", "optional", "roles"):
            table.add_column(column)
        for a in info["allowed"]:
            table.add_row(
                a["trigger"],
                ", ".join(a["to"]),
                ", ".join(a["requires"]),
                ", ".join(a["optional"]),
                ", ".join(a["roles"]),
            )
        out.print(table)
    else:
        out.print("no trigger allowed (final state)")
    if info["timers"]:
        table = Table(title="pending timers")
        for column in ("timer", "fires", "due", "catch-up"):
            table.add_column(column)
        for t in info["timers"]:
            table.add_row(t["name"], t["trigger"], app.local(t["due_at"]), t["catch_up"])
        out.print(table)
    if info["letters"]:
        table = Table(title="letters")
        for column in ("id", "letter", "to", "status", "subject"):
            table.add_column(column)
        for m in info["letters"]:
            table.add_row(str(m["id"]), m["template"], m["recipient"], m["status"], m["subject"])
        out.print(table)
    return None


def _instant(text: str | None, zone: Any, option: str) -> datetime | None:
    """A local date-time option (``YYYY-MM-DD[THH:MM]``, in ``zone``) as an aware instant, or None."""
    if text is None:
        return None
    try:
        return localize(parse_local(text), zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _parse_sets(values: Sequence[str]) -> dict[str, str]:
    data: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint="--set")
        data[key.strip()] = value
    return data


@main.command()
@click.argument("entity")
@click.argument("trigger")
@click.option("--actor", required=True, help="Who decides (recorded in the audit).")
@click.option("--reason", required=True, help="Why (recorded in the audit).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Data for the transition; repeatable.")
@click.option(
    "--at",
    "at",
    metavar="DATETIME",
    help="When the decision took effect (local time of the workflow, YYYY-MM-DD[THH:MM]); default now.",
)
@click.option("--expect-version", type=int, help="Refuse (exit 5) unless the instance is still at this version.")
@json_option
@click.pass_obj
def fire(
    app: App,
    entity: str,
    trigger: str,
    actor: str,
    reason: str,
    sets: Sequence[str],
    at: str | None,
    expect_version: int | None,
    as_json: bool,
) -> None:
    """Fire TRIGGER on ENTITY's instance, as an operator, with who and why."""
    data = _parse_sets(sets)
    when = _instant(at, app.workflow.timezone, "--at")
    fired = app.engine.fire(
        entity,
        trigger,
        actor=actor,
        reason=reason,
        data=data,
        at=when,
        expected_version=expect_version,
        workflow=app.workflow_name,
    )
    if as_json:
        return app.emit_json(
            {
                "entity": fired.entity,
                "trigger": fired.trigger,
                "source": fired.source,
                "dest": fired.dest,
                "version": fired.version,
                "event_id": fired.event_id,
                "hash": fired.hash,
                "occurred_at": fired.occurred_at,
                "letters": fired.letters,
                "timers_armed": [{"name": n, "due_at": d} for n, d in fired.timers_armed],
            }
        )
    click.echo(f"{fired.entity}: {fired.source} --{fired.trigger}--> {fired.dest} (version {fired.version})")
    for name, due in fired.timers_armed:
        click.echo(f"  timer {name} due {app.local(due)}")
    if fired.letters:
        click.echo(f"  {fired.letters} letter(s) queued")
    return None


@main.command()
@click.argument("entity")
@json_option
@click.pass_obj
def history(app: App, entity: str, as_json: bool) -> None:
    """Show the audit trail of ENTITY's instance, oldest first."""
    events = queries.history(app.db, app.workflow, entity)
    if as_json:
        return app.emit_json(events)
    table = Table(title=f"history of {entity}")
    for column in ("#", "when", "trigger", "from → to", "actor", "reason", "data"):
        table.add_column(column)
    for e in events:
        late = f" (fired {human_duration(e['late_by_s'])} late)" if e["late_by_s"] else ""
        table.add_row(
            str(e["seq"]),
            app.local(e["occurred_at"]) + late,
            e["trigger"] or "(created)",
            f"{e['source'] or ''} → {e['dest']}",
            f"{e['actor']} ({e['role']})",
            e["reason"],
            ", ".join(f"{k}={v}" for k, v in e["data"].items()),
        )
    app.out.print(table)
    return None


@main.group("audit")
def audit_group() -> None:
    """Check the tamper-evident audit trail."""


@audit_group.command("verify")
@click.option("--entity", help="Only this entity's chain.")
@json_option
@click.pass_obj
def audit_verify(app: App, entity: str | None, as_json: bool) -> None:
    """Recompute every hash chain; name the first broken link of each instance (exit 6 if any)."""
    report = audit.verify(app.db, entity=entity)
    if as_json:
        app.emit_json(
            {
                "ok": report.ok,
                "instances": report.instances,
                "events": report.events,
                "breaks": [b.__dict__ for b in report.breaks],
            }
        )
    elif report.ok:
        click.echo(f"audit trail intact: {report.events} events in {report.instances} instances verified")
    else:
        click.echo(f"audit trail BROKEN in {len(report.breaks)} instance(s):", err=True)
        for item in report.breaks:
            click.echo(f"  {item}", err=True)
    if not report.ok:
        sys.exit(EXIT_AUDIT_BROKEN)


@main.command("diagram")
@click.option("--format", "fmt", type=click.Choice(diagram.FORMATS), default="mermaid", show_default=True)
@click.option("--counts/--no-counts", default=True, show_default=True, help="Show live instance counts per state.")
@click.pass_obj
def diagram_(app: App, fmt: str, counts: bool) -> None:
    """Print the workflow as a diagram, with how many instances each state holds."""
    live = queries.state_counts(app.db, app.workflow) if counts else None
    render: Callable[..., str] = diagram.mermaid if fmt == "mermaid" else diagram.dot
    click.echo(render(app.workflow, live), nl=False)


@main.group("workflows")
def workflows_group() -> None:
    """Check and list workflow definitions."""


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
                click.echo(f"{r['file']}: ok ({r['workflow']}, {r['states']} states, {r['transitions']} transitions)")
            else:
                click.echo(f"{r['file']}: {len(r['problems'])} problem(s)", err=True)
                for p in r["problems"]:
                    click.echo(f"  {p}", err=True)
    if not all(r["ok"] for r in results):
        sys.exit(EXIT_BAD_INPUT)


@workflows_group.command("list")
@json_option
@click.pass_obj
def workflows_list(app: App, as_json: bool) -> None:
    """List the loaded workflows."""
    rows = [
        {"workflow": w.key, "title": w.title, "file": str(w.source), "states": len(w.states)} for w in app.workflows
    ]
    if as_json:
        return app.emit_json(rows)
    for r in rows:
        click.echo(f"{r['workflow']}  {r['title']}  ({r['file']}, {r['states']} states)")
    return None


@main.command()
@click.option("--due-before", metavar="DATETIME", help="Only timers due before this local date-time.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@json_option
@click.pass_obj
def timers(app: App, due_before: str | None, limit: int, as_json: bool) -> None:
    """List pending deadlines, soonest first."""
    before = _instant(due_before, app.settings.zone, "--due-before")
    rows = queries.pending_timers(app.db, due_before=before, limit=limit)
    if as_json:
        return app.emit_json(rows)
    table = Table(title=f"{len(rows)} pending timer(s)")
    for column in ("entity", "timer", "fires", "due", "catch-up"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["entity_id"], r["name"], r["trigger"], app.local(r["due_at"]), r["catch_up"])
    app.print_rows(table, "timers are armed when an instance enters a state that declares them")
    return None


@main.command("daemon")
@click.option("--once", is_flag=True, help="Fire what is due now, then exit (for cron and tests).")
@click.option("--poll", type=click.FloatRange(min=0.01), help="Seconds between checks for timers armed elsewhere.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Timers fired per transaction.")
@click.option(
    "--grace", type=click.FloatRange(min=0), help="Seconds late after which a timer's catch-up policy applies."
)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--letters/--no-letters",
    default=True,
    show_default=True,
    help="Also deliver the letters of the outbox: every second when serving, after the deadlines with --once.",
)
@click.pass_obj
def daemon_(
    app: App,
    once: bool,
    poll: float | None,
    batch_size: int | None,
    grace: float | None,
    log_format: str,
    letters: bool,
) -> None:
    """Fire deadlines when they fall due; one log line per timer on stderr.

    Stops cleanly on SIGTERM or Ctrl-C, after the batch in progress. Any number of daemons may
    run against one PostgreSQL database; on SQLite, run one. A timer whose fire fails stays
    pending, its error logged, and is tried again after 30 s, then 60 s, 120 s ... (at most
    hourly); with --once, the exit code is 1 when one failed.
    """
    import logging
    import signal

    from .daemon import Daemon, DaemonSettings, JsonFormatter, LogfmtFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else LogfmtFormatter())
    logger = logging.getLogger("labelwf.daemon")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    # APScheduler warns when a wake-up is skipped because the previous one still runs (a storm,
    # a round of letters): expected, and not ours to log. Its errors go out as structured lines.
    scheduler_log = logging.getLogger("apscheduler")
    scheduler_log.handlers[:] = [handler]
    scheduler_log.setLevel(logging.ERROR)
    scheduler_log.propagate = False
    s = app.settings
    settings = DaemonSettings(
        poll_seconds=poll if poll is not None else s.daemon_poll_seconds,
        batch_size=batch_size if batch_size is not None else s.daemon_batch_size,
        grace_seconds=grace if grace is not None else s.daemon_grace_seconds,
    )
    daemon = Daemon(app.engine, settings, outbox=app.outbox if letters else None)
    app.db.check_schema()
    if once:
        report = daemon.run_once()
        click.echo(
            f"fired {report.fired}, obsolete {report.obsolete}, skipped {report.skipped}, failed {report.failed}"
        )
        if report.failed:
            sys.exit(EXIT_FAILURE)
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: daemon.stop())
    daemon.serve()


def _split(value: str | None) -> tuple[int, int, int] | None:
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts) or sum(int(p) for p in parts) == 0:
        raise click.BadParameter(
            f"expected three whole numbers G1,G2,G3 such as 39,19,13, got {value!r}", param_hint="--synthetic"
        )
    return int(parts[0]), int(parts[1]), int(parts[2])


@main.command("replay")
@click.argument("scenario", required=False, type=click.Path(dir_okay=False))
@click.option("--until", metavar="DATETIME", help="Stop at this local date-time (default: the scenario's end).")
@click.option("--reset", is_flag=True, help="Erase every instance of the database first (a replay needs it empty).")
@click.option("--synthetic", metavar="G1,G2,G3", help="Run on a generated cohort of this split (e.g. 39,19,13).")
@json_option
@click.pass_obj
def replay_(
    app: App, scenario: str | None, until: str | None, reset: bool, synthetic: str | None, as_json: bool
) -> None:
    """Replay a scenario's dated decisions with a simulated clock: years in seconds.

    Decisions fire at their dates and deadlines at theirs, into the configured database, so that
    list, history, timers and the letters show the campaign afterwards. SCENARIO defaults to the
    one scenario of the scenarios folder (the 2008-2010 campaign of the 71 poles).
    """
    from .replay import replay
    from .scenario import load_scenario

    split = _split(synthetic)
    path = Path(scenario) if scenario else _default_scenario(app.settings.scenarios)
    loaded = load_scenario(path, app.workflow)
    end = _instant(until, app.workflow.timezone, "--until")
    app.db.check_schema()
    report = replay(app.engine, loaded, until=end, synthetic=split, reset=reset)
    if not as_json and report.erased:
        click.echo(f"erased {report.erased} instance(s) from {app.db.display_url}", err=True)
    if as_json:
        return app.emit_json(report.__dict__ | {"timeline": [m.__dict__ for m in report.timeline]})
    _print_replay(app, loaded.title, report)
    return None


def _default_scenario(folder: Path) -> Path:
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if len(files) != 1:
        found = ", ".join(f.name for f in files) or "none"
        raise click.BadParameter(f"name the scenario to replay; {folder} holds: {found}", param_hint="SCENARIO")
    return files[0]


def _print_replay(app: App, title: str, report: Any) -> None:
    zone = app.workflow.timezone
    kind = "synthetic cohort" if report.synthetic else "public record"
    click.echo(f"replay of {report.scenario} ({kind}): {title}")
    click.echo(
        f"database {app.db.display_url}, simulated clock {report.start.astimezone(zone):%Y-%m-%d} → "
        f"{report.until.astimezone(zone):%Y-%m-%d}\n"
    )
    for moment in report.timeline:
        when = moment.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        if moment.kind in ("import", "note"):
            click.echo(f"{when}  {moment.kind:<8} {moment.what}")
            continue
        label = "⏱ timer " if moment.kind == "timer" else "decision"
        dests = ", ".join(f"{dest} ×{n}" for dest, n in moment.dests.items())
        click.echo(f"{when}  {label} {moment.what} → {dests}")
        if moment.assumed:
            click.echo(f"{'':18}  ASSUMED DATE: {moment.assumed}")
    click.echo("\nfinal count per state:")
    for state, count in report.counts.items():
        if count:
            click.echo(f"  {state:<20} {count:>4}")
    if report.unclassified:
        what = "entities" if report.synthetic else "poles"
        click.echo(
            f"\n{len(report.unclassified)} {what} had no decision in the scenario and stay in their initial "
            "state: their 2008 group is not in the public record, and none is invented."
        )
    if report.pending_after:
        click.echo(
            f"\n{report.pending_after} deadline(s) still pending after the end of the replay, the next on "
            f"{report.next_deadline.astimezone(zone):%Y-%m-%d %H:%M} (labelwf timers lists them)"
        )
    total = sum(report.letters.values())
    click.echo(f"\n{total} letters queued: " + ", ".join(f"{k} {v}" for k, v in sorted(report.letters.items())))
    click.echo("see them with: labelwf list, labelwf history ID, labelwf timers, labelwf letters, labelwf show ID")


if __name__ == "__main__":
    main()


@main.group("letters", invoke_without_command=True)
@click.option("--pole", "entity", metavar="ID", help="Only this entity's letters.")
@click.option("--status", type=click.Choice(LETTER_STATUSES))
@click.option("--limit", type=click.IntRange(min=1), default=500, show_default=True)
@json_option
@click.pass_context
def letters_group(ctx: click.Context, entity: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """List the letters of the outbox (or: letters show ID, send, preview TEMPLATE --pole ID)."""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    rows = queries.list_letters(app.db, entity=entity, status=status, limit=limit)
    if as_json:
        app.emit_json(rows)
        return
    table = Table(title=f"{len(rows)} letter(s)")
    for column in ("id", "pole", "letter", "to", "status", "tries", "date", "last error"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["entity"],
            r["template"],
            r["recipient"],
            r["status"],
            str(r["attempts"]),
            app.local(r["occurred_at"])[:10],
            (r["last_error"] or "")[:60],
        )
    app.print_rows(table, "" if entity or status else "letters are written when a step that sends them fires")


@letters_group.command("show")
@click.argument("letter_id", type=int)
@click.option("--html", "as_html", is_flag=True, help="Print the stored HTML instead of the text.")
@json_option
@click.pass_obj
def letters_show(app: App, letter_id: int, as_html: bool, as_json: bool) -> None:
    """Print the stored, frozen copy of letter LETTER_ID."""
    letter = queries.get_letter(app.db, letter_id)
    if as_json:
        return app.emit_json(letter)
    if as_html:
        click.echo(letter["body_html"] or "", nl=False)
        return None
    click.echo(
        f"letter {letter['id']} — {letter['template']} to {letter['recipient']} ({letter['status']}, "
        f"checksum {letter['checksum'][:12]}…)",
        err=True,
    )
    click.echo(f"Subject: {letter['subject']}\n")
    click.echo(letter["body"], nl=False)
    return None


@letters_group.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="Letters per run.")
@click.pass_obj
def letters_send(app: App, limit: int) -> None:
    """Deliver the letters that are due: to the outbox folder, and by SMTP when configured."""
    report = app.outbox.deliver_due(limit=limit)
    click.echo(
        f"delivered {report.delivered}, to retry {report.retried}, failed {report.failed}, "
        f"uncertain {report.uncertain}; outbox {app.settings.outbox}"
    )
    if report.pdf_skipped:
        click.echo(report.pdf_skipped, err=True)
    for error in report.errors:
        click.echo(f"  {error}", err=True)
    if report.failed:
        sys.exit(EXIT_FAILURE)


@letters_group.command("preview")
@click.argument("template")
@click.option("--pole", "entity", metavar="ID", required=True, help="The entity to write to.")
@click.option("--recipient", help="Only this recipient role.")
@click.option("--html", "as_html", is_flag=True, help="Print the HTML instead of the text.")
@click.pass_obj
def letters_preview(app: App, template: str, entity: str, recipient: str | None, as_html: bool) -> None:
    """Render letter TEMPLATE for an entity as it stands now, without storing or sending anything."""
    rendered = app.engine.preview_letter(entity, template, workflow=app.workflow_name)
    if recipient is not None:
        roles = [r.recipient.role for r in rendered]
        rendered = [r for r in rendered if r.recipient.role == recipient]
        if not rendered:
            raise click.BadParameter(
                f"{template!r} is not sent to {recipient!r}; it goes to: {', '.join(roles)}", param_hint="--recipient"
            )
    for letter in rendered:
        click.echo(f"--- to {letter.recipient.role}: {letter.subject}", err=True)
        click.echo(letter.html if as_html else letter.text)
