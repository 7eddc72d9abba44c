"""Loading workflow files: ``workflows/*.yaml`` validated as a whole into a frozen ``Workflow``.

``load_workflow(path)`` returns a ``Workflow`` or raises ``WorkflowError`` listing every problem
with its file and line; ``load_workflows(folder)`` loads every file of a folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import Problem, WorkflowError
from ..letters.spec import LetterDef
from . import loader_letters as parts
from .conditions import ConditionSyntaxError, compile_condition
from .definition import ENDINGS, FIELD_TYPES, NAME_RE, OPERATOR, SYSTEM, FieldDef, StateDef, TransitionDef, Workflow
from .timer_specs import TimerReader, loop_problems
from .yamlfile import LineDict, LineList, load_yaml


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
    try:
        workflow = builder.build(document, path, root)
    except (RecursionError, MemoryError):  # every parser is bounded; this is the net under them all
        reason = "the file or a template it uses is nested too deeply to be read: write it with fewer nested levels"
        raise WorkflowError([*builder.problems, Problem(str(path), None, reason)]) from None
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
    "letterhead",
    "endings",
}
_STATE_KEYS = {"description", "final", "timers", "label"}
_TRANSITION_KEYS = {"trigger", "source", "dest", "when", "requires", "optional", "roles", "letters", "label"}
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
        self.unknown_keys(doc, _TOP_KEYS, "workflow file")
        name = self._name(doc, "workflow", "workflow name")
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.problem(doc.line_of("version"), f"version must be a whole number >= 1, got {version!r}")
        timezone = self._timezone(doc)
        fields = self._fields(doc.get("fields", LineDict()), doc.line_of("fields"))
        recipients, ranks = parts.recipients(self, doc.get("recipients", LineDict()), doc.line_of("recipients"))
        recipient_labels, entity_roles = parts.recipient_readings(self, doc.get("recipients", LineDict()))
        letters = parts.letters(
            self, doc.get("letters", LineDict()), doc.line_of("letters"), templates_root / str(name), recipients
        )
        letterhead = parts.letterhead(self, doc.get("letterhead"), doc.line_of("letterhead"))
        raw_states = doc.get("states")
        if not isinstance(raw_states, LineDict) or not raw_states:
            self.problem(doc.line_of("states"), "states must be a non-empty mapping of state name to settings")
            raw_states = LineDict()
            raw_states.key_lines = {}
        transitions = self._transitions(doc, raw_states, fields, letters)
        states = self._states(raw_states, transitions, set(letters))
        initial = doc.get("initial")
        if initial not in raw_states:
            self.problem(
                doc.line_of("initial"),
                f"initial state {initial!r} is not a declared state; states: {_names(raw_states)}",
            )
        endings = self._endings(doc, states)
        if initial in raw_states:
            self._reachability(raw_states, transitions, str(initial), set(endings.values()))
        self._timer_loops(raw_states, states, transitions)
        if self.problems:
            return None
        attributes, attribute_types = self._attributes(doc)
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
            ranks=ranks,
            letterhead=letterhead,
            attributes=attributes,
            attribute_types=attribute_types,
            title=str(doc.get("title", "")),
            endings=endings,
            recipient_labels=recipient_labels,
            entity_roles=entity_roles,
            source=path,
            templates=templates_root / str(name),
        )

    # -- pieces ---------------------------------------------------------------------------------

    def unknown_keys(self, mapping: LineDict, allowed: set[str], what: str) -> None:
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

    def _attributes(self, doc: LineDict) -> tuple[tuple[str, ...], dict[str, FieldDef]]:
        """The attribute columns: a list of names (texts), or a mapping of name to a type like a field's."""
        raw, line = doc.get("attributes", []), doc.line_of("attributes")
        typed = self._fields(raw, line) if isinstance(raw, LineDict) else {}
        names = list(raw) if isinstance(raw, LineDict) else raw
        if not isinstance(names, list) or not all(isinstance(n, str) and NAME_RE.match(n) for n in names):
            self.problem(
                line, f"attributes must be a list of lower_snake_case names, or a mapping of them, got {names!r}"
            )
            return (), {}
        if {"id", "name"} & set(names):
            self.problem(line, "attributes must not repeat the columns id and name")
        return tuple(names), typed

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
            self.unknown_keys(spec, _FIELD_KEYS, f"field {name!r}")
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
            label = parts.label_of(self, spec, f"field {name!r}")
            result[str(name)] = FieldDef(str(name), str(kind), tuple(choices), str(spec.get("description", "")), label)
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
        labels: dict[str, tuple[str, int]] = {}  # trigger → its label and where it was declared
        for item, line in zip(raw, raw.item_lines, strict=True):
            if not isinstance(item, LineDict):
                self.problem(line, "each transition must be a mapping with trigger, source and dest")
                continue
            self.unknown_keys(item, _TRANSITION_KEYS, "transition")
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
            label = parts.label_of(self, item, f"transition {trigger!r}")
            first = labels.setdefault(trigger, (label, line)) if label else None
            if first is not None and first[0] != label:
                self.problem(
                    item.line_of("label"),
                    f"transition {trigger!r} is labelled {label!r} here but {first[0]!r} at line {first[1]}: "
                    "a trigger has one label (give it once, or the same on each of its transitions)",
                )
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
                    label=label,
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

    def _states(self, raw: LineDict, transitions: list[TransitionDef], letters: set[str]) -> dict[str, StateDef]:
        takes: dict[str, set[str]] = {name: set() for name in raw}
        roles: dict[tuple[str, str], set[str]] = {}
        for transition in transitions:
            for source in transition.sources:
                takes.setdefault(source, set()).add(transition.trigger)
                roles.setdefault((source, transition.trigger), set()).update(transition.roles)
        result = {}
        timer_labels: dict[str, tuple[str, str]] = {}  # timer → its label and the state that first gave it
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
            self.unknown_keys(spec, _STATE_KEYS, f"state {name!r}")
            final = spec.get("final", False)
            if not isinstance(final, bool):
                self.problem(spec.line_of("final"), f"state {name!r}: final must be true or false, got {final!r}")
            if final and takes.get(name):
                self.problem(at, f"state {name!r} is final but has outgoing triggers: {', '.join(sorted(takes[name]))}")
            if not final and not takes.get(name):
                self.problem(at, f"state {name!r} has no outgoing transition: add one or mark it final: true")
            timers = TimerReader(self, letters).timers(
                spec.get("timers", []), spec.line_of("timers"), str(name), takes.get(name, set())
            )
            for timer in timers:
                first = timer_labels.setdefault(timer.name, (timer.label, str(name))) if timer.label else None
                if first is not None and first[0] != timer.label:
                    self.problem(
                        spec.line_of("timers"),
                        f"timer {timer.name!r} is labelled {timer.label!r} in state {name!r} but {first[0]!r} in "
                        f"state {first[1]!r}: a timer has one label (give it once, or the same in each state)",
                    )
                allowed = roles.get((str(name), timer.trigger), set())
                if allowed and SYSTEM not in allowed:
                    self.problem(
                        spec.line_of("timers"),
                        f"timer {timer.name!r} fires {timer.trigger!r}, which role {SYSTEM!r} (the daemon's) may not "
                        f"fire from state {name!r}; add {SYSTEM} to the transition's roles",
                    )
            label = parts.label_of(self, spec, f"state {name!r}")
            result[str(name)] = StateDef(
                str(name), str(spec.get("description", "")), bool(final), tuple(timers), label=label
            )
        return result

    def _timer_loops(self, raw: LineDict, states: Mapping[str, StateDef], transitions: list[TransitionDef]) -> None:
        """Refuse timers that lead back to their own state waiting less than a day per turn
        (``timer_specs.loop_problems``): they would fire for ever without anyone acting."""
        lines: dict[tuple[str, str], int] = {}
        for name, spec in raw.items():
            listed = spec.get("timers") if isinstance(spec, LineDict) else None
            if isinstance(listed, list):
                for item, line in zip(listed, getattr(listed, "item_lines", []), strict=False):
                    if isinstance(item, LineDict) and isinstance(item.get("name"), str):
                        lines[(str(name), item["name"])] = line
        for line, message in loop_problems(states, transitions, lines):
            self.problem(line, message)

    def _endings(self, doc: LineDict, states: Mapping[str, StateDef]) -> dict[str, str]:
        """``endings: {ceased: STATE, merged: STATE}``: the final states an entity's change ends in."""
        raw = doc.get("endings")
        if raw is None:
            return {}
        if not isinstance(raw, LineDict):
            self.problem(doc.line_of("endings"), "endings must map ceased and/or merged to a final state")
            return {}
        found: dict[str, str] = {}
        for kind, state in raw.items():
            line = raw.line_of(kind)
            if kind not in ENDINGS:
                self.problem(line, f"unknown ending {kind!r}; allowed: {', '.join(ENDINGS)}")
            elif state not in states or not states[state].final:
                finals = ", ".join(n for n, s in states.items() if s.final) or "none"
                self.problem(line, f"ending {kind}: {state!r} is not a final state; final states: {finals}")
            else:
                found[str(kind)] = str(state)
        return found

    def _reachability(
        self, states: LineDict, transitions: list[TransitionDef], initial: str, endings: set[str]
    ) -> None:
        reached = {initial} | endings  # an ending is entered by an entity's change, not a transition
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


def load_workflows(
    location: str | Path | Sequence[str | Path], templates_root: str | Path | None = None
) -> list[Workflow]:
    """Load every ``*.yaml`` workflow of a folder (or one file, or several folders and files); raise
    ``WorkflowError`` with all problems."""
    locations = [Path(location)] if isinstance(location, str | Path) else [Path(x) for x in location]
    files: list[Path] = []
    for place in locations:
        if place.is_dir():
            found = sorted([*place.glob("*.yaml"), *place.glob("*.yml")])
            if not found:
                raise WorkflowError([Problem(str(place), None, "no workflow file (*.yaml) in this folder")])
            files.extend(found)
        elif place.is_file():
            files.append(place)
        else:
            raise WorkflowError([Problem(str(place), None, "no such workflow file or folder")])
    location = locations[0] if len(locations) == 1 else Path(", ".join(map(str, locations)))
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
