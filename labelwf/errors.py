"""Every error labelwf raises on purpose.

    LabelwfError
    ├── ConfigError              bad configuration value
    ├── WorkflowError            a workflow file is invalid (carries every problem found)
    ├── ImportRejected           a data file is invalid (carries every bad row); nothing was imported
    ├── ScenarioError            a scenario file is invalid, or one of its steps was refused
    ├── PlanRejected             a plan's input (selection, outcomes file, migration file) is invalid
    ├── DatabaseNotEmpty         a replay was asked on a database that already holds instances
    ├── OthersActed              replay --reset would erase what others than the replay recorded
    ├── NotFound                 no such instance / entity / letter
    ├── AmbiguousWorkflow        an entity has instances in several loaded workflows: name one
    ├── TransitionRefused        the workflow does not allow this fire
    │   ├── InvalidTransition    the trigger is not allowed in the current state
    │   ├── ConditionNotMet      the trigger exists here but no condition matched the data
    │   ├── MissingData          a field the transition requires was not given
    │   ├── InvalidData          a field is unknown to the transition or its value is malformed
    │   ├── RoleNotAllowed       the trigger is reserved to other roles
    │   └── MissingJustification an operator action without an actor or a reason
    ├── BusinessTimeRefused      a decision dated before the instance's last event, or in the future
    ├── ConcurrentUpdate         someone else changed the instance first (optimistic concurrency)
    ├── ActionRefused            an operator's action (a letter's retry…) does not apply as things stand
    │   └── NothingToExecute     a plan is run whose every item was refused at its preview
    ├── RateLimited              more fires or PDFs in a minute than an account's share
    ├── Overloaded               a server process already runs as many password checks (or console writes) as it takes
    ├── LetterError              a letter could not be rendered; the fire was not applied
    ├── LetterAltered            a letter's stored copy is not the one its event sealed
    ├── CertificateError         a signing certificate or its passphrase cannot be used
    ├── SignatureRefused         a PDF cannot be signed as asked (not a PDF, a bad signature box)
    ├── InvalidCursor            a page cursor that no listing of this kind handed out
    ├── SchemaMismatch           the database schema is not the one this code expects
    └── DatabaseError            the database refused or failed (the driver's error, wrapped)
        ├── DatabaseBusy         another process held the write lock past the busy timeout
        ├── DatabaseUnavailable  the database cannot be reached or opened
        └── ReadOnlyDatabase     the database can only be read here; a write was refused

Every class carries the values it talks about as fields, so the CLI can print them and tests can
assert on them without parsing text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .message import N_, Message, Quoted, Term, Word, listed

_NONE_FINAL_STATE = N_(
    "none (final state)"
)  # marked apart: pybabel extract misses a message marked inside another's call


class LabelwfError(Exception):
    """Raised when labelwf refuses or fails on purpose (the root of this hierarchy).

    Its message is a ``Message`` (an English msgid and its values, ``labelwf.message``):
    ``str(error)`` is the English text, ``labelwf.i18n.say(error, locale)`` says it in ``locale``.
    """

    def __init__(self, message: Message | str = "") -> None:
        self._message = message if isinstance(message, Message) else Message(str(message))
        self._labels: Any = None  # the workflow whose labels name its states and triggers, when known
        super().__init__(str(self._message))

    @property
    def message(self) -> Message:
        """What this error says, to be said in any language."""
        return self._message

    @property
    def labels(self) -> Any:
        """The workflow (``state_label``, ``trigger_label``, ``field_label``) that names this error's terms, or None."""
        return self._labels

    def labelled(self, labels: Any) -> LabelwfError:
        """This error, its states, triggers and fields named by ``labels`` (a workflow) where it declares labels."""
        self._labels = labels
        return self


class ConfigError(LabelwfError):
    """Raised when a configuration value is missing or malformed."""

    def __init__(self, key: str, value: object, expected: str) -> None:
        self.key, self.value, self.expected = key, value, expected
        super().__init__(
            N_(
                "configuration %(key)s = %(value)s is invalid: expected %(expected)s",
                key=key,
                value=Quoted(value),
                expected=expected,
            )
        )


