"""What a fire decides before it writes (``Draft``) and what it changed once written (``Fired``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..letters.render import RenderedLetter
from ..store.records import Event, Instance
from ..workflow.definition import Workflow
from .decision import Decision


@dataclass(frozen=True)
class Fired:
    """What a fire changed: the step, the new version, the audit hash, timers armed and letters queued."""

    entity: str
    workflow: str
    trigger: str
    source: str
    dest: str
    version: int
    event_id: int
    hash: str
    occurred_at: datetime
    timers_armed: tuple[tuple[str, datetime], ...]
    letters: int
    late_by_s: float | None = None
    letters_to_sign: int = 0  # of ``letters``, those waiting « à signer » for their post's signatory


@dataclass(frozen=True)
class Draft:
    """A request decided against its instance as loaded, and its letters rendered: what the fire
    then writes (the event is sealed once the letters' checksums are known)."""

    current: Instance
    workflow: Workflow
    decision: Decision
    event: Event  # not sealed yet
    rendered: tuple[RenderedLetter, ...]
    now: datetime
    occurred: datetime
    late_by: float | None
