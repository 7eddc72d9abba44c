"""What a letter template sees of a step (the entity, the event, the data and the facts), and a step's letters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from ..letters.agent import Agent
from ..letters.dating import UNSIGNED_DATE, UNSIGNED_NAME
from ..letters.filters import date_fr_text
from ..letters.render import LetterRenderer, RenderedLetter, date_fr
from ..store.records import Entity, Event, Instance
from ..workflow.definition import Workflow
from .decision import Decision
from .signing_post import SEAL_POST, signing_post


def letter_context(
    wf: Workflow, entity: Entity, event: Event, data: Mapping[str, Any], agent: Agent | None = None
) -> dict[str, Any]:
    """The context of a step's letters (see ``letters``): namespaces, not dicts, as Jinja tries getattr first.

    ``agent``: the account that took the decision, written into its letters now (« Affaire suivie
    par »); None for the daemon, a replay or the command line, whose letters name the service's desk."""
    return {
        "agent": None if agent is None else agent.namespace(),
        "entity": SimpleNamespace(
            id=entity.id, name=entity.name, attributes=entity.attributes, contacts=entity.contacts
        ),  # as of the step's date (the fire reads the version in force then)
        "event": SimpleNamespace(
            trigger=event.trigger,
            source=event.source,
            dest=event.dest,
            occurred_at=event.occurred_at,
            recorded_at=event.recorded_at,
            data=event.data,
        ),
        "data": data,
        # where the step's fact comes from: a letter resting on an assumption says so, a synthetic one is a specimen
        "basis": None
        if event.basis is None
        else SimpleNamespace(kind=event.basis.kind.value, source=event.basis.source, text=event.basis.text),
        "workflow": SimpleNamespace(name=wf.name, version=wf.version, title=wf.title),
        "date_fr": date_fr(event.recorded_at, wf.timezone),  # a letter is dated the day it is written
        "decision_date_fr": date_fr(event.occurred_at, wf.timezone),
        "facts": [
            SimpleNamespace(
                key=k, label=wf.fields[k].label or wf.fields[k].description or k, value=_fact(wf.fields[k].type, v)
            )
            for k, v in event.data.items()
            if k in wf.fields  # an operation's own record (a migration's timers) is not a fact of the step
        ],
    }


def _fact(kind: str, value: Any) -> str:
    """A step's data value as a letter shows it: dates the French way."""
    if kind in ("date", "datetime") and isinstance(value, str):
        return date_fr_text(value)
    return str(value)


def step_letters(
    renderer: LetterRenderer,
    wf: Workflow,
    current: Instance,
    decision: Decision,
    event: Event,
    *,
    agent: Agent | None = None,
) -> list[RenderedLetter]:
    """A step's letters, rendered for every recipient (before its event is sealed), each with its reference;
    ``agent``: who took the decision, named in them (None: the service's desk)."""
    if not decision.transition.letters:
        return []
    context = letter_context(wf, current.entity, event, decision.data, agent)
    written = context["date_fr"]
    rendered: list[RenderedLetter] = []
    for number, name in enumerate(decision.transition.letters, 1):
        spec = wf.letters[name]
        context["reference"] = f"{wf.name.upper()}/{current.entity.id}/{event.seq:03d}-{number}"
        to = {role: wf.recipients[role] for role in spec.to}
        post = signing_post(renderer.signers, wf, spec, event)
        awaits = post not in (None, SEAL_POST)  # a person signs it: dated the day signed, named by who signs
        context["date_fr"] = UNSIGNED_DATE if awaits else written
        context["signatory_pending"] = UNSIGNED_NAME if awaits else ""
        letters = renderer.render(name, spec.template.name, spec.subject, to, current.entity.contacts, context)
        rendered.extend(letters if post is None else [replace(letter, post=post) for letter in letters])
    return rendered
