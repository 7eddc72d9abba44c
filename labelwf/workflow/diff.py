"""What changed from one workflow version to another, and how many live instances each change touches.

``diff(a, b)`` compares two loaded workflows, part by part, and touches nothing else: no database,
no file, no clock. Each change names the states whose instances it concerns: a state its own, a
timer its state, a transition its source states, a letter or a data field the source states of
the transitions that send or take it (in either version). ``touched(change, counts)`` adds up
the instances of version A found there, ``counts`` being what the store counted per state of A
(``store.reads.state_counts_of_version``). The entity attributes and the workflow's settings
concern no state: their count is None.

Transitions are matched by (trigger, sorted sources, dest): what a reader calls "the same
transition". A change of its condition, data fields, roles or letters is a change of it; a change
of its sources or destination is one transition removed and another added, the counts following
the sources of each. Transitions declared twice with one key (different conditions) are paired
after the unchanged ones are set aside, in file order. Data fields and roles compare as sets (the
engine checks membership, not order); letters, recipients and choices as lists (order is what is
written, and the first recipient is the addressee).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

from ..letters.mentions import LegalBasis
from ..letters.spec import LetterDef
from .definition import FieldDef, StateDef, TransitionDef, Workflow
from .timers import Offset, TimerSpec

T = TypeVar("T")
Properties = dict[str, object]


class Kind(Enum):
    """How one part differs: present only in B, only in A, or in both but not alike."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"

    @property
    def sign(self) -> str:
        """``+``, ``-`` or ``~``."""
        return {"added": "+", "removed": "-", "changed": "~"}[self.value]


@dataclass(frozen=True)
class Changed:
    """One property that differs: its value in A (``before``) and in B (``after``), as plain values."""

    what: str
    before: object
    after: object


@dataclass(frozen=True, kw_only=True)
class Change:
    """One part added, removed or changed; ``states``: those whose instances it concerns (None: none)."""

    kind: Kind
    name: str
    changes: tuple[Changed, ...] = ()
    states: tuple[str, ...] | None = ()


@dataclass(frozen=True, kw_only=True)
class TimerChange(Change):
    """A timer of a state added, removed or changed (the state itself being in both versions)."""

    state: str
    timer: str


@dataclass(frozen=True, kw_only=True)
class TransitionChange(Change):
    """A transition added, removed or changed, with the key it was matched by."""

    trigger: str
    sources: tuple[str, ...]
    dest: str


@dataclass(frozen=True)
class WorkflowDiff:
    """Every difference from workflow ``a`` to ``b`` (keys ``name@version``), by kind of part."""

    a: str
    b: str
    settings: tuple[Changed, ...] = ()
    states: tuple[Change, ...] = ()
    timers: tuple[TimerChange, ...] = ()
    transitions: tuple[TransitionChange, ...] = ()
    letters: tuple[Change, ...] = ()
    fields: tuple[Change, ...] = ()
    attributes: tuple[Change, ...] = ()

    @property
    def sections(self) -> tuple[tuple[str, tuple[Change, ...]], ...]:
        """The changes by kind of part, in the order they are shown (settings aside)."""
        return (
            ("states", self.states),
            ("timers", self.timers),
            ("transitions", self.transitions),
            ("letters", self.letters),
            ("fields", self.fields),
            ("attributes", self.attributes),
        )

    @property
    def empty(self) -> bool:
        """Whether the two versions do not differ at all."""
        return not self.settings and not any(changes for _, changes in self.sections)

    @property
    def total(self) -> int:
        """How many changes there are, settings included."""
        return len(self.settings) + sum(len(changes) for _, changes in self.sections)


def diff(a: Workflow, b: Workflow) -> WorkflowDiff:
    """Compare workflow ``a`` with ``b``: what ``b`` adds, removes and changes."""
    return WorkflowDiff(
        a=a.key,
        b=b.key,
        settings=_compare(_settings(a), _settings(b)),
        states=_states(a, b),
        timers=_timers(a, b),
        transitions=_transitions(a, b),
        letters=_named(a.letters, b.letters, _letter, lambda name: _senders(name, a, b)),
        fields=_named(a.fields, b.fields, _field, lambda name: _takers(name, a, b)),
        attributes=_named(_attribute_defs(a), _attribute_defs(b), _field, lambda name: None),
    )


