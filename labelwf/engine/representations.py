"""Records as the CLI's ``--json`` and the API show them: one key vocabulary for every front end.

``entity`` is an entity's id everywhere, ``workflow`` a workflow's name (``workflow_version`` its
version), instants are ISO 8601 with their UTC offset. An audit event's form is the export's
(``export.event_json``), a verification's its report's own (``VerifyReport.as_json``).
"""

from __future__ import annotations

from typing import Any

from ..store.records import Batch, BatchItem, Instance, Letter, Timer
from ..workflow.definition import Workflow
from ..workflow.timers import TimerSpec
from .fired import Fired
from .queries import Allowed, InstanceView


def instance_json(instance: Instance) -> dict[str, Any]:
    """An instance in a listing."""
    return {
        "entity": instance.entity.id,
        "name": instance.entity.name,
        "workflow": instance.workflow,
        "workflow_version": instance.workflow_version,
        "state": instance.state,
        "version": instance.version,
        "updated_at": instance.updated_at,
        "region": instance.entity.attributes.get("region"),
    }


def allowed_json(allowed: Allowed) -> dict[str, Any]:
    """A trigger an instance can take."""
    return {
        "trigger": allowed.trigger,
        "to": list(allowed.to),
        "requires": list(allowed.requires),
        "optional": list(allowed.optional),
        "roles": list(allowed.roles),
    }


def view_json(view: InstanceView) -> dict[str, Any]:
    """One instance in full (``labelwf show``)."""
    instance = view.instance
    return {
        "entity": instance.entity.id,
        "name": instance.entity.name,
        "attributes": dict(instance.entity.attributes),
        "workflow": instance.key,
        "state": instance.state,
        "description": view.description,
        "final": view.final,
        "version": instance.version,
        "data": dict(instance.data),
        "entered_at": instance.entered_at,
        "updated_at": instance.updated_at,
        "allowed": [allowed_json(a) for a in view.allowed],
        "timers": [
            {"name": t.name, "trigger": t.trigger, "due_at": t.due_at, "catch_up": t.catch_up} for t in view.timers
        ],
        "letters": [
            {
                "id": m.id,
                "template": m.template,
                "recipient": m.recipient.role,
                "status": m.status,
                "subject": m.subject,
            }
            for m in view.letters
        ],
    }


def timer_json(timer: Timer) -> dict[str, Any]:
    """A pending timer in the portfolio's listing."""
    return {
        "id": timer.id,
        "entity": timer.entity,
        "workflow": timer.workflow,
        "name": timer.name,
        "trigger": timer.trigger,
        "due_at": timer.due_at,
        "catch_up": timer.catch_up,
        "status": timer.status,
    }


def letter_json(letter: Letter, *, bodies: bool = False) -> dict[str, Any]:
    """A letter of the outbox (with its text and HTML when ``bodies``)."""
    result: dict[str, Any] = {
        "id": letter.id,
        "entity": letter.entity,
        "template": letter.template,
        "recipient": letter.recipient.role,
        "recipient_label": letter.recipient.label,
        "recipient_name": letter.recipient.name or None,
        "recipient_email": letter.recipient.email or None,
        "subject": letter.subject,
        "status": letter.status,
        "attempts": letter.attempts,
        "last_error": letter.last_error,
        "checksum": letter.checksum,
        "message_id": letter.message_id,
        "created_at": letter.created_at,
        "delivered_at": letter.delivered_at,
        "occurred_at": letter.occurred_at,
        "post": letter.post,  # the post that signs it (the signature step), or None
        "signed_at": letter.signed_at,
        "pdf_sha256": letter.pdf_sha256,  # the signed PDF's, recorded in the chain
    }
    if bodies:
        result["body"] = letter.text
        result["body_html"] = letter.html
    return result


def fired_json(fired: Fired) -> dict[str, Any]:
    """What a fire changed, as JSON values already (the API's every fire answers it)."""
    return {
        "entity": fired.entity,
        "workflow": fired.workflow,
        "trigger": fired.trigger,
        "source": fired.source,
        "dest": fired.dest,
        "version": fired.version,
        "event_id": fired.event_id,
        "hash": fired.hash,
        "occurred_at": fired.occurred_at.isoformat(),
        "letters": fired.letters,
        "letters_to_sign": fired.letters_to_sign,
        "timers_armed": [{"name": n, "due_at": d.isoformat()} for n, d in fired.timers_armed],
    }


def workflow_json(wf: Workflow) -> dict[str, Any]:
    """A workflow version's definition: states with their timers, transitions, fields and letters."""

    def timer(t: TimerSpec) -> dict[str, Any]:
        when = {"at": t.at, "at_field": t.at_field, "after": str(t.after) if t.after else None}
        return {
            "name": t.name,
            "trigger": t.trigger,
            "catch_up": t.catch_up,
            "anchor": t.anchor,
            "default": t.default,
        } | {k: v for k, v in when.items() if v is not None}

    return {
        "workflow": wf.name,
        "version": wf.version,
        "title": wf.title,
        "timezone": wf.timezone.key,
        "initial": wf.initial,
        "states": [
            {"name": s.name, "description": s.description, "final": s.final, "timers": [timer(t) for t in s.timers]}
            for s in wf.states.values()
        ],
        "transitions": [
            {
                "trigger": t.trigger,
                "sources": list(t.sources),
                "dest": t.dest,
                "condition": t.condition.source if t.condition else None,
                "requires": list(t.requires),
                "optional": list(t.optional),
                "roles": list(t.roles),
                "letters": list(t.letters),
            }
            for t in wf.transitions
        ],
        "fields": [
            {"name": f.name, "type": f.type, "choices": list(f.choices), "label": f.label, "description": f.description}
            for f in wf.fields.values()
        ],
        "letters": [{"name": x.name, "to": list(x.to)} for x in wf.letters.values()],
    }


def batch_json(batch: Batch) -> dict[str, Any]:
    """A plan (a bulk decision, deadline moves, a migration) with its items' counts by status."""
    return {
        "id": batch.id,
        "kind": batch.kind,
        "workflow": batch.workflow,
        "reference": batch.reference,
        "actor": batch.actor,
        "reason": batch.reason,
        "principal": batch.principal,
        "executed_by": batch.executed_by,
        "occurred_at": batch.occurred_at,
        "status": batch.status.value,
        "created_at": batch.created_at,
        "started_at": batch.started_at,
        "finished_at": batch.finished_at,
        "spec": dict(batch.spec),
        "counts": dict(batch.counts),
    }


def batch_item_json(item: BatchItem) -> dict[str, Any]:
    """One entity's part of a plan: what to do, what the preview said, what happened."""
    return {
        "seq": item.seq,
        "entity": item.entity,
        "seen_version": item.seen_version,
        "action": dict(item.action),
        "preview": dict(item.preview),
        "status": item.status.value,
        "outcome": dict(item.outcome) if item.outcome is not None else None,
        "event_id": item.event_id,
        "done_at": item.done_at,
    }
