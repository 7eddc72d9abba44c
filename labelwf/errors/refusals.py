"""Refusals of what somebody asked: a thing that does not exist, a decision the workflow does not allow, an
action that does not apply, a page cursor from elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..message import N_, Message, Quoted, Term, Word, listed
from .base import LabelwfError


class NotFound(LabelwfError):
    """Raised when an instance, entity or letter does not exist."""

    def __init__(self, kind: str, key: object, hint: str | Message = "") -> None:
        self.kind, self.key, self.hint = kind, key, str(hint)  # the field in English; said in any language
        if hint:
            super().__init__(N_("no %(kind)s %(key)s; %(hint)s", kind=Word(kind), key=Quoted(key), hint=hint))
        else:
            super().__init__(N_("no %(kind)s %(key)s", kind=Word(kind), key=Quoted(key)))


class AmbiguousWorkflow(LabelwfError):
    """Raised when an entity has instances in several loaded workflows and none was named."""

    def __init__(self, entity: str, workflows: Sequence[str]) -> None:
        self.entity, self.workflows = entity, list(workflows)
        super().__init__(
            N_(
                "%(entity)s has instances in several workflows (%(workflows)s); "
                "name one with --workflow (e.g. --workflow %(first)s)",
                entity=Quoted(entity),
                workflows=", ".join(self.workflows),
                first=self.workflows[0],
            )
        )


_NONE_FINAL_STATE = N_(
    "none (final state)"
)  # marked apart: pybabel extract misses a message marked inside another's call


class TransitionRefused(LabelwfError):
    """Raised when the workflow refuses a fire; nothing was written."""

    instance: str
    trigger: str


class InvalidTransition(TransitionRefused):
    """Raised when a trigger is not allowed in the instance's current state."""

    def __init__(self, instance: str, trigger: str, state: str, allowed: Sequence[str]) -> None:
        self.instance, self.trigger, self.state, self.allowed = instance, trigger, state, list(allowed)
        super().__init__(
            N_(
                "trigger %(trigger)s is not allowed in state %(state)s of %(instance)s; allowed: %(allowed)s",
                trigger=Term("trigger", trigger),
                state=Term("state", state),
                instance=Quoted(instance),
                allowed=listed([Term("trigger", a, quoted=False) for a in self.allowed], ", ", _NONE_FINAL_STATE),
            )
        )


class ConditionNotMet(TransitionRefused):
    """Raised when a trigger is allowed in the state but none of its conditions holds for the data."""

    def __init__(self, instance: str, trigger: str, state: str, conditions: Sequence[str]) -> None:
        self.instance, self.trigger, self.state = instance, trigger, state
        self.conditions = list(conditions)
        super().__init__(
            N_(
                "trigger %(trigger)s from state %(state)s of %(instance)s needs one of these conditions "
                "to hold, none does: %(conditions)s",
                trigger=Term("trigger", trigger),
                state=Term("state", state),
                instance=Quoted(instance),
                conditions="; ".join(self.conditions),
            )
        )


class MissingData(TransitionRefused):
    """Raised when a transition requires data fields that were not given."""

    def __init__(self, instance: str, trigger: str, missing: Sequence[str]) -> None:
        self.instance, self.trigger, self.missing = instance, trigger, list(missing)
        example = " ".join(f"--set {name}=..." for name in self.missing)
        super().__init__(
            N_(
                "trigger %(trigger)s on %(instance)s requires data: %(fields)s (e.g. %(example)s)",
                trigger=Term("trigger", trigger),
                instance=Quoted(instance),
                fields=listed([Term("field", name, quoted=False) for name in self.missing]),
                example=example,
            )
        )


class InvalidData(TransitionRefused):
    """Raised when data given to a transition is unknown to it or malformed."""

    def __init__(self, instance: str, trigger: str, field: str, problem: str | Message) -> None:
        self.instance, self.trigger, self.field, self.problem = instance, trigger, field, str(problem)
        super().__init__(
            N_(
                "trigger %(trigger)s on %(instance)s: %(problem)s",
                trigger=Term("trigger", trigger),
                instance=Quoted(instance),
                field=Term("field", field),
                problem=problem,
            )
        )


class RoleNotAllowed(TransitionRefused):
    """Raised when a trigger is reserved to roles that the caller does not have."""

    def __init__(self, instance: str, trigger: str, role: str, allowed: Sequence[str]) -> None:
        self.instance, self.trigger, self.role, self.allowed = instance, trigger, role, list(allowed)
        super().__init__(
            N_(
                "trigger %(trigger)s on %(instance)s is reserved to role(s) %(allowed)s; got role %(role)s",
                trigger=Term("trigger", trigger),
                instance=Quoted(instance),
                allowed=listed([Word(a) for a in self.allowed]),
                role=Word(role, quoted=True),
            )
        )


