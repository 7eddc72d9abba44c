"""Running the programme: ``daemon`` (deadlines and letters) and ``replay`` (a scenario on a simulated clock)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import click

from ..audit import checkpoints
from ..errors import ScenarioError
from ..logs import LOG_FORMATS
from ..message import N_
from ..scenarios.replay import replay
from ..scenarios.scenario import load_scenario
from ..workflow.definition import Workflow
from .base import EXIT_FAILURE, App, instant, json_option, main
from .replay_lines import moment_line
from .saying import echo, english, line, state


@main.command("daemon")
@click.option("--once", is_flag=True, help="Fire what is due now, then exit (for cron and tests).")
@click.option("--poll", type=click.FloatRange(min=0.01), help="Seconds between checks for timers armed elsewhere.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Timers fired per transaction.")
@click.option(
    "--grace", type=click.FloatRange(min=0), help="Seconds late after which a timer's catch-up policy applies."
)
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text", show_default=True)
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

    \b
    Examples:
      labelwf daemon                      # serve until stopped
      labelwf daemon --once               # from cron: fire what is due, deliver letters, exit
    """
    app.runtime.configure_logging("json" if log_format == "json" else "text", sys.stderr)
    daemon = app.runtime.daemon(poll_seconds=poll, batch_size=batch_size, grace_seconds=grace, letters=letters)
    app.db.check_schema()
    if once:
        report = daemon.run_once()
        echo(
            N_(
                "fired %(fired)s, obsolete %(obsolete)s, skipped %(skipped)s, failed %(failed)s",
                fired=report.fired,
                obsolete=report.obsolete,
                skipped=report.skipped,
                failed=report.failed,
            )
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
@click.option(
    "--reset", is_flag=True, help="Erase the database first; only one that a replay created (a replay needs it empty)."
)
@click.option(
    "--force",
    is_flag=True,
    help="With --reset: erase it even though others than the replay recorded events or plans in it since.",
)
@click.option("--synthetic", metavar="G1,G2,G3", help="Run on a generated cohort of this split (e.g. 39,19,13).")
@json_option
@click.pass_obj
def replay_(
    app: App,
    scenario: str | None,
    until: str | None,
    reset: bool,
    force: bool,
    synthetic: str | None,
    as_json: bool,
) -> None:
    """Replay a scenario's dated decisions with a simulated clock: years in seconds.

    Decisions fire at their dates and deadlines at theirs, into the configured database, so that
    list, history, timers and the letters show the campaign afterwards. SCENARIO defaults to the
    one scenario of the scenarios folder (the 2008-2010 campaign of the 71 poles).
    """
    split = _split(synthetic)
    if force and not reset:
        raise click.UsageError("--force only goes with --reset (it lets --reset erase what others recorded)")
    path = Path(scenario) if scenario else _default_scenario(app.runtime.settings.scenarios)
    loaded = load_scenario(path, [app.workflow] if app.workflow_name else app.engine.workflows)
    zone = app.engine.workflow(loaded.workflow).timezone
    end = instant(until, zone, "--until")
    app.db.check_schema()
    partial = N_(
        "%(url)s holds a partial replay (marked so): `labelwf replay --reset` starts it again", url=app.db.display_url
    )
    try:
        report = replay(
            app.engine, loaded, until=end, synthetic=split, reset=reset, force=force, on_erased=_archiver(app)
        )
    except KeyboardInterrupt:
        echo(N_("replay interrupted: %(partial)s", partial=partial), err=True)
        sys.exit(130)
    except ScenarioError:
        echo(N_("replay stopped: %(partial)s", partial=partial), err=True)
        raise
    if not as_json and report.erased:
        echo(N_("erased %(count)s instance(s) from %(url)s", count=report.erased, url=app.db.display_url), err=True)
    if as_json:
        return app.emit_json(report.__dict__ | {"timeline": [m.__dict__ for m in report.timeline]})
    _print_replay(app, loaded.title, report, zone, loaded.workflow)
    return None


def _default_scenario(folder: Path) -> Path:
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if len(files) != 1:
        found = ", ".join(f.name for f in files) or "none"
        raise click.BadParameter(f"name the scenario to replay; {folder} holds: {found}", param_hint="SCENARIO")
    return files[0]


def _archiver(app: App) -> Callable[[int], None]:
    """What a reset does once the erasure is committed: the checkpoints that covered the erased
    content are archived (they would otherwise report it as erased), and a new series starts."""

    def archive(_: int) -> None:
        folder = app.runtime.checkpoint_folder
        moved, target = checkpoints.archive(folder, app.engine.clock.now())
        if moved:
            archived = N_(
                "%(count)s checkpoint(s) of the erased database archived in %(folder)s", count=moved, folder=str(target)
            )
            echo(archived, err=True)

    return archive


def _print_replay(app: App, title: str, report: Any, zone: tzinfo, workflow: str) -> None:
    kind = N_("synthetic cohort") if report.synthetic else N_("public record")
    echo(N_("replay of %(scenario)s (%(kind)s): %(title)s", scenario=report.scenario, kind=kind, title=title))
    echo(
        N_(
            "database %(url)s, simulated clock %(start)s → %(until)s",
            url=app.db.display_url,
            start=_day(report.start, zone),
            until=_day(report.until, zone),
        )
    )
    click.echo("")
    for moment in report.timeline:
        when = _minute(moment.at, zone)
        if not english():  # the workflows' words, never their ids (those stay in --json)
            click.echo(moment_line(moment, when, zone, lambda name: _versions(app, name or workflow)))
        elif moment.kind in ("import", "note", "publish") and not moment.dests:
            click.echo(f"{when}  {moment.kind:<8} {moment.what}")
        else:
            label = {"timer": "⏱ timer ", "decision": "decision"}.get(moment.kind, f"{moment.kind:<8}")
            dests = ", ".join(f"{dest} ×{n}" for dest, n in moment.dests.items())
            plan = f"  [plan {moment.plan}]" if moment.plan else ""
            shown = moment.what if moment.kind in ("decision", "timer") else moment.what.removeprefix(moment.kind + " ")
            click.echo(f"{when}  {label} {shown} → {dests}{plan}")
        if moment.note and moment.kind not in ("decision", "note", "timer", "import") and english():
            click.echo(f"{'':18}  {moment.note}")
        if moment.assumed:
            assumed = line(N_("ASSUMED:"))
            click.echo(f"{'':18}  {assumed} {moment.assumed}")  # the note whole, never cut
    several = len(report.by_workflow) > 1
    for name, counts in report.by_workflow.items() if several else [("", report.counts)]:
        labels = _workflow(app, name or workflow)
        click.echo("")
        if name:
            echo(N_("final count per state of %(workflow)s:", workflow=name))
        else:
            echo(N_("final count per state:"))
        named = {state(state_id, labels): count for state_id, count in counts.items() if count}
        width = max((20, *(len(name) for name in named)))
        for name_shown, count in named.items():
            click.echo(f"  {name_shown:<{width}} {count:>4}")
    if report.unclassified:
        click.echo("")
        if report.synthetic:
            echo(
                N_(
                    "%(count)s entities had no decision in the scenario and stay in their initial state: their 2008 "
                    "group is not in the public record, and none is invented.",
                    count=len(report.unclassified),
                )
            )
        else:
            echo(
                N_(
                    "%(count)s poles had no decision in the scenario and stay in their initial state: their 2008 "
                    "group is not in the public record, and none is invented.",
                    count=len(report.unclassified),
                )
            )
    if report.pending_after:
        click.echo("")
        echo(
            N_(
                "%(count)s deadline(s) still pending after the end of the replay, the next on %(when)s "
                "(labelwf timers lists them)",
                count=report.pending_after,
                when=_minute(report.next_deadline, zone),
            )
        )
    total = sum(report.letters.values())
    queued = ", ".join(f"{k} {v}" for k, v in sorted(report.letters.items()))
    click.echo("")
    echo(N_("%(total)s letters queued:", total=total), nl=False)
    click.echo(f" {queued}")  # the whole list, never cut
    echo(N_("see them with: labelwf list, labelwf history ID, labelwf timers, labelwf letters, labelwf show ID"))


def _versions(app: App, name: str) -> list[Workflow]:
    """The loaded versions of workflow ``name``, the newest first."""
    return [w for w in reversed(app.engine.workflows) if w.name == name]


def _workflow(app: App, name: str) -> Workflow | None:
    """The loaded workflow ``name`` (its newest version), whose labels name the states; None if not loaded."""
    return next((w for w in reversed(app.engine.workflows) if w.name == name), None)


def _day(value: datetime, zone: tzinfo) -> str:
    """A day as the replay's lines say it: ``2008-07-01`` in English, ``01/07/2008`` otherwise."""
    return f"{value.astimezone(zone):%Y-%m-%d}" if english() else f"{value.astimezone(zone):%d/%m/%Y}"


def _minute(value: datetime | None, zone: tzinfo) -> str:
    """``2010-12-31 23:00`` in English, ``31/12/2010 23:00`` otherwise."""
    if value is None:
        return ""
    return f"{value.astimezone(zone):%Y-%m-%d %H:%M}" if english() else f"{value.astimezone(zone):%d/%m/%Y %H:%M}"
