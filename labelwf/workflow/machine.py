"""The state machine of a workflow version, built once with ``transitions``.

One ``transitions.Machine`` serves every instance of a workflow version: an instance is bound to
it only for the length of a decision, as a small token carrying its state, and never registered
as a model (registering decorates the object with methods; doing it per instance costs memory and
time for nothing). The machine decides which declared transition applies; the engine persists it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from transitions import Machine, MachineError

from ..errors import ConditionNotMet, InvalidTransition
from .definition import TransitionDef, Workflow


class _Token:
    """The instance as the machine sees it during one decision."""

    __slots__ = ("matched", "state")

    def __init__(self, state: str) -> None:
        self.state = state
        self.matched: TransitionDef | None = None


def _remember(transition: TransitionDef) -> Any:
    def after(event: Any) -> None:
        event.model.matched = transition

    return after


def _condition(transition: TransitionDef) -> Any:
    condition = transition.condition
    assert condition is not None

    def check(event: Any) -> bool:
        return condition(event.kwargs["data"])

    return check


class WorkflowMachine:
    """Decides transitions for one workflow version."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self._settled: dict[tuple[str, str], TransitionDef] = {}
        specs = []
        for transition in workflow.transitions:
            spec: dict[str, Any] = {
                "trigger": transition.trigger,
                "source": list(transition.sources),
                "dest": transition.dest,
                "after": _remember(transition),
            }
            if transition.condition is not None:
                spec["conditions"] = _condition(transition)
            specs.append(spec)
        self._machine = Machine(
            model=None,
            states=list(workflow.states),
            transitions=specs,
            initial=workflow.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )

    def allowed(self, state: str) -> tuple[str, ...]:
        """Return the triggers that ``state`` can take."""
        return self.workflow.triggers_from(state)

    def decide(self, instance: str, state: str, trigger: str, data: Mapping[str, Any]) -> TransitionDef:
        """Return the transition that ``trigger`` takes from ``state`` with ``data``, or raise why not."""
        known = self._settled.get((state, trigger))
        if known is not None:
            return known
        event = self._machine.events.get(trigger)
        candidates = self.workflow.candidates(state, trigger)
        if event is None or not candidates:
            raise InvalidTransition(instance, trigger, state, self.allowed(state))
        token = _Token(state)
        try:
            moved = event.trigger(token, data=data)
        except MachineError:
            raise InvalidTransition(instance, trigger, state, self.allowed(state)) from None
        if not moved or token.matched is None:
            conditions = [f"{c.condition.source} -> {c.dest}" for c in candidates if c.condition]
            raise ConditionNotMet(instance, trigger, state, conditions)
        if len(candidates) == 1 and candidates[0].condition is None:
            # No condition: the machine's answer for this pair can never change; remember it.
            self._settled[(state, trigger)] = token.matched
        return token.matched


@lru_cache(maxsize=64)
def machine_for(workflow: Workflow) -> WorkflowMachine:
    """Return the machine of ``workflow``, built once per workflow version and then shared."""
    return WorkflowMachine(workflow)
