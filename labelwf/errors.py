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


class LabelwfError(Exception):
    """Raised when labelwf refuses or fails on purpose (the root of this hierarchy)."""


class ConfigError(LabelwfError):
    """Raised when a configuration value is missing or malformed."""

    def __init__(self, key: str, value: object, expected: str) -> None:
        self.key, self.value, self.expected = key, value, expected
        super().__init__(f"configuration {key} = {value!r} is invalid: expected {expected}")


class AccountError(LabelwfError):
    """Raised when an account or token request is malformed: the field, the value, what is expected."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field, self.value, self.expected = field, value, expected
        super().__init__(f"{field} {value!r} is refused: expected {expected}")


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
    headline = "problems"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"  {p}" for p in self.problems[: self.SHOWN]]
        if count > self.SHOWN:
            lines.append(f"  ... and {count - self.SHOWN} more (fix these and run again to see the rest)")
        plural = "s" if count != 1 else ""
        super().__init__(f"{self.headline} ({count} problem{plural}):\n" + "\n".join(lines))


class WorkflowError(_ProblemsError):
    """Raised when a workflow file is invalid; ``problems`` lists every problem found, with its line."""

    headline = "invalid workflow"


class ImportRejected(_ProblemsError):
    """Raised when a data file has bad rows; ``problems`` names each one and nothing was imported."""

    headline = "nothing imported"


class ScenarioError(_ProblemsError):
    """Raised when a scenario file is invalid or a step of it is refused; ``problems`` says where."""

    headline = "scenario cannot be replayed"


class PlanRejected(_ProblemsError):
    """Raised when a plan cannot be made from its input; ``problems`` says where. Nothing was stored."""

    headline = "no plan made"


class DatabaseNotEmpty(LabelwfError):
    """Raised when a replay would mix with instances already in the database."""

    def __init__(self, url: str, instances: int, replay_mark: str | None = None) -> None:
        self.url, self.instances, self.replay_mark = url, instances, replay_mark
        if replay_mark is None:
            hint = (
                "it was not created by a replay, so --reset will not erase it: "
                "pass --db to replay into another database"
            )
        else:
            kind = replay_mark.split(":")[0]
            hint = f"it holds a {kind} replay: pass --reset to erase it first, or --db to replay into another database"
        super().__init__(f"database {url} already holds {instances} instance(s); a replay needs an empty one; {hint}")


class ResetRefused(LabelwfError):
    """Raised when ``replay --reset`` is asked to erase a database that no replay created."""

    def __init__(self, url: str, instances: int) -> None:
        self.url, self.instances = url, instances
        super().__init__(
            f"refusing to erase {url}: its {instances} instance(s) were not created by a replay (the database "
            "carries no replay mark); --reset erases only replay databases: pass --db to replay into another one"
        )


class OthersActed(LabelwfError):
    """Raised when ``replay --reset`` would erase what someone other than the replay recorded."""

    def __init__(self, url: str, acted: Sequence[tuple[str, int]], erased: Mapping[str, int]) -> None:
        self.url, self.acted, self.erased = url, list(acted), dict(erased)
        who = ", ".join(f"{principal}: {count}" for principal, count in self.acted[:5])
        more = f" and {len(self.acted) - 5} more" if len(self.acted) > 5 else ""
        total = sum(count for _, count in self.acted)
        rows = ", ".join(f"{count} {table}(s)" for table, count in self.erased.items() if count)  # what it holds
        super().__init__(
            f"refusing to erase {url}: besides the replay, {total} event(s) or plan(s) were recorded by others "
            f"({who}{more}); to keep them, replay into another database (--db another.db); to erase them with "
            f"the rest, pass --reset --force, which deletes {rows}"
        )


class NotFound(LabelwfError):
    """Raised when an instance, entity or letter does not exist."""

    def __init__(self, kind: str, key: object, hint: str = "") -> None:
        self.kind, self.key, self.hint = kind, key, hint
        super().__init__(f"no {kind} {key!r}" + (f"; {hint}" if hint else ""))


class AmbiguousWorkflow(LabelwfError):
    """Raised when an entity has instances in several loaded workflows and none was named."""

    def __init__(self, entity: str, workflows: Sequence[str]) -> None:
        self.entity, self.workflows = entity, list(workflows)
        super().__init__(
            f"{entity!r} has instances in several workflows ({', '.join(self.workflows)}); "
            f"name one with --workflow (e.g. --workflow {self.workflows[0]})"
        )


class TransitionRefused(LabelwfError):
    """Raised when the workflow refuses a fire; nothing was written."""

    instance: str
    trigger: str


class InvalidTransition(TransitionRefused):
    """Raised when a trigger is not allowed in the instance's current state."""

    def __init__(self, instance: str, trigger: str, state: str, allowed: Sequence[str]) -> None:
        self.instance, self.trigger, self.state, self.allowed = instance, trigger, state, list(allowed)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none (final state)"
        super().__init__(
            f"trigger {trigger!r} is not allowed in state {state!r} of {instance!r}; allowed: {allowed_text}"
        )


