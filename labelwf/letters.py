"""Letters: render the letters a transition sends, as frozen artefacts for the outbox.

Rendering happens inside the fire transaction (the engine calls ``render_letters``); a missing
template or variable raises ``LetterError`` and the fire is not applied. Templates are checked
when the workflow is loaded: syntax, and variables outside the context described below.

Context of every template:
    entity     id, name, attributes (region, theme, ...) of the labelled entity
    event      trigger, source, dest, actor, reason, occurred_at (aware UTC), data of this step
    data       the instance's data after this step
    recipient  role and label (the function addressed)
    workflow   name, version, title
    date_fr    the step's date written the French way ("11 mai 2010")
    reference  the letter's reference (workflow, entity, event sequence, letter)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
from jinja2 import meta

from .errors import LetterError, Problem

CONTEXT_NAMES = frozenset({"entity", "event", "data", "recipient", "workflow", "date_fr", "reference"})
MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


@dataclass(frozen=True)
class RenderedLetter:
    """One letter for one recipient, ready to be stored in the outbox."""

    template: str
    recipient: str
    subject: str
    body: str
    checksum: str


def date_fr(instant: datetime, tz: tzinfo) -> str:
    """Write ``instant`` as a French administrative date in ``tz``: ``1er janvier 2010``, ``11 mai 2010``."""
    local = instant.astimezone(tz)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {MONTHS_FR[local.month - 1]} {local.year}"


@lru_cache(maxsize=32)
def _environment(folder: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=False),
        keep_trailing_newline=True,
        auto_reload=False,  # a process renders one frozen set of templates: no stat() per letter
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date_fr"] = _date_filter
    return env


def _date_filter(value: Any) -> str:
    """``{{ data.contract_start | date_fr }}``: an ISO date or date-time written the French way."""
    year, month, day = (int(x) for x in str(value)[:10].split("-"))
    return f"{'1er' if day == 1 else day} {MONTHS_FR[month - 1]} {year}"


class LetterRenderer:
    """Renders the letters of one workflow from its template folder; templates compile once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = _environment(folder.resolve())
        self._subjects: dict[str, tuple[jinja2.Template, bool]] = {}

    def render(
        self, template_file: str, letter: str, subject: str, recipients: Mapping[str, str], context: dict[str, Any]
    ) -> Iterator[RenderedLetter]:
        """Yield one rendered letter per recipient role; raise ``LetterError`` naming what failed."""
        try:
            body_template = self.env.get_template(template_file)
            subject_template, per_recipient = self._subject(letter, subject)
            title = None
            for role, label in recipients.items():
                context["recipient"] = SimpleNamespace(role=role, label=label)
                body = body_template.render(context)
                if title is None or per_recipient:
                    title = " ".join(subject_template.render(context).split())
                digest = hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
                yield RenderedLetter(letter, role, title, body, digest)
        except jinja2.TemplateNotFound as exc:
            raise LetterError(letter, f"template file {self.folder / str(exc.name)} does not exist") from None
        except jinja2.UndefinedError as exc:
            raise LetterError(letter, f"undefined variable: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise LetterError(letter, str(exc)) from None

    def _subject(self, letter: str, subject: str) -> tuple[jinja2.Template, bool]:
        """The compiled subject, and whether it depends on the recipient (else it renders once per letter)."""
        cached = self._subjects.get(letter)
        if cached is None:
            per_recipient = "recipient" in meta.find_undeclared_variables(self.env.parse(subject))
            cached = self._subjects[letter] = (self.env.from_string(subject), per_recipient)
        return cached


def check_template(path: Path) -> list[Problem]:
    """Return the problems of one template file: syntax errors and variables outside the context."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(str(path), None, f"letter template cannot be read: {exc}")]
    env = _environment(path.parent.resolve())
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return [Problem(str(path), exc.lineno, f"template syntax error: {exc.message}")]
    unknown = sorted(meta.find_undeclared_variables(tree) - CONTEXT_NAMES)
    return [
        Problem(
            str(path),
            None,
            f"template uses undefined variable {name!r}; available: {', '.join(sorted(CONTEXT_NAMES))}",
        )
        for name in unknown
    ]


def check_subject(subject: str, file: str, line: int, letter: str) -> list[Problem]:
    """Return the problems of a subject template (declared inline in the workflow file)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    try:
        tree = env.parse(subject)
    except jinja2.TemplateSyntaxError as exc:
        return [Problem(file, line, f"letter {letter!r}: subject is not a valid template: {exc.message}")]
    unknown = sorted(meta.find_undeclared_variables(tree) - CONTEXT_NAMES)
    return [Problem(file, line, f"letter {letter!r}: subject uses undefined variable {name!r}") for name in unknown]