class AccountError(LabelwfError):
    """Raised when an account or token request is malformed: the field, the value, what is expected."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field, self.value, self.expected = field, value, expected
        super().__init__(
            N_(
                "%(field)s %(value)s is refused: expected %(expected)s",
                field=Word(field),
                value=Quoted(value),
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


class DatabaseNotEmpty(LabelwfError):
    """Raised when a replay would mix with instances already in the database."""

    def __init__(self, url: str, instances: int, replay_mark: str | None = None) -> None:
        self.url, self.instances, self.replay_mark = url, instances, replay_mark
        if replay_mark is None:
            hint = N_(
                "it was not created by a replay, so --reset will not erase it: "
                "pass --db to replay into another database"
            )
        else:
            kind = replay_mark.split(":")[0]
            hint = N_(
                "it holds a %(kind)s replay: pass --reset to erase it first, or --db to replay into another database",
                kind=kind,
            )
        super().__init__(
            N_(
                "database %(url)s already holds %(instances)s instance(s); a replay needs an empty one; %(hint)s",
                url=url,
                instances=instances,
                hint=hint,
            )
        )


class ResetRefused(LabelwfError):
    """Raised when ``replay --reset`` is asked to erase a database that no replay created."""

    def __init__(self, url: str, instances: int) -> None:
        self.url, self.instances = url, instances
        super().__init__(
            N_(
                "refusing to erase %(url)s: its %(instances)s instance(s) were not created by a replay (the database "
                "carries no replay mark); --reset erases only replay databases: pass --db to replay into another one",
                url=url,
                instances=instances,
            )
        )


class OthersActed(LabelwfError):
    """Raised when ``replay --reset`` would erase what someone other than the replay recorded."""

    def __init__(self, url: str, acted: Sequence[tuple[str, int]], erased: Mapping[str, int]) -> None:
        self.url, self.acted, self.erased = url, list(acted), dict(erased)
        who = ", ".join(f"{principal}: {count}" for principal, count in self.acted[:5])
        more = N_(" and %(more)s more", more=len(self.acted) - 5) if len(self.acted) > 5 else ""
        total = sum(count for _, count in self.acted)
        rows = ", ".join(f"{count} {table}(s)" for table, count in self.erased.items() if count)  # what it holds
        super().__init__(
            N_(
                "refusing to erase %(url)s: besides the replay, %(total)s event(s) or plan(s) were recorded by "
                "others (%(who)s%(more)s); to keep them, replay into another database (--db another.db); to erase "
                "them with the rest, pass --reset --force, which deletes %(rows)s",
                url=url,
                total=total,
                who=who,
                more=more,
                rows=rows,
            )
        )


class NotFound(LabelwfError):
    """Raised when an instance, entity or letter does not exist."""

    def __init__(self, kind: str, key: object, hint: str = "") -> None:
        self.kind, self.key, self.hint = kind, key, hint
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

    def __init__(self, instance: str, trigger: str, field: str, problem: str) -> None:
        self.instance, self.trigger, self.field, self.problem = instance, trigger, field, problem
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

    def __init__(self, instance: str, trigger: str, missing: Sequence[str]) -> None:
        self.instance, self.trigger, self.missing = instance, trigger, list(missing)
        super().__init__(
            N_(
                "trigger %(trigger)s on %(instance)s needs a non-empty %(missing)s "
                "(who acts and why go into the audit trail)",
                trigger=Term("trigger", trigger),
                instance=Quoted(instance),
                missing=Word(" and ".join(self.missing)),  # one word per case: the other languages agree the verb
            )
        )


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


class CheckpointError(LabelwfError):
    """Raised when a checkpoint cannot be written, read or trusted: the file, and what is wrong with it."""

    def __init__(self, path: str, detail: str) -> None:
        self.path, self.detail = path, detail
        super().__init__(N_("checkpoint %(path)s: %(detail)s", path=path, detail=detail))


class LetterAltered(LabelwfError):
    """Raised when a letter's stored text, HTML or recipient is not what its event sealed: it is not shown."""

    def __init__(self, letter: int, instance: str, problem: str) -> None:
        self.letter, self.instance, self.problem = letter, instance, problem
        super().__init__(
            N_(
                "letter %(letter)s of %(instance)s was altered since it was written: %(problem)s; its frozen copy "
                "cannot be shown (`labelwf audit verify` names every altered letter)",
                letter=letter,
                instance=Quoted(instance),
                problem=problem,
            )
        )


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


class LetterError(LabelwfError):
    """Raised when a letter cannot be rendered (missing template or variable); the fire was not applied."""

    def __init__(self, template: str, detail: str) -> None:
        self.template, self.detail = template, detail
        super().__init__(
            N_("letter template %(template)s failed: %(detail)s", template=Quoted(template), detail=detail)
        )


class SchemaMismatch(LabelwfError):
    """Raised when the database schema revision differs from the one this version of labelwf expects."""

    def __init__(self, url: str, found: str | None, expected: str) -> None:
        self.url, self.found, self.expected = url, found, expected
        if found is None:
            said = N_(
                "database %(url)s has no labelwf schema; this labelwf needs revision %(expected)s: "
                "run `labelwf init` first",
                url=url,
                expected=expected,
            )
        else:
            said = N_(
                "database %(url)s is at schema revision %(found)s; this labelwf needs revision %(expected)s: "
                "run `labelwf init` first",
                url=url,
                found=found,
                expected=expected,
            )
        super().__init__(said)


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