class ConditionNotMet(TransitionRefused):
    """Raised when a trigger is allowed in the state but none of its conditions holds for the data."""

    def __init__(self, instance: str, trigger: str, state: str, conditions: Sequence[str]) -> None:
        self.instance, self.trigger, self.state = instance, trigger, state
        self.conditions = list(conditions)
        listed = "; ".join(self.conditions)
        super().__init__(
            f"trigger {trigger!r} from state {state!r} of {instance!r} needs one of these conditions "
            f"to hold, none does: {listed}"
        )


class MissingData(TransitionRefused):
    """Raised when a transition requires data fields that were not given."""

    def __init__(self, instance: str, trigger: str, missing: Sequence[str]) -> None:
        self.instance, self.trigger, self.missing = instance, trigger, list(missing)
        fields = ", ".join(self.missing)
        example = " ".join(f"--set {name}=..." for name in self.missing)
        super().__init__(f"trigger {trigger!r} on {instance!r} requires data: {fields} (e.g. {example})")


class InvalidData(TransitionRefused):
    """Raised when data given to a transition is unknown to it or malformed."""

    def __init__(self, instance: str, trigger: str, field: str, problem: str) -> None:
        self.instance, self.trigger, self.field, self.problem = instance, trigger, field, problem
        super().__init__(f"trigger {trigger!r} on {instance!r}: {problem}")


class RoleNotAllowed(TransitionRefused):
    """Raised when a trigger is reserved to roles that the caller does not have."""

    def __init__(self, instance: str, trigger: str, role: str, allowed: Sequence[str]) -> None:
        self.instance, self.trigger, self.role, self.allowed = instance, trigger, role, list(allowed)
        super().__init__(
            f"trigger {trigger!r} on {instance!r} is reserved to role(s) {', '.join(self.allowed)}; got role {role!r}"
        )


class ReservedIdentity(TransitionRefused):
    """Raised when a caller claims the daemon's own role or name: only a due timer acts as the system."""

    def __init__(self, instance: str, trigger: str, field: str, value: str) -> None:
        self.instance, self.trigger, self.field, self.value = instance, trigger, field, value
        super().__init__(
            f"{field} {value!r} is reserved to labelwf's daemon (only a due timer fires as the system); "
            f"act on {instance!r} as an operator, under your own name"
        )


class MissingJustification(TransitionRefused):
    """Raised when an operator action lacks an actor or a reason (both are required for the audit)."""

    def __init__(self, instance: str, trigger: str, missing: Sequence[str]) -> None:
        self.instance, self.trigger, self.missing = instance, trigger, list(missing)
        super().__init__(
            f"trigger {trigger!r} on {instance!r} needs a non-empty {' and '.join(self.missing)} "
            "(who acts and why go into the audit trail)"
        )


class BusinessTimeRefused(LabelwfError):
    """Raised when a decision's business time is before the instance's last event or later than now."""

    def __init__(self, instance: str, at: datetime, earliest: datetime | None, latest: datetime) -> None:
        self.instance, self.at, self.earliest, self.latest = instance, at, earliest, latest
        first = earliest.isoformat(timespec="seconds") if earliest is not None else ""
        if earliest is not None and at < earliest:
            why = f"is before its last event ({first}): a history never runs backwards; give a date from {first} on"
        else:
            why = f"is in the future (after {latest.isoformat(timespec='seconds')}): date a decision when it was taken"
        super().__init__(f"business time {at.isoformat(timespec='seconds')} of a decision on {instance!r} {why}")


class CheckpointError(LabelwfError):
    """Raised when a checkpoint cannot be written, read or trusted: the file, and what is wrong with it."""

    def __init__(self, path: str, detail: str) -> None:
        self.path, self.detail = path, detail
        super().__init__(f"checkpoint {path}: {detail}")


