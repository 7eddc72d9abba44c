"""Previewing a letter: rendered for an instance as it stands now, for every recipient, stored nowhere."""

from __future__ import annotations

from datetime import datetime

from .audit import HASH_FORMAT
from .definition import OPERATOR, Workflow
from .errors import NotFound
from .letter_context import letter_context
from .letters import LetterRenderer, RenderedLetter
from .store.records import Event, Instance

PREVIEW = "(preview)"  # the trigger and actor a preview's letters are rendered with


def preview(
    wf: Workflow, renderer: LetterRenderer, current: Instance, letter: str, now: datetime
) -> list[RenderedLetter]:
    """``letter`` of ``wf`` rendered for ``current`` at ``now`` (``NotFound`` for an undeclared letter)."""
    spec = wf.letters.get(letter)
    if spec is None:
        raise NotFound("letter template", letter, f"{wf.key} declares: {', '.join(wf.letters) or 'none'}")
    event = Event(
        entity=current.entity.id,
        workflow=wf.name,
        seq=current.version,
        trigger=PREVIEW,
        source=current.state,
        dest=current.state,
        actor=PREVIEW,
        role=OPERATOR,
        reason="",
        data={},
        occurred_at=now,
        recorded_at=now,
        late_by_s=None,
        prev_hash=current.last_hash,
        hash_format=HASH_FORMAT,
    )
    context = letter_context(wf, current.entity, event, current.data)
    context["reference"] = f"{wf.name.upper()}/{current.entity.id}/projet"
    to = {role: wf.recipients[role] for role in spec.to}
    return renderer.render(letter, spec.template.name, spec.subject, to, current.entity.contacts, context)