class ReservedIdentity(TransitionRefused):
    """Raised when a caller claims the daemon's own role or name: only a due timer acts as the system."""

    def __init__(self, instance: str, trigger: str, field: str, value: str) -> None:
        self.instance, self.trigger, self.field, self.value = instance, trigger, field, value
        super().__init__(
            N_(
                "%(field)s %(value)s is reserved to labelwf's daemon (only a due timer fires as the system); "
                "act on %(instance)s as an operator, under your own name",
                field=Word(field),
                value=Quoted(value),
                instance=Quoted(instance),
            )
        )


class MissingJustification(TransitionRefused):
    """Raised when an operator action lacks an actor or a reason (both are required for the audit)."""

    def __init__(self, instance: str, trigger: str, missing: Sequence[str], *, letter: int | None = None) -> None:
        self.instance, self.trigger, self.missing = instance, trigger, list(missing)
        what = Word(" and ".join(self.missing))  # one word per case: the other languages agree the verb
        if letter is not None:  # an act on a letter: the letter said by its number, not as an instance's key
            said = N_(
                "trigger %(trigger)s on letter %(letter)s needs a non-empty %(missing)s "
                "(who acts and why go into the audit trail)",
                trigger=Term("trigger", trigger),
                letter=letter,
                missing=what,
            )
        else:
            said = N_(
                "trigger %(trigger)s on %(instance)s needs a non-empty %(missing)s "
                "(who acts and why go into the audit trail)",
                trigger=Term("trigger", trigger),
                instance=Quoted(instance),
                missing=what,
            )
        super().__init__(said)


class BusinessTimeRefused(LabelwfError):
    """Raised when a decision's business time is before the instance's last event or later than now."""

    def __init__(self, instance: str, at: datetime, earliest: datetime | None, latest: datetime) -> None:
        self.instance, self.at, self.earliest, self.latest = instance, at, earliest, latest
        if earliest is not None and at < earliest:
            said = N_(
                "business time %(at)s of a decision on %(instance)s is before its last event (%(earliest)s): "
                "a history never runs backwards; give a date from %(earliest)s on",
                at=at,
                instance=Quoted(instance),
                earliest=earliest,
                latest=latest,
            )
        else:
            said = N_(
                "business time %(at)s of a decision on %(instance)s is in the future (after %(latest)s): "
                "date a decision when it was taken",
                at=at,
                instance=Quoted(instance),
                earliest=earliest or "",
                latest=latest,
            )
        super().__init__(said)


class ConcurrentUpdate(LabelwfError):
    """Raised when the instance changed since it was read; nothing of this fire was written."""

    def __init__(self, instance: str, expected_version: int, found_version: int | None) -> None:
        self.instance, self.expected_version, self.found_version = instance, expected_version, found_version
        found = N_("unknown") if found_version is None else str(found_version)
        super().__init__(
            N_(
                "%(instance)s was changed by someone else: expected version %(expected)s, found %(found)s; "
                "reload it (labelwf show) and decide again",
                instance=Quoted(instance),
                expected=expected_version,
                found=found,
            )
        )


class ActionRefused(LabelwfError):
    """Raised when an operator's action does not apply to what it names as it stands (nothing was written)."""

    def __init__(
        self, action: str, subject: str, found: str, expected: str | Message, message: Message | None = None
    ) -> None:
        self.action, self.subject, self.found, self.expected = action, subject, found, str(expected)
        said = N_(
            "cannot %(action)s %(subject)s: it is %(found)s; expected %(expected)s",
            action=action,
            subject=subject,
            found=Word(found),
            expected=expected,
        )
        super().__init__(message or said)


class NothingToExecute(ActionRefused):
    """Raised when a plan is run whose every item was refused at its preview: nothing in it can be executed."""

    def __init__(self, plan: int, refused: int) -> None:
        self.plan, self.refused = plan, refused
        super().__init__(
            "run",
            f"plan {plan}",
            f"without an executable item (all {refused} refused at its preview)",
            "a plan with at least one item to execute; cancel this one and plan what applies",
            N_(
                "cannot run plan %(plan)s: it is without an executable item (all %(refused)s refused at its "
                "preview); expected a plan with at least one item to execute; cancel this one and plan what applies",
                plan=plan,
                refused=refused,
            ),
        )


class InvalidCursor(LabelwfError):
    """Raised when a page cursor (``--after``) is not one that a listing of this kind handed out."""

    def __init__(self, cursor: str, listing: str) -> None:
        self.cursor, self.listing = cursor, listing
        super().__init__(
            N_(
                "cursor %(cursor)s is not a %(listing)s cursor: pass the 'next' value of a previous page "
                "of the same listing (labelwf %(listing)s --json)",
                cursor=Quoted(cursor),
                listing=listing,
            )
        )
