"""An instance's history said as French sentences, in the workflow's labels and the programme's zone.

Each event is read from its structured fields (its trigger, actor, role, data, dates), never by
parsing the reason it recorded: a decision is « Classement » par Gouvernement le 30/06/2008 :
Évalué → Groupe 2, motif : …; a deadline reached is « Échéance « Examen à 18 mois » atteinte le
1er juillet 2010 à 00:00 », by the service; a moved deadline gives both dates. A reason typed by a
person is kept as typed; those the engine writes itself (a deadline's « timer … due … », a replay's
import, a signature's) are not repeated, the sentence already says them.

Who acted is said as people call them: the authority recorded (« par Gouvernement »), « par la
reprise du dossier public » for a replay's own acts, « par le service (échéance automatique) » for
the daemon's. The machine's principal (``replay by root@vm``, ``marie (password session; request
…)``) is the staff's detail only (``detail``), said in French and without the request's id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from ..engine.wording import TIMER_CLOSED, said
from ..letters.render import date_fr
from ..scenarios.replay import REPLAY_PRINCIPAL
from ..store.records import Event
from ..workflow.definition import DAEMON_ACTOR, SYSTEM, Workflow

BY_REPLAY = "par la reprise du dossier public"
BY_SERVICE = "par le service (échéance automatique)"
_CHANGED_KEYS = {"name": "nom", "contacts": "contacts", "region": "région"}


@dataclass(frozen=True)
class Reader:
    """Who reads the history: staff see the reasons and the principal's detail; a stakeholder sees
    neither, nor the names of the staff (``hidden``: the actors said as nobody)."""

    staff: bool
    hidden: frozenset[str] = frozenset()


def day(value: datetime, zone: tzinfo) -> str:
    """``15/12/2010``: the day of ``value`` in ``zone``."""
    return value.astimezone(zone).strftime("%d/%m/%Y")


def instant(value: datetime, zone: tzinfo) -> str:
    """``1er juillet 2010 à 00:00``: ``value`` in ``zone``, written out."""
    return f"{date_fr(value, zone)} à {value.astimezone(zone).strftime('%H:%M')}"


def _iso(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def by_whom(event: Event, reader: Reader) -> str:
    """« par … »: the daemon as the service, a replay's own act as the record's, else the actor
    recorded (empty when the reader may not know who of the staff it was)."""
    if event.actor == DAEMON_ACTOR:
        return BY_SERVICE
    if (event.principal or "").startswith(REPLAY_PRINCIPAL) and event.role == SYSTEM:
        return BY_REPLAY
    if event.actor in reader.hidden:
        return ""
    return f"par {event.actor}"


def engine_reason(event: Event) -> bool:
    """Whether the event's reason was written by the engine, not typed: the daemon's and a replay's
    own acts (a deadline reached or closed, the import), a signature (its letter says it)."""
    if event.actor == DAEMON_ACTOR or event.trigger == "(letter signed)":
        return True
    return event.trigger is None and (event.principal or "").startswith(REPLAY_PRINCIPAL) and event.role == SYSTEM


def detail(principal: str | None) -> str:
    """The staff's discreet detail of who acted on the machine, in French, without the request's id:
    ``replay by root@vm`` → ``reprise lancée depuis root@vm``; ``marie (token 7; request …)`` →
    ``compte marie, jeton d'API n° 7``; ``root@vm`` → ``poste root@vm``."""
    if not principal:
        return ""
    if principal.startswith(REPLAY_PRINCIPAL):
        return f"reprise lancée depuis {principal[len(REPLAY_PRINCIPAL) :]}"
    account, _, how = principal.partition(" (")
    if not how:
        return f"poste {principal}"
    method = how.split(";")[0].strip(" )")
    if method.startswith("token "):
        return f"compte {account}, jeton d'API n° {method[len('token ') :]}"
    if method.endswith("session"):
        return f"compte {account}, console"
    return f"compte {account}"


def timer_fired(event: Event, workflow: Workflow) -> str:
    """The label of the timer of the state left that fires the event's trigger."""
    state = workflow.states.get(event.source or "")
    names = [t.name for t in (state.timers if state else ()) if t.trigger == event.trigger]
    return workflow.timer_label(names[0]) if names else workflow.trigger_label(event.trigger)


def _move(event: Event, workflow: Workflow, zone: tzinfo) -> str:
    data = event.data
    timer = f"Échéance « {workflow.timer_label(str(data.get('timer', '')))} »"
    old, new = _iso(data.get("from")), _iso(data.get("to"))
    if old is None or new is None:
        return f"{timer} déplacée"
    notes = ["elle était dépassée"] if data.get("overdue") else []
    if new <= event.recorded_at:
        notes.append("rattrapage : traitée aussitôt")
    note = f" ({' ; '.join(notes)})" if notes else ""
    return f"{timer} déplacée du {day(old, zone)} au {day(new, zone)}{note}"


