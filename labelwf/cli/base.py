"""The ``labelwf`` group, the exit codes, and what every command shares: the wiring, output, pages."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, tzinfo
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..config import load_settings
from ..engine.fire import Engine
from ..errors import (
    AccountError,
    ActionRefused,
    AmbiguousWorkflow,
    BusinessTimeRefused,
    CertificateError,
    CheckpointError,
    ConcurrentUpdate,
    ConfigError,
    DatabaseBusy,
    DatabaseError,
    DatabaseNotEmpty,
    ImportRejected,
    InvalidCursor,
    InvalidData,
    LabelwfError,
    MissingData,
    MissingJustification,
    NotFound,
    OthersActed,
    PlanRejected,
    ResetRefused,
    ScenarioError,
    SchemaMismatch,
    SignatureRefused,
    TransitionRefused,
    WorkflowError,
)
from ..i18n import DEFAULT_LOCALE, SOURCE_LOCALE, say
from ..runtime import Runtime
from ..store import Database
from ..store.reads import MAX_PAGE
from ..store.records import Page
from ..text import shown
from ..workflow.definition import Workflow
from ..workflow.timers import localize, parse_local

EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_CONFLICT = 1, 2, 3, 4, 5
EXIT_AUDIT_BROKEN, EXIT_NOT_INITIALISED, EXIT_BUSY = 6, 7, 8

_EXIT_CODES: list[tuple[type[LabelwfError], int]] = [
    (ConcurrentUpdate, EXIT_CONFLICT),
    (BusinessTimeRefused, EXIT_BAD_INPUT),
    (NotFound, EXIT_NOT_FOUND),
    (SchemaMismatch, EXIT_NOT_INITIALISED),
    (DatabaseBusy, EXIT_BUSY),
    (DatabaseError, EXIT_BAD_INPUT),
    (MissingData, EXIT_BAD_INPUT),
    (InvalidData, EXIT_BAD_INPUT),
    (MissingJustification, EXIT_BAD_INPUT),
    (TransitionRefused, EXIT_REFUSED),
    (WorkflowError, EXIT_BAD_INPUT),
    (ImportRejected, EXIT_BAD_INPUT),
    (ScenarioError, EXIT_BAD_INPUT),
    (PlanRejected, EXIT_BAD_INPUT),
    (DatabaseNotEmpty, EXIT_BAD_INPUT),
    (OthersActed, EXIT_BAD_INPUT),
    (ResetRefused, EXIT_REFUSED),
    (ActionRefused, EXIT_REFUSED),
    (ConfigError, EXIT_BAD_INPUT),
    (CheckpointError, EXIT_BAD_INPUT),
    (AccountError, EXIT_BAD_INPUT),
    (InvalidCursor, EXIT_BAD_INPUT),
    (AmbiguousWorkflow, EXIT_BAD_INPUT),
    (CertificateError, EXIT_BAD_INPUT),
    (SignatureRefused, EXIT_BAD_INPUT),
]

EPILOG = """\b
Exit codes: 0 done, 1 unexpected failure, 2 bad input, 3 not found,
4 refused (transition or action), 5 concurrent conflict, 6 audit broken, 7 database not initialised,
8 database busy (try again).
\b
Settings come from config.yaml (or --config), then LABELWF_* environment variables
(LABELWF_DATABASE, LABELWF_WORKFLOWS, ...), then the flags below.
\b
Examples:
  labelwf list --state review
  labelwf show vegepolys
  labelwf fire enfant classify --set group=3 --actor DGCIS --reason "Rapport 2008"
  labelwf history enfant --limit 20