class LetterAltered(LabelwfError):
    """Raised when a letter's stored text, HTML or recipient is not what its event sealed: it is not shown."""

    def __init__(self, letter: int, instance: str, problem: str) -> None:
        self.letter, self.instance, self.problem = letter, instance, problem
        super().__init__(
            f"letter {letter} of {instance!r} was altered since it was written: {problem}; its frozen copy "
            "cannot be shown (`labelwf audit verify` names every altered letter)"
        )


class ConcurrentUpdate(LabelwfError):
    """Raised when the instance changed since it was read; nothing of this fire was written."""

    def __init__(self, instance: str, expected_version: int, found_version: int | None) -> None:
        self.instance, self.expected_version, self.found_version = instance, expected_version, found_version
        found = "unknown" if found_version is None else str(found_version)
        super().__init__(
            f"{instance!r} was changed by someone else: expected version {expected_version}, found {found}; "
            "reload it (labelwf show) and decide again"
        )


class LetterError(LabelwfError):
    """Raised when a letter cannot be rendered (missing template or variable); the fire was not applied."""

    def __init__(self, template: str, detail: str) -> None:
        self.template, self.detail = template, detail
        super().__init__(f"letter template {template!r} failed: {detail}")


class SchemaMismatch(LabelwfError):
    """Raised when the database schema revision differs from the one this version of labelwf expects."""

    def __init__(self, url: str, found: str | None, expected: str) -> None:
        self.url, self.found, self.expected = url, found, expected
        state = "has no labelwf schema" if found is None else f"is at schema revision {found}"
        super().__init__(f"database {url} {state}; this labelwf needs revision {expected}: run `labelwf init` first")


class InvalidCursor(LabelwfError):
    """Raised when a page cursor (``--after``) is not one that a listing of this kind handed out."""

    def __init__(self, cursor: str, listing: str) -> None:
        self.cursor, self.listing = cursor, listing
        super().__init__(
            f"cursor {cursor!r} is not a {listing} cursor: pass the 'next' value of a previous page "
            f"of the same listing (labelwf {listing} --json)"
        )


class DatabaseError(LabelwfError):
    """Raised when the database refuses or fails a statement; ``detail`` is the driver's message."""

    def __init__(self, url: str, detail: str, message: str | None = None) -> None:
        self.url, self.detail = url, detail
        super().__init__(message or f"database {url} failed: {detail}")


class DatabaseBusy(DatabaseError):
    """Raised when another process held the write lock for longer than the busy timeout; try again."""

    def __init__(self, url: str, detail: str, timeout_ms: int | None) -> None:
        self.timeout_ms = timeout_ms
        waited = f"after waiting {timeout_ms} ms " if timeout_ms is not None else ""
        super().__init__(
            url,
            detail,
            f"database busy: another process holds the write lock of {url}; gave up {waited}({detail}). "
            "Try again, or raise busy_timeout_ms (LABELWF_BUSY_TIMEOUT_MS)",
        )


class DatabaseUnavailable(DatabaseError):
    """Raised when the database cannot be reached (server down, wrong URL) or its file cannot be opened."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(
            url, detail, f"cannot use {url}: {detail}; check the database setting and that the server runs"
        )


class ReadOnlyDatabase(DatabaseError):
    """Raised when a write is asked of a database that can only be read here (file or server read-only)."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(
            url,
            detail,
            f"database {url} is read-only here ({detail}): reads work, but this command writes; "
            "use a writable copy, or ask for write access to the file and its folder",
        )


class ActionRefused(LabelwfError):
    """Raised when an operator's action does not apply to what it names as it stands (nothing was written)."""

    def __init__(self, action: str, subject: str, found: str, expected: str) -> None:
        self.action, self.subject, self.found, self.expected = action, subject, found, expected
        super().__init__(f"cannot {action} {subject}: it is {found}; expected {expected}")


class RateLimited(LabelwfError):
    """Raised when a caller asks for more of something costly than its share (fires, PDFs) in a minute."""

    def __init__(self, what: str, per_minute: int, retry_after_s: int) -> None:
        self.what, self.per_minute, self.retry_after_s = what, per_minute, retry_after_s
        super().__init__(f"too many {what}: at most {per_minute} a minute per account; retry in {retry_after_s} s")


class Overloaded(LabelwfError):
    """Raised when a server process already runs and queues as many of a costly kind of work as it takes."""

    def __init__(self, what: str, at_once: int, queued: int, retry_after_s: int) -> None:
        self.what, self.at_once, self.queued, self.retry_after_s = what, at_once, queued, retry_after_s
        super().__init__(
            f"too many {what} at once: this server runs {at_once} and queues {queued}; retry in {retry_after_s} s"
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
