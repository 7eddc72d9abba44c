"""How the command line's tables and lines speak: the workflow's labels for states, triggers, fields
and recipients (declared in the workflow files; an id without one is shown as it is), statuses and
policies in French (the words of ``engine.wording``, which the console says too), dates as JJ/MM/AAAA HH:MM
in the programme's time zone. ``--json`` keeps the ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from ..engine.fire import Engine
from ..engine.portfolio import action_label
from ..engine.wording import (
    ADMIN_ACTIONS,
    CATCH_UP,
    DATA_KEYS,
    DATED_KEYS,
    ITEM_STATUSES,
    LETTER_STATUSES,
    PLAN_KINDS,
    PLAN_STATUSES,
    ROLES,
    TIMER_CLOSED,
    counts_said,
    said,
)
from ..store.records import Instance
from ..workflow.definition import Workflow

__all__ = [
    "ADMIN_ACTIONS",
    "CATCH_UP",
    "ITEM_STATUSES",
    "LETTER_STATUSES",
    "PLAN_KINDS",
    "PLAN_STATUSES",
    "ROLES",
    "TIMER_CLOSED",
    "Labels",
    "counts_said",
    "day",
    "duration",
    "said",
    "when",
]


def when(value: datetime | None, zone: tzinfo) -> str:
    """An instant as people read it here: ``30/06/2008 14:05`` in ``zone``; empty for None."""
    return "" if value is None else value.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def day(value: datetime | None, zone: tzinfo) -> str:
    """The day of an instant in ``zone``: ``30/06/2008``; empty for None."""
    return "" if value is None else value.astimezone(zone).strftime("%d/%m/%Y")


def duration(seconds: float) -> str:
    """``0,42 s``, ``3 min 20 s``, ``2 h 5 min``, ``6175 j 14 h``."""
    if seconds < 60:
        return (f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s").replace(".", ",")
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} j {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class Labels:
    """The labels of the loaded workflows, by the version an instance runs on (its workflow's newest
    when that version is not loaded)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def of(self, name: str, version: int | None = None) -> Workflow | None:
        """The workflow ``name`` (at ``version``), or None when it is not loaded."""
        loaded = [w for w in self._engine.workflows if w.name == name]
        exact = [w for w in loaded if w.version == version]
        return (exact or loaded)[-1] if loaded else None

    def versions(self, name: str) -> list[Workflow]:
        """Every loaded version of the workflow ``name`` (none when it is not loaded)."""
        return [w for w in self._engine.workflows if w.name == name]

    def instance(self, instance: Instance) -> Workflow | None:
        return self.of(instance.workflow, instance.workflow_version)

    def state(self, workflow: Workflow | None, state: str | None) -> str:
        return workflow.state_label(state) if workflow is not None else str(state or "")

    def trigger(self, workflow: Workflow | None, trigger: str | None) -> str:
        return workflow.trigger_label(trigger) if workflow is not None else str(trigger or "")

    def action(self, workflow: Workflow | None, trigger: str) -> str:
        """What a trigger does, in the workflow's words (its label, else where it leads)."""
        return action_label(workflow, trigger) if workflow is not None else trigger

    def field(self, workflow: Workflow | None, name: str) -> str:
        """A field by its label in the workflow, else a key the engine records by its French word."""
        label = workflow.field_label(name) if workflow is not None else name
        return DATA_KEYS.get(name, name) if label == name else label

    def data(self, workflow: Workflow | None, data: Mapping[str, Any], zone: tzinfo | None = None) -> str:
        """``Groupe : 2, Référence : …``: the fields by their labels (the engine's instants in ``zone``)."""
        return ", ".join(f"{self.field(workflow, k)} : {self._value(k, v, zone)}" for k, v in data.items())

    @staticmethod
    def _value(key: str, value: Any, zone: tzinfo | None) -> str:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        if zone is not None and key in DATED_KEYS and isinstance(value, str):
            try:
                return when(datetime.fromisoformat(value), zone)
            except ValueError:
                return value
        if isinstance(value, str) and _ISO_DAY.fullmatch(value):  # a date field: JJ/MM/AAAA
            return f"{value[8:10]}/{value[5:7]}/{value[:4]}"
        return str(value)

    def recipient(self, role: str) -> str:
        """How people read a recipient role: the label the first loaded workflow declaring it gives."""
        for workflow in reversed(self._engine.workflows):
            if role in workflow.recipient_labels:
                return workflow.recipient_label(role)
        return role
