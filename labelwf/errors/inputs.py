"""Errors of what labelwf is given to read: a setting, an account's field, a file with its problems (a
workflow, a data file, a scenario, a plan's input).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..message import N_, Message, Quoted, Word, listed
from .base import LabelwfError


class ConfigError(LabelwfError):
    """Raised when a configuration value is missing or malformed."""

    def __init__(self, key: str, value: object, expected: str | Message) -> None:
        self.key, self.value, self.expected = key, value, str(expected)  # the field in English; said in any language
        super().__init__(
            N_(
                "configuration %(key)s = %(value)s is invalid: expected %(expected)s",
                key=key,
                value=Quoted(value),
                expected=expected,
            )
        )


NOT_SHOWN = "(not shown)"  # the value an AccountError names for a secret (a password): never its text


class AccountError(LabelwfError):
    """Raised when an account or token request is malformed: the field, the value, what is expected."""

    def __init__(self, field: str, value: object, expected: str | Message) -> None:
        self.field, self.value, self.expected = (
            field,
            value,
            str(expected),
        )  # the field in English; said in any language
        super().__init__(
            N_(
                "%(field)s %(value)s is refused: expected %(expected)s",
                field=Word(field),
                value=N_("'(not shown)'") if value == NOT_SHOWN else Quoted(value),
                expected=expected,
            )
        )


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: where it is and what is wrong."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


class _ProblemsError(LabelwfError):
    """An error that carries every problem found in a file; its message shows the first ``SHOWN``."""

    SHOWN = 50
    headline = N_("problems")

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines: list[object] = [f"  {p}" for p in self.problems[: self.SHOWN]]
        if count > self.SHOWN:
            more = count - self.SHOWN
            lines.append(N_("  ... and %(more)s more (fix these and run again to see the rest)", more=more))
        shown = listed(lines, "\n")
        if count == 1:
            super().__init__(N_("%(headline)s (1 problem):\n%(lines)s", headline=self.headline, lines=shown))
        else:
            said = N_("%(headline)s (%(count)s problems):\n%(lines)s", headline=self.headline, count=count, lines=shown)
            super().__init__(said)


class WorkflowError(_ProblemsError):
    """Raised when a workflow file is invalid; ``problems`` lists every problem found, with its line."""

    headline = N_("invalid workflow")


class ImportRejected(_ProblemsError):
    """Raised when a data file has bad rows; ``problems`` names each one and nothing was imported."""

    headline = N_("nothing imported")


class ScenarioError(_ProblemsError):
    """Raised when a scenario file is invalid or a step of it is refused; ``problems`` says where."""

    headline = N_("scenario cannot be replayed")


class PlanRejected(_ProblemsError):
    """Raised when a plan cannot be made from its input; ``problems`` says where. Nothing was stored."""

    headline = N_("no plan made")
