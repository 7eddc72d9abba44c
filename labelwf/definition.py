"""Workflow definitions: load a ``workflows/*.yaml`` file and validate it as a whole.

``load_workflow(path)`` returns a frozen ``Workflow`` or raises ``WorkflowError`` listing every
problem with its file and line. Nothing uses a workflow that did not pass validation. The file
format is documented in ``docs/workflows.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .conditions import Condition, ConditionSyntaxError, compile_condition
from .errors import Problem, WorkflowError
from .letters import check_subject, check_template
from .timers import CATCH_UP_POLICIES, ENTERED, OFFSET_UNITS, Offset, TimerSpec, parse_local
from .yamlfile import LineDict, LineList, load_yaml

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
FIELD_TYPES = ("string", "integer", "date", "datetime")
OPERATOR = "operator"
SYSTEM = "system"


@dataclass(frozen=True)
class FieldDef:
    """A data field that transitions may require: its type and, optionally, the values allowed."""

    name: str
    type: str
    choices: tuple[Any, ...] = ()
    description: str = ""
    label: str = ""

    def coerce(self, value: Any) -> Any:
        """Return ``value`` as this field stores it, or raise ``ValueError`` saying what is expected."""
        text = value.strip() if isinstance(value, str) else value
        try:
            if self.type == "integer":
                result: Any = int(text) if not isinstance(text, bool) else _fail()
            elif self.type == "date":
                result = (text if isinstance(text, date) else date.fromisoformat(str(text))).isoformat()
            elif self.type == "datetime":
                result = (text if isinstance(text, datetime) else parse_local(str(text))).isoformat()
            else:
                result = str(text)
                if not result:
                    _fail()
        except (TypeError, ValueError):
            expected = {
                "integer": "a whole number",
                "date": "a date YYYY-MM-DD",
                "datetime": "a date-time YYYY-MM-DDTHH:MM (local time)",
                "string": "a non-empty text",
            }[self.type]
            raise ValueError(f"data field {self.name!r} must be {expected}, got {value!r}") from None
        if self.choices and result not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise ValueError(f"data field {self.name!r} must be one of {allowed}, got {value!r}")
        return result


def _fail() -> Any:
    raise ValueError


@dataclass(frozen=True)
class StateDef:
    """A state of the workflow, with the timers armed when an instance enters it."""

    name: str
    description: str = ""
    final: bool = False
    timers: tuple[TimerSpec, ...] = ()


@dataclass(frozen=True)
class TransitionDef:
    """One declared transition: from ``sources`` on ``trigger`` to ``dest`` when ``condition`` holds."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    condition: Condition | None = None
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    roles: tuple[str, ...] = (OPERATOR,)
    letters: tuple[str, ...] = ()
    line: int = 0

    @property
    def accepts(self) -> tuple[str, ...]:
        """Every data field this transition takes."""
        return self.requires + self.optional


@dataclass(frozen=True)
class LetterDef:
    """A letter sent at a step: its template, subject template and the recipient roles."""

    name: str
    subject: str
    to: tuple[str, ...]
    template: Path