def _change(data: Mapping[str, Any], zone: tzinfo) -> str:
    changed = data.get("entity_change") or {}
    what = ", ".join(_CHANGED_KEYS.get(str(k), str(k)) for k in changed) if isinstance(changed, Mapping) else ""
    since = _iso(data.get("valid_from"))
    when = f" en vigueur le {day(since, zone)}" if since else ""
    return f"Changement du référentiel{when}" + (f" ({what})" if what else "")


def _letter(event: Event, workflow: Workflow, done: str) -> str:
    data = event.data
    to = workflow.recipient_label(str(data.get("recipient", "")))
    return f"Courrier n° {data.get('letter', '?')} ({to}) {done}"


_LETTER_ACTS = {
    "(letter retried)": "remis en envoi",
    "(letter resolved as delivered)": "constaté envoyé",
    "(letter signed)": "signé",
    "(letter returned)": "renvoyé par le signataire",
    "(letter sealed)": "scellé du cachet du service",
}
_ENTITY_ACTS = {
    "(merged into)": "Fusion dans « {successor} »",
    "(absorbed)": "Absorption de {absorbed}",
    "(successor of)": "Succède à {successor_of}",
    "(entity ceased)": "Fin d'activité du pôle",
}


def act_words(event: Event, workflow: Workflow, zone: tzinfo) -> str:
    """What an act of the engine's own (a trigger in parentheses: a deadline moved or closed, a change of the
    entity, a migration, a letter's step, a merger) did, without who nor when."""
    trigger, data = event.trigger or "", event.data
    if trigger == "(timer moved)":
        return _move(event, workflow, zone)
    if trigger.startswith("(timer "):
        status = trigger[len("(timer ") : -1]
        due = _iso(data.get("due_at"))
        when = f" du {day(due, zone)}" if due else ""
        return f"Échéance « {workflow.timer_label(str(data.get('timer', '')))} »{when} {said(TIMER_CLOSED, status)}"
    if trigger == "(entity changed)":
        return _change(data, zone)
    if trigger == "(migrated)":
        return f"Passage à la version {data.get('to_version', '?')} du parcours"
    if trigger in _LETTER_ACTS:
        return _letter(event, workflow, _LETTER_ACTS[trigger])
    if trigger in _ENTITY_ACTS:
        listed = {k: ", ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in data.items()}
        try:
            return _ENTITY_ACTS[trigger].format_map(listed)
        except KeyError:
            return _ENTITY_ACTS[trigger].split(" ")[0]
    return "Acte enregistré"


def _moves(event: Event, workflow: Workflow) -> str:
    if event.source is None or event.source == event.dest:
        return workflow.state_label(event.dest)
    return f"{workflow.state_label(event.source)} → {workflow.state_label(event.dest)}"


def sentence(event: Event, workflow: Workflow, zone: tzinfo, reader: Reader) -> str:
    """The event as one French sentence, with the reason typed when ``reader`` is staff."""
    by = by_whom(event, reader)
    by_ = f" {by}" if by else ""
    letters = len(event.letters)
    sent = f" ({letters} courrier{'s' if letters > 1 else ''} émis)" if letters else ""
    if event.trigger is None:
        text = f"Ouverture du dossier{by_} le {day(event.occurred_at, zone)} : {workflow.state_label(event.dest)}"
    elif event.actor == DAEMON_ACTOR and not event.trigger.startswith("("):
        timer = timer_fired(event, workflow)
        decision = workflow.trigger_label(event.trigger)
        text = (
            f"Échéance « {timer} » atteinte le {instant(event.occurred_at, zone)} : « {decision} »{by_}, "
            f"{_moves(event, workflow)}"
        )
        if event.late_by_s and event.late_by_s >= 60:
            text += f", traitée le {day(event.recorded_at, zone)}"
    elif event.trigger.startswith("("):
        text = f"{act_words(event, workflow, zone)}{by_} le {day(event.occurred_at, zone)}"
    else:
        decision = workflow.trigger_label(event.trigger)
        text = f"« {decision} »{by_} le {day(event.occurred_at, zone)} : {_moves(event, workflow)}"
    text += sent
    reason = " ".join(event.reason.split())
    if reader.staff and reason and not engine_reason(event):
        text += f", motif : {reason}"
    return text