"""
T = TypeVar("T")
DEFAULT_LIMIT = 100  # items per page of a listing


class App:
    """What every command needs: the runtime wired from the settings, and how to print."""

    def __init__(self, config: str | None, database: str | None, workflow: str | None) -> None:
        self._config, self._database, self.workflow_name = config, database, workflow
        self.out = Console(soft_wrap=True, highlight=False)

    @cached_property
    def runtime(self) -> Runtime:
        """Everything wired from the settings (read on first use: ``--help`` reads none)."""
        return Runtime.from_config(self._config, overrides={"database": self._database})

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    @property
    def workflow(self) -> Workflow:
        """The workflow named by ``--workflow``, or the only one loaded."""
        return self.engine.workflow(self.workflow_name)

    @property
    def zone(self) -> tzinfo:
        return self.runtime.settings.zone

    def close(self) -> None:
        """Release the database connections, if any were opened."""
        if "runtime" in self.__dict__:
            self.runtime.close()

    def local(self, value: datetime | None) -> str:
        """Format an aware instant in the display time zone, as people read it here: ``30/06/2008 14:05``."""
        if value is None:
            return ""
        return value.astimezone(self.zone).strftime("%d/%m/%Y %H:%M")

    def emit_json(self, payload: Any) -> None:
        click.echo(json.dumps(payload, default=json_default, ensure_ascii=False, indent=2))

    def emit_page(self, page: Page[T], item: Callable[[T], dict[str, Any]]) -> None:
        """A page as JSON: ``items``, the ``next`` cursor (or null) and how many ``more`` follow."""
        self.emit_json(
            {
                "items": [item(i) for i in page.items],
                "next": page.next,
                "more": page.more,
                "more_is_at_least": page.more_capped_at is not None,
            }
        )

    def print_rows(self, table: Table, empty: str) -> None:
        """Print ``table``; when it has no row, its title and ``empty`` (why, and what to do) instead."""
        self.out.print(table if table.row_count else Text(f"{table.title}{' — ' if empty else ''}{empty}"))

    def print_more(self, page: Page[Any], command: str) -> None:
        """After a page's table: how many more there are and the command that shows the next page."""
        if page.next is not None:
            size = "" if len(page.items) == DEFAULT_LIMIT else f" --limit {len(page.items)}"
            click.echo(f"... {more_text(page)} : {command}{size} --after {page.next}")


def more_text(page: Page[Any]) -> str:
    """How many items follow a page: ``"12 de plus"``, ``"1000+ de plus"`` or ``""``."""
    if page.more_capped_at is not None:
        return f"{page.more_capped_at}+ de plus"
    return f"{page.more} de plus" if page.more else ""


def page_title(page: Page[Any], what: str) -> str:
    """A page's table title: ``"50 courrier(s)"``, or ``"50 courrier(s), 12 de plus"`` when more follow."""
    return f"{len(page.items)} {what}" + (f", {more_text(page)}" if page.more_text else "")


def table(title: str, *columns: str, wrap: Sequence[str] = ()) -> Table:
    """A compact table that fits 80 columns: only the columns named in ``wrap`` wrap their text."""
    result = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True
    )
    for column in columns:
        result.add_column(column, no_wrap=column not in wrap, overflow="fold")
    return result


def row(rich_table: Table, *cells: object) -> None:
    """Add a row of plain-text cells (never markup; control characters shown escaped). A column that
    wraps keeps room for its longest word (up to 30 characters): names break between words only."""
    texts = ["" if c is None else shown(c) for c in cells]
    for column, text in zip(rich_table.columns, texts, strict=False):
        if not column.no_wrap:
            longest = min(30, max((len(word) for word in text.split()), default=0))
            column.min_width = max(column.min_width or 0, longest)
    rich_table.add_row(*(Text(text) for text in texts))


def json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
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


def exit_code(error: LabelwfError) -> int:
    """The exit code of a labelwf error."""
    return next((code for kind, code in _EXIT_CODES if isinstance(error, kind)), EXIT_FAILURE)