class DatabaseError(LabelwfError):
    """Raised when the database refuses or fails a statement; ``detail`` is the driver's message."""

    def __init__(self, url: str, detail: str, message: Message | None = None) -> None:
        self.url, self.detail = url, detail
        super().__init__(message or N_("database %(url)s failed: %(detail)s", url=url, detail=detail))


class DatabaseBusy(DatabaseError):
    """Raised when another process held the write lock for longer than the busy timeout; try again."""

    def __init__(self, url: str, detail: str, timeout_ms: int | None) -> None:
        self.timeout_ms = timeout_ms
        waited = N_("after waiting %(ms)s ms ", ms=timeout_ms) if timeout_ms is not None else ""
        super().__init__(
            url,
            detail,
            N_(
                "database busy: another process holds the write lock of %(url)s; gave up %(waited)s(%(detail)s). "
                "Try again, or raise busy_timeout_ms (LABELWF_BUSY_TIMEOUT_MS)",
                url=url,
                waited=waited,
                detail=detail,
            ),
        )


class DatabaseUnavailable(DatabaseError):
    """Raised when the database cannot be reached (server down, wrong URL) or its file cannot be opened."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(
            url,
            detail,
            N_(
                "cannot use %(url)s: %(detail)s; check the database setting and that the server runs",
                url=url,
                detail=detail,
            ),
        )


class ReadOnlyDatabase(DatabaseError):
    """Raised when a write is asked of a database that can only be read here (file or server read-only)."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(
            url,
            detail,
            N_(
                "database %(url)s is read-only here (%(detail)s): reads work, but this command writes; "
                "use a writable copy, or ask for write access to the file and its folder",
                url=url,
                detail=detail,
            ),
        )


class ActionRefused(LabelwfError):
    """Raised when an operator's action does not apply to what it names as it stands (nothing was written)."""

    def __init__(self, action: str, subject: str, found: str, expected: str) -> None:
        self.action, self.subject, self.found, self.expected = action, subject, found, expected
        super().__init__(
            N_(
                "cannot %(action)s %(subject)s: it is %(found)s; expected %(expected)s",
                action=action,
                subject=subject,
                found=Word(found),
                expected=expected,
            )
        )


class RateLimited(LabelwfError):
    """Raised when a caller asks for more of something costly than its share (fires, PDFs) in a minute."""

    def __init__(self, what: str, per_minute: int, retry_after_s: int) -> None:
        self.what, self.per_minute, self.retry_after_s = what, per_minute, retry_after_s
        super().__init__(
            N_(
                "too many %(what)s: at most %(per_minute)s a minute per account; retry in %(retry)s s",
                what=Word(what),
                per_minute=per_minute,
                retry=retry_after_s,
            )
        )


class Overloaded(LabelwfError):
    """Raised when a server process already runs and queues as many of a costly kind of work as it takes."""

    def __init__(self, what: str, at_once: int, queued: int, retry_after_s: int) -> None:
        self.what, self.at_once, self.queued, self.retry_after_s = what, at_once, queued, retry_after_s
        super().__init__(
            N_(
                "too many %(what)s at once: this server runs %(at_once)s and queues %(queued)s; retry in %(retry)s s",
                what=Word(what),
                at_once=at_once,
                queued=queued,
                retry=retry_after_s,
            )
        )


class CertificateError(LabelwfError):
    """Raised when a signing certificate or its passphrase cannot be used: where, what is wrong, what is expected.

    Its message never holds the passphrase, nor anything read from the key."""

    def __init__(self, source: str, problem: str, expected: str) -> None:
        self.source, self.problem, self.expected = source, problem, expected
        super().__init__(f"{source} : {problem} ; attendu : {expected}")


class SignatureRefused(LabelwfError):
    """Raised when a PDF cannot be signed as asked: the document, what is wrong, what is expected."""

    def __init__(self, document: str, problem: str, expected: str) -> None:
        self.document, self.problem, self.expected = document, problem, expected
        super().__init__(f"signature de {document} impossible : {problem} ; attendu : {expected}")


class NothingToExecute(ActionRefused):
    """Raised when a plan is run whose every item was refused at its preview: nothing in it can be executed."""

    def __init__(self, plan: int, refused: int) -> None:
        self.plan, self.refused = plan, refused
        super().__init__(
            "run",
            f"plan {plan}",
            f"without an executable item (all {refused} refused at its preview)",
            "a plan with at least one item to execute; cancel this one and plan what applies",
        )