@dataclass(frozen=True, eq=False)
class Workflow:
    """A validated workflow version: the states, transitions, timers and letters of one programme."""

    name: str
    version: int
    timezone: ZoneInfo
    initial: str
    states: Mapping[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    fields: Mapping[str, FieldDef]
    letters: Mapping[str, LetterDef]
    recipients: Mapping[str, str]
    attributes: tuple[str, ...] = ()
    title: str = ""
    source: Path = field(default=Path("."))
    templates: Path = field(default=Path("."))

    @property
    def key(self) -> str:
        """``name@version``, how instances refer to this definition."""
        return f"{self.name}@{self.version}"

    @cached_property
    def _by_source(self) -> dict[tuple[str, str], tuple[TransitionDef, ...]]:
        table: dict[tuple[str, str], list[TransitionDef]] = {}
        for transition in self.transitions:
            for source in transition.sources:
                table.setdefault((source, transition.trigger), []).append(transition)
        return {key: tuple(value) for key, value in table.items()}

    @cached_property
    def _triggers(self) -> dict[str, tuple[str, ...]]:
        result: dict[str, list[str]] = {name: [] for name in self.states}
        for source, trigger in self._by_source:
            if trigger not in result[source]:
                result[source].append(trigger)
        return {name: tuple(sorted(triggers)) for name, triggers in result.items()}

    def candidates(self, state: str, trigger: str) -> tuple[TransitionDef, ...]:
        """Return the transitions declared for ``trigger`` from ``state``, in file order."""
        return self._by_source.get((state, trigger), ())

    def triggers_from(self, state: str) -> tuple[str, ...]:
        """Return the triggers that ``state`` can take, sorted."""
        return self._triggers.get(state, ())

    @cached_property
    def all_triggers(self) -> tuple[str, ...]:
        """Every trigger the workflow declares, sorted."""
        return tuple(sorted({t.trigger for t in self.transitions}))


def load_workflow(path: str | Path, templates_root: str | Path | None = None) -> Workflow:
    """Load and validate the workflow file at ``path``; raise ``WorkflowError`` with every problem.

    Letter templates are looked up in ``<templates_root>/<workflow name>/`` (default: the
    ``templates`` folder beside the file's ``workflows`` folder).
    """
    path = Path(path)
    document, problems = load_yaml(path)
    if document is None:
        raise WorkflowError(problems)
    root = Path(templates_root) if templates_root is not None else path.resolve().parent.parent / "templates"
    builder = _Builder(str(path), problems)
    workflow = builder.build(document, path, root)
    if builder.problems or workflow is None:
        raise WorkflowError(sorted(builder.problems, key=lambda p: (p.line or 0, p.message)))
    return workflow


_TOP_KEYS = {
    "workflow",
    "version",
    "title",
    "timezone",
    "initial",
    "states",
    "transitions",
    "fields",
    "letters",
    "recipients",
    "attributes",
}
_STATE_KEYS = {"description", "final", "timers"}
_TIMER_KEYS = {"name", "trigger", "at", "default", "after", "from", "catch_up"}
_TRANSITION_KEYS = {"trigger", "source", "dest", "when", "requires", "optional", "roles", "letters"}
_LETTER_KEYS = {"subject", "to", "template"}
_FIELD_KEYS = {"type", "choices", "description", "label"}


class _Builder:
    """Turns a loaded YAML document into a Workflow, collecting every problem on the way."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = list(problems)

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def build(self, doc: Any, path: Path, templates_root: Path) -> Workflow | None:
        if not isinstance(doc, LineDict):
            self.problem(1, "a workflow file must be a mapping with keys workflow, version, states, ...")
            return None
        self._unknown_keys(doc, _TOP_KEYS, "workflow file")
        name = self._name(doc, "workflow", "workflow name")
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.problem(doc.line_of("version"), f"version must be a whole number >= 1, got {version!r}")
        timezone = self._timezone(doc)
        fields = self._fields(doc.get("fields", LineDict()), doc.line_of("fields"))
        recipients = self._recipients(doc.get("recipients", LineDict()), doc.line_of("recipients"))
        letters = self._letters(
            doc.get("letters", LineDict()), doc.line_of("letters"), templates_root / str(name), recipients
        )
        raw_states = doc.get("states")
        if not isinstance(raw_states, LineDict) or not raw_states:
            self.problem(doc.line_of("states"), "states must be a non-empty mapping of state name to settings")
            raw_states = LineDict()
            raw_states.key_lines = {}
        transitions = self._transitions(doc, raw_states, fields, letters)
        states = self._states(raw_states, transitions)
        initial = doc.get("initial")
        if initial not in raw_states:
            self.problem(
                doc.line_of("initial"),
                f"initial state {initial!r} is not a declared state; states: {_names(raw_states)}",
            )
        else:
            self._reachability(raw_states, transitions, str(initial))
        if self.problems:
            return None
        return Workflow(
            name=str(name),
            version=cast(int, version),
            timezone=timezone,  # type: ignore[arg-type]
            initial=str(initial),
            states=states,
            transitions=tuple(transitions),
            fields=fields,
            letters=letters,
            recipients=recipients,
            attributes=self._attributes(doc),
            title=str(doc.get("title", "")),
            source=path,
            templates=templates_root / str(name),
        )

    # -- pieces ---------------------------------------------------------------------------------

    def _unknown_keys(self, mapping: LineDict, allowed: set[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(
                    mapping.line_of(key),
                    f"unknown key {key!r} in {what}; allowed: {', '.join(sorted(allowed))}",
                )

    def _name(self, mapping: LineDict, key: str, what: str) -> str | None:
        value = mapping.get(key)
        if not isinstance(value, str) or not re.match(r"^[a-z0-9][a-z0-9_.-]*$", value):
            self.problem(
                mapping.line_of(key),
                f"{what} must be lower-case letters, digits, '-', '_' or '.', got {value!r}",
            )
            return None
        return value

    def _attributes(self, doc: LineDict) -> tuple[str, ...]:
        names = doc.get("attributes", [])
        if not isinstance(names, list) or not all(isinstance(n, str) and NAME_RE.match(n) for n in names):
            self.problem(
                doc.line_of("attributes"), f"attributes must be a list of lower_snake_case names, got {names!r}"
            )
            return ()
        if {"id", "name"} & set(names):
            self.problem(doc.line_of("attributes"), "attributes must not repeat the columns id and name")
        return tuple(names)

    def _timezone(self, doc: LineDict) -> ZoneInfo | None:
        value = doc.get("timezone")
        try:
            return ZoneInfo(str(value)) if isinstance(value, str) else _raise_tz()
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(doc.line_of("timezone"), f"timezone must be an IANA name such as Europe/Paris, got {value!r}")
            return None

    def _fields(self, raw: Any, line: int) -> dict[str, FieldDef]:
        if not isinstance(raw, LineDict):
            self.problem(line, "fields must be a mapping of field name to {type, choices}")
            return {}
        result: dict[str, FieldDef] = {}
        for name, spec in raw.items():
            at = raw.line_of(name)
            if not NAME_RE.match(str(name)):
                self.problem(at, f"field name must be lower_snake_case, got {name!r}")
            spec = spec if isinstance(spec, LineDict) else LineDict()
            if not hasattr(spec, "key_lines"):
                spec.key_lines = {}
            self._unknown_keys(spec, _FIELD_KEYS, f"field {name!r}")
            kind = spec.get("type", "string")
            if kind not in FIELD_TYPES:
                self.problem(
                    spec.line_of("type") or at,
                    f"field {name!r} type must be one of {', '.join(FIELD_TYPES)}, got {kind!r}",
                )
                continue
            choices = spec.get("choices", [])
            if not isinstance(choices, list):
                self.problem(spec.line_of("choices"), f"field {name!r} choices must be a list, got {choices!r}")
                choices = []
            result[str(name)] = FieldDef(
                str(name), str(kind), tuple(choices), str(spec.get("description", "")), str(spec.get("label", ""))
            )
        return result

    def _recipients(self, raw: Any, line: int) -> dict[str, str]:
        if not isinstance(raw, LineDict):
            self.problem(line, "recipients must be a mapping of role name to the function addressed")
            return {}
        result = {}
        for role, label in raw.items():
            if not NAME_RE.match(str(role)) or not isinstance(label, str) or not label.strip():
                self.problem(raw.line_of(role), f"recipient {role!r} needs a lower_snake_case name and a label")
                continue
            self.problems.extend(check_subject(label, self.file, raw.line_of(role), f"recipient {role}"))
            result[str(role)] = label
        return result

    def _letters(self, raw: Any, line: int, folder: Path, recipients: Mapping[str, str]) -> dict[str, LetterDef]:
        if not isinstance(raw, LineDict):
            self.problem(line, "letters must be a mapping of letter name to {subject, to}")
            return {}
        result = {}
        for name, spec in raw.items():
            at = raw.line_of(name)
            if not isinstance(spec, LineDict):
                self.problem(at, f"letter {name!r} must be a mapping with subject and to")
                continue
            self._unknown_keys(spec, _LETTER_KEYS, f"letter {name!r}")
            subject = spec.get("subject")
            if not isinstance(subject, str) or not subject.strip():
                self.problem(spec.line_of("subject"), f"letter {name!r} needs a subject")
                subject = ""
            to = spec.get("to", [])
            if isinstance(to, str):
                to = [to]
            if not to:
                self.problem(spec.line_of("to"), f"letter {name!r} needs at least one recipient role in 'to'")
            for role in to:
                if role not in recipients:
                    self.problem(
                        spec.line_of("to"),
                        f"letter {name!r} is sent to unknown recipient role {role!r}; declared: {_names(recipients)}",
                    )
            template = folder / str(spec.get("template", f"{name}.j2"))
            if not template.is_file():
                self.problem(at, f"letter {name!r}: template file {template} does not exist")
            else:
                self.problems.extend(check_template(template))
            self.problems.extend(check_subject(str(subject), self.file, spec.line_of("subject"), str(name)))
            result[str(name)] = LetterDef(str(name), str(subject), tuple(str(r) for r in to), template)
        return result

    def _transitions(
        self,
        doc: LineDict,
        states: LineDict,
        fields: Mapping[str, FieldDef],
        letters: Mapping[str, LetterDef],
    ) -> list[TransitionDef]:
        raw = doc.get("transitions")
        if not isinstance(raw, LineList) or not raw:
            self.problem(doc.line_of("transitions"), "transitions must be a non-empty list")
            return []
        result = []
        seen: dict[tuple[str, str, str], int] = {}
        for item, line in zip(raw, raw.item_lines, strict=True):
            if not isinstance(item, LineDict):
                self.problem(line, "each transition must be a mapping with trigger, source and dest")
                continue
            self._unknown_keys(item, _TRANSITION_KEYS, "transition")
            trigger = item.get("trigger")
            if not isinstance(trigger, str) or not NAME_RE.match(trigger):
                self.problem(item.line_of("trigger"), f"trigger must be lower_snake_case, got {trigger!r}")
                continue
            sources = item.get("source")
            sources = [sources] if isinstance(sources, str) else sources
            if not isinstance(sources, list) or not sources:
                self.problem(item.line_of("source"), f"transition {trigger!r} needs a source state or a list of them")
                sources = []
            for source in sources:
                if source not in states:
                    self.problem(
                        item.line_of("source"),
                        f"transition {trigger!r} has unknown source state {source!r}; states: {_names(states)}",
                    )
            dest = item.get("dest")
            if dest not in states:
                self.problem(
                    item.line_of("dest"),
                    f"transition {trigger!r} has unknown dest state {dest!r}; states: {_names(states)}",
                )
            condition = None
            if "when" in item:
                try:
                    condition = compile_condition(item["when"])
                except ConditionSyntaxError as exc:
                    self.problem(item.line_of("when"), str(exc))
            requires = self._field_list(item, "requires", trigger, fields)
            optional = self._field_list(item, "optional", trigger, fields)
            if condition is not None:
                for name in sorted(condition.fields - set(requires) - set(optional)):
                    self.problem(
                        item.line_of("when"),
                        f"transition {trigger!r}: condition reads data.{name}, which is neither in requires "
                        "nor in optional",
                    )
            roles = item.get("roles", [OPERATOR])
            roles = [roles] if isinstance(roles, str) else roles
            if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r for r in roles):
                self.problem(item.line_of("roles"), f"transition {trigger!r}: roles must be a non-empty list of names")
                roles = [OPERATOR]
            sent = item.get("letters", [])
            sent = [sent] if isinstance(sent, str) else sent
            for letter in sent:
                if letter not in letters:
                    self.problem(
                        item.line_of("letters"),
                        f"transition {trigger!r} sends unknown letter {letter!r}; declared letters: {_names(letters)}",
                    )
            for source in sources:
                key = (trigger, str(source), item.get("when", ""))
                if key in seen:
                    self.problem(
                        line,
                        f"transition {trigger!r} from {source!r} is declared twice (first at line {seen[key]})",
                    )
                seen[key] = line
            result.append(
                TransitionDef(
                    trigger=trigger,
                    sources=tuple(str(s) for s in sources),
                    dest=str(dest),
                    condition=condition,
                    requires=tuple(requires),
                    optional=tuple(optional),
                    roles=tuple(roles),
                    letters=tuple(sent),
                    line=line,
                )
            )
        return result

    def _field_list(self, item: LineDict, key: str, trigger: str, fields: Mapping[str, FieldDef]) -> list[str]:
        names = item.get(key, [])
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list):
            self.problem(item.line_of(key), f"transition {trigger!r}: {key} must be a list of field names")
            return []
        for name in names:
            if name not in fields:
                self.problem(
                    item.line_of(key),
                    f"transition {trigger!r} {key} undeclared data field {name!r}; declare it under fields "
                    f"(declared: {_names(fields)})",
                )
        return [str(n) for n in names]

    def _states(self, raw: LineDict, transitions: list[TransitionDef]) -> dict[str, StateDef]:
        takes: dict[str, set[str]] = {name: set() for name in raw}
        roles: dict[tuple[str, str], set[str]] = {}
        for transition in transitions:
            for source in transition.sources:
                takes.setdefault(source, set()).add(transition.trigger)
                roles.setdefault((source, transition.trigger), set()).update(transition.roles)
        result = {}
        for name, spec in raw.items():
            at = raw.line_of(name)
            if not NAME_RE.match(str(name)):
                self.problem(at, f"state name must be lower_snake_case, got {name!r}")
            spec = spec if spec is not None else LineDict()
            if not isinstance(spec, LineDict):
                self.problem(at, f"state {name!r} must be a mapping (description, final, timers)")
                continue
            if not hasattr(spec, "key_lines"):
                spec.key_lines = {}
                spec.line = at
            self._unknown_keys(spec, _STATE_KEYS, f"state {name!r}")
            final = spec.get("final", False)
            if not isinstance(final, bool):
                self.problem(spec.line_of("final"), f"state {name!r}: final must be true or false, got {final!r}")
            if final and takes.get(name):
                self.problem(at, f"state {name!r} is final but has outgoing triggers: {', '.join(sorted(takes[name]))}")
            if not final and not takes.get(name):
                self.problem(at, f"state {name!r} has no outgoing transition: add one or mark it final: true")
            timers = self._timers(spec.get("timers", []), spec.line_of("timers"), str(name), takes.get(name, set()))
            for timer in timers:
                allowed = roles.get((str(name), timer.trigger), set())
                if allowed and SYSTEM not in allowed:
                    self.problem(
                        spec.line_of("timers"),
                        f"timer {timer.name!r} fires {timer.trigger!r}, which role {SYSTEM!r} (the daemon's) may not "
                        f"fire from state {name!r}; add {SYSTEM} to the transition's roles",
                    )
            result[str(name)] = StateDef(str(name), str(spec.get("description", "")), bool(final), tuple(timers))
        return result

    def _timers(self, raw: Any, line: int, state: str, takes: set[str]) -> list[TimerSpec]:
        if not isinstance(raw, list):
            self.problem(line, f"state {state!r}: timers must be a list")
            return []
        result = []
        names: set[str] = set()
        for item, at in zip(raw, getattr(raw, "item_lines", [line] * len(raw)), strict=True):
            if not isinstance(item, LineDict):
                self.problem(at, f"state {state!r}: each timer must be a mapping (name, trigger, at or after)")
                continue
            self._unknown_keys(item, _TIMER_KEYS, f"timer in state {state!r}")
            name = item.get("name")
            if not isinstance(name, str) or not NAME_RE.match(name):
                self.problem(
                    item.line_of("name"),
                    f"state {state!r}: timer name must be lower_snake_case, got {name!r}",
                )
                continue
            if name in names:
                self.problem(item.line_of("name"), f"state {state!r}: timer {name!r} is declared twice")
            names.add(name)
            trigger = item.get("trigger")
            if trigger not in takes:
                self.problem(
                    item.line_of("trigger"),
                    f"timer {name!r} fires {trigger!r}, which state {state!r} cannot take; "
                    f"it takes: {', '.join(sorted(takes)) or 'nothing'}",
                )
            catch_up = item.get("catch_up", "fire")
            if catch_up not in CATCH_UP_POLICIES:
                self.problem(
                    item.line_of("catch_up"),
                    f"timer {name!r}: catch_up must be one of {', '.join(CATCH_UP_POLICIES)}, got {catch_up!r}",
                )
            spec = self._timer_when(item, name)
            if spec is not None:
                result.append(TimerSpec(name=name, trigger=str(trigger), catch_up=catch_up, **spec))
        return result

    def _timer_when(self, item: LineDict, name: str) -> dict[str, Any] | None:
        has_at, has_after = "at" in item, "after" in item
        if has_at == has_after:
            self.problem(item.line, f"timer {name!r} needs exactly one of 'at' (a date-time) or 'after' (an offset)")
            return None
        if has_at:
            at = item["at"]
            if isinstance(at, str) and at.startswith("data."):
                default = None
                if "default" in item:
                    default = self._local(item, "default", name)
                return {"at_field": at[len("data.") :], "default": default}
            if "default" in item:
                self.problem(item.line_of("default"), f"timer {name!r}: default only goes with at: data.<field>")
            local = self._local(item, "at", name)
            return {"at": local} if local is not None else None
        after = item["after"]
        if not isinstance(after, dict) or not after:
            self.problem(item.line_of("after"), f"timer {name!r}: after must be a mapping such as {{months: 18}}")
            return None
        units: dict[str, Any] = {}
        for unit, amount in after.items():
            if unit not in OFFSET_UNITS:
                self.problem(
                    item.line_of("after"),
                    f"timer {name!r}: unknown duration unit {unit!r}; use {', '.join(OFFSET_UNITS)}",
                )
            elif not isinstance(amount, int | float) or isinstance(amount, bool) or amount < 0:
                self.problem(item.line_of("after"), f"timer {name!r}: {unit} must be a number >= 0, got {amount!r}")
            elif unit != "seconds" and not isinstance(amount, int):
                self.problem(item.line_of("after"), f"timer {name!r}: {unit} must be a whole number, got {amount!r}")
            else:
                units[unit] = amount
        anchor = item.get("from", ENTERED)
        if anchor != ENTERED and not (isinstance(anchor, str) and anchor.startswith("data.")):
            self.problem(
                item.line_of("from"),
                f"timer {name!r}: from must be 'entered' or data.<field>, got {anchor!r}",
            )
            return None
        anchor = anchor if anchor == ENTERED else anchor[len("data.") :]
        offset = Offset(
            months=units.get("months", 0),
            days=units.get("days", 0),
            hours=units.get("hours", 0),
            minutes=units.get("minutes", 0),
            seconds=units.get("seconds", 0),
        )
        return {"after": offset, "anchor": anchor}

    def _local(self, item: LineDict, key: str, name: str) -> datetime | None:
        try:
            return parse_local(item[key])
        except ValueError as exc:
            self.problem(item.line_of(key), f"timer {name!r}: {exc}")
            return None

    def _reachability(self, states: LineDict, transitions: list[TransitionDef], initial: str) -> None:
        reached = {initial}
        frontier = [initial]
        while frontier:
            state = frontier.pop()
            for transition in transitions:
                if state in transition.sources and transition.dest not in reached:
                    reached.add(transition.dest)
                    frontier.append(transition.dest)
        for name in states:
            if name not in reached:
                self.problem(states.line_of(name), f"state {name!r} cannot be reached from initial state {initial!r}")


def _raise_tz() -> ZoneInfo:
    raise ValueError


def _names(items: Iterable[Any]) -> str:
    names = [str(i) for i in items]
    return ", ".join(names) if names else "none"


def load_workflows(location: str | Path, templates_root: str | Path | None = None) -> list[Workflow]:
    """Load every ``*.yaml`` workflow of a folder (or one file); raise ``WorkflowError`` with all problems."""
    location = Path(location)
    if location.is_dir():
        files = sorted([*location.glob("*.yaml"), *location.glob("*.yml")])
        if not files:
            raise WorkflowError([Problem(str(location), None, "no workflow file (*.yaml) in this folder")])
    elif location.is_file():
        files = [location]
    else:
        raise WorkflowError([Problem(str(location), None, "no such workflow file or folder")])
    loaded, problems = [], []
    for file in files:
        try:
            loaded.append(load_workflow(file, templates_root))
        except WorkflowError as exc:
            problems.extend(exc.problems)
    keys = [w.key for w in loaded]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(Problem(str(location), None, f"workflow {key} is defined by more than one file"))
    if problems:
        raise WorkflowError(problems)
    return loaded