def touched(change: Change, counts: Mapping[str, int]) -> int | None:
    """How many instances of version A sit in the states ``change`` concerns (None: it concerns none)."""
    if change.states is None:
        return None
    return sum(counts.get(state, 0) for state in change.states)


def diff_json(found: WorkflowDiff, counts: Mapping[str, int]) -> dict[str, Any]:
    """The whole diff as JSON-ready data, each change with the ``instances`` it touches."""

    def change_json(change: Change) -> dict[str, Any]:
        return asdict(change) | {"kind": change.kind.value, "instances": touched(change, counts)}

    return {
        "a": found.a,
        "b": found.b,
        "empty": found.empty,
        "counted_on": found.a,
        "settings": [asdict(c) for c in found.settings],
        **{section: [change_json(c) for c in changes] for section, changes in found.sections},
    }


# -- the parts ----------------------------------------------------------------------------------


def _states(a: Workflow, b: Workflow) -> tuple[Change, ...]:
    def own(state: StateDef) -> Properties:
        return {"description": state.description, "final": state.final}

    return _named(a.states, b.states, own, lambda name: (name,))


def _timers(a: Workflow, b: Workflow) -> tuple[TimerChange, ...]:
    """The timers of the states both versions have (a state added or removed brings its timers)."""
    result: list[TimerChange] = []
    for state in (name for name in a.states if name in b.states):
        before = {t.name: t for t in a.states[state].timers}
        after = {t.name: t for t in b.states[state].timers}
        for change in _named(before, after, _timer, lambda _: None):
            result.append(
                TimerChange(
                    kind=change.kind,
                    name=f"{state}.{change.name}",
                    changes=change.changes,
                    states=(state,),
                    state=state,
                    timer=change.name,
                )
            )
    return tuple(result)


def _timer(spec: TimerSpec) -> Properties:
    return {f.name: _plain(getattr(spec, f.name)) for f in dataclasses.fields(spec) if f.name != "name"}


def _transitions(a: Workflow, b: Workflow) -> tuple[TransitionChange, ...]:
    before, after = _by_key(a.transitions), _by_key(b.transitions)
    result: list[TransitionChange] = []
    for key in _union(before, after):
        olds, news = list(before.get(key, ())), list(after.get(key, ()))
        for old in list(olds):  # the unchanged ones first, so that duplicates pair with their own
            same = next((new for new in news if _transition(new) == _transition(old)), None)
            if same is not None:
                olds.remove(old)
                news.remove(same)
        several = len(before.get(key, ())) > 1 or len(after.get(key, ())) > 1
        pairs: list[tuple[TransitionDef | None, TransitionDef | None]] = list(zip(olds, news, strict=False))
        pairs += [(gone, None) for gone in olds[len(news) :]] + [(None, come) for come in news[len(olds) :]]
        result.extend(_transition_change(key, gone, come, several) for gone, come in pairs)
    return tuple(result)


def _transition_change(
    key: tuple[str, tuple[str, ...], str], old: TransitionDef | None, new: TransitionDef | None, several: bool
) -> TransitionChange:
    trigger, sources, dest = key
    name = f"{trigger}: {', '.join(sources)} → {dest}"
    shown = old or new
    if several and shown is not None and shown.condition is not None:
        name += f" when {shown.condition.source}"
    if old is None or new is None:
        kind = Kind.ADDED if old is None else Kind.REMOVED
        return TransitionChange(kind=kind, name=name, states=sources, trigger=trigger, sources=sources, dest=dest)
    changes = _compare(_transition(old), _transition(new))
    return TransitionChange(
        kind=Kind.CHANGED, name=name, changes=changes, states=sources, trigger=trigger, sources=sources, dest=dest
    )


def _transition(transition: TransitionDef) -> Properties:
    return {
        "condition": transition.condition.source if transition.condition is not None else None,
        "requires": tuple(sorted(transition.requires)),
        "optional": tuple(sorted(transition.optional)),
        "roles": tuple(sorted(transition.roles)),
        "letters": transition.letters,
    }


def _by_key(transitions: Iterable[TransitionDef]) -> dict[tuple[str, tuple[str, ...], str], list[TransitionDef]]:
    grouped: dict[tuple[str, tuple[str, ...], str], list[TransitionDef]] = {}
    for transition in transitions:
        grouped.setdefault((transition.trigger, tuple(sorted(transition.sources)), transition.dest), []).append(
            transition
        )
    return grouped