def _plain(value: Any) -> Any:
    """A field's value as JSON holds it: records (dataclasses) as objects, in lists as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def error_json(error: LabelwfError, locale: str = SOURCE_LOCALE) -> dict[str, Any]:
    """An error as ``--json`` prints it: its class, message (in ``locale``), exit code and fields."""
    fields: dict[str, Any] = {}
    for key, value in vars(error).items():
        if key.startswith("_"):
            continue
        try:
            plain = _plain(value)
            json.dumps(plain, default=json_default)
            fields[key] = plain
        except (TypeError, ValueError):
            fields[key] = str(value)
    message = say(error, locale)
    return {"error": {"type": type(error).__name__, "message": message, "exit_code": exit_code(error), **fields}}


def usage_error_json(error: click.ClickException) -> dict[str, Any]:
    """A usage error (unknown command or option, bad or missing value) as ``--json`` prints it."""
    param = getattr(error, "param", None)
    option = (param.opts[0] if param.opts else param.name) if isinstance(param, click.Parameter) else None
    hint = getattr(error, "param_hint", None)
    return {
        "error": {
            "type": "UsageError",
            "message": error.format_message(),
            "exit_code": error.exit_code,
            "option": option or (hint if isinstance(hint, str) else None),
            "help": "labelwf --help, or labelwf COMMAND --help",
        }
    }


def _print_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, default=json_default, ensure_ascii=False, indent=2))


class _Group(click.Group):
    """Turns labelwf errors into a message and its exit code, never a traceback (JSON with ``--json``,
    usage errors included: on stdout for the script, click's message on stderr for its reader)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["labelwf.json"] = "--json" in args
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as exc:
            self._usage(ctx, exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        wants_json = bool(ctx.meta.get("labelwf.json"))
        try:
            return super().invoke(ctx)
        except LabelwfError as exc:
            locale = _locale(ctx)
            if wants_json:  # the error as JSON on stdout, for the script; the message on stderr, for its reader
                _print_json(error_json(exc, locale))
            fail(exit_code(exc), say(exc, locale))
        except click.ClickException as exc:
            self._usage(ctx, exc)
            raise

    @staticmethod
    def _usage(ctx: click.Context, exc: click.ClickException) -> None:
        if ctx.meta.get("labelwf.json") and not getattr(exc, "labelwf_reported", False):
            exc.labelwf_reported = True  # type: ignore[attr-defined]  # a nested group reports it once
            _print_json(usage_error_json(exc))


def _locale(ctx: click.Context) -> str:
    """The language of the error line: the ``locale`` setting (its default when the settings cannot be read)."""
    app = ctx.obj
    if isinstance(app, App) and "runtime" in vars(app):
        return app.runtime.settings.locale
    try:
        return load_settings(app._config if isinstance(app, App) else None).locale
    except LabelwfError:
        return DEFAULT_LOCALE


def instant(text: str | None, zone: tzinfo, option: str) -> datetime | None:
    """A local date-time option (``YYYY-MM-DD[THH:MM]``, in ``zone``) as an aware instant, or None."""
    if text is None:
        return None
    try:
        return localize(parse_local(text), zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table (for scripts).")


def page_options(default: int = DEFAULT_LIMIT) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--limit N`` and ``--after CURSOR``: one page of a listing, by keyset cursor."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--after",
            metavar="CURSOR",
            help="Start after this cursor: the 'next' of the previous page (printed under the table, or in --json).",
        )(command)
        return click.option(
            "--limit",
            type=click.IntRange(min=1, max=MAX_PAGE),
            default=default,
            show_default=True,
            help=f"Items per page (at most {MAX_PAGE}).",
        )(command)

    return decorate


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


def split_sets(values: Sequence[str]) -> dict[str, str]:
    """``--set key=value`` options as a mapping."""
    data: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint="--set")
        if key.strip() in data:
            given = f"{data[key.strip()]!r} and {value!r}"
            raise click.BadParameter(
                f"{key.strip()!r} is given twice ({given}): give each key once", param_hint="--set"
            )
        data[key.strip()] = value
    return data
