"""Previewing a letter: rendered for an instance as it stands now, for every recipient, stored nowhere."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..audit.hashing import HASH_FORMAT
from ..errors import InvalidData, LetterError, MissingData, NotFound
from ..letters.render import LetterRenderer, RenderedLetter
from ..store.records import Event, Instance
from ..workflow.definition import OPERATOR, Workflow
from .letter_context import letter_context

PREVIEW = "(preview)"  # the trigger and actor a preview's letters are rendered with


def preview(
    wf: Workflow,
    renderer: LetterRenderer,
    current: Instance,
    letter: str,
    now: datetime,
    data: Mapping[str, Any] | None = None,
) -> list[RenderedLetter]:
    """``letter`` of ``wf`` rendered for ``current`` at ``now`` (``NotFound`` for an undeclared letter).

    ``data``: the fields of the step the letter would come with (a decision's reference, its
    reasons), checked against the workflow's fields; a letter that needs one not given says which.
    """
    spec = wf.letters.get(letter)
    if spec is None:
        raise NotFound("letter template", letter, f"{wf.key} declares: {', '.join(wf.letters) or 'none'}")
    step: dict[str, Any] = {}
    for key, value in (data or {}).items():
        field = wf.fields.get(key)
        if field is None:
            declared = ", ".join(wf.fields)
            raise InvalidData(
                current.entity.id, PREVIEW, key, f"unknown field {key!r}; the workflow declares {declared}"
            )
        try:
            step[key] = field.coerce(value)
        except ValueError as exc:
            raise InvalidData(current.entity.id, PREVIEW, key, str(exc)) from None
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
        data=step,
        occurred_at=now,
        recorded_at=now,
        late_by_s=None,
        prev_hash=current.last_hash,
        hash_format=HASH_FORMAT,
    )
    context = letter_context(wf, current.entity, event, {**current.data, **step})
    context["reference"] = f"{wf.name.upper()}/{current.entity.id}/projet"
    to = {role: wf.recipients[role] for role in spec.to}
    try:
        return renderer.render(letter, spec.template.name, spec.subject, to, current.entity.contacts, context)
    except LetterError as exc:
        missing = _MISSING.search(str(exc))
        if missing is None or missing.group(1) not in wf.fields:
            raise
        name = missing.group(1)
        raise MissingData(current.entity.id, f"{PREVIEW} of {letter}", [name]) from None


_MISSING = re.compile(r"has no attribute '(\w+)'")