def _letter(letter: LetterDef) -> Properties:
    return {
        "subject": letter.subject,
        "to": letter.to,
        "copies": letter.copies,
        "unfavourable": letter.unfavourable,
        "attachments": letter.attachments,
        "signature": letter.signature,
        "legal_basis": _bases(letter.legal_basis),
        "template": letter.template.name,  # the file; both versions read the workflow's template folder
    }


def _field(definition: FieldDef) -> Properties:
    return {
        "type": definition.type,
        "choices": tuple(_plain(c) for c in definition.choices),
        "label": definition.label,
        "description": definition.description,
    }


def _attribute_defs(workflow: Workflow) -> dict[str, FieldDef]:
    """Every attribute column as a field definition (an untyped one is a text)."""
    return {name: workflow.attribute_types.get(name, FieldDef(name, "string")) for name in workflow.attributes}


def _senders(letter: str, a: Workflow, b: Workflow) -> tuple[str, ...]:
    """The source states of the transitions that send ``letter``, in either version."""
    return _sources(t for t in (*a.transitions, *b.transitions) if letter in t.letters)


def _takers(field: str, a: Workflow, b: Workflow) -> tuple[str, ...]:
    """The source states of the transitions that take data field ``field``, in either version."""
    return _sources(t for t in (*a.transitions, *b.transitions) if field in t.accepts)


def _sources(transitions: Iterable[TransitionDef]) -> tuple[str, ...]:
    return tuple(sorted({source for t in transitions for source in t.sources}))


def _settings(workflow: Workflow) -> Properties:
    head = workflow.letterhead
    return {
        "title": workflow.title,
        "timezone": workflow.timezone.key,
        "initial": workflow.initial,
        "recipients": tuple(
            f"{role}: {workflow.ranks[role] if role in workflow.ranks else repr(function)}"
            for role, function in sorted(workflow.recipients.items())
        ),
        "letterhead.place": head.place,
        "letterhead.recourse_court": head.recourse_court,
        "letterhead.issuers": tuple(
            f"{i.since.isoformat()}: {i.service}; {i.signatory}" + (f"; {i.delegation}" if i.delegation else "")
            for i in head.issuers
        ),
        "letterhead.regions": tuple(f"{code}: {', '.join(names)}" for code, names in sorted(head.regions.items())),
        "letterhead.legal_basis": _bases(head.legal_basis),
        "letterhead.online_recourse": ""
        if head.online_recourse is None
        else f"{head.online_recourse.since.isoformat()}: {head.online_recourse.name}, {head.online_recourse.address}",
    }


def _bases(bases: Iterable[LegalBasis]) -> tuple[str, ...]:
    """The texts a decision rests on, as a version change shows them: the text and its source keys."""
    return tuple(f"{basis.text} [{basis.source}]" for basis in bases)


# -- comparing ----------------------------------------------------------------------------------


def _named(
    before: Mapping[str, T],
    after: Mapping[str, T],
    properties: Callable[[T], Properties],
    states: Callable[[str], tuple[str, ...] | None],
) -> tuple[Change, ...]:
    """The parts of two mappings by name: removed, added, or changed in ``properties``; A's order first."""
    result: list[Change] = []
    for name in _union(before, after):
        if name not in after:
            result.append(Change(kind=Kind.REMOVED, name=name, states=states(name)))
        elif name not in before:
            result.append(Change(kind=Kind.ADDED, name=name, states=states(name)))
        else:
            changes = _compare(properties(before[name]), properties(after[name]))
            if changes:
                result.append(Change(kind=Kind.CHANGED, name=name, changes=changes, states=states(name)))
    return tuple(result)


def _compare(before: Properties, after: Properties) -> tuple[Changed, ...]:
    return tuple(Changed(what, before[what], after[what]) for what in before if before[what] != after[what])


def _union(before: Iterable[T], after: Iterable[T]) -> list[T]:
    """The keys of both, A's in its order, then those only B has, in B's."""
    return list(dict.fromkeys([*before, *after]))


def _plain(value: object) -> object:
    """A value as JSON writes it: a date-time as ISO text, an offset as its text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Offset):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value
