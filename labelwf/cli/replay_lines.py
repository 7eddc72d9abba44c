"""A replay's timeline in French: each moment said in the workflows' words, never their identifiers.

The timeline (``scenarios.replay.Moment``) keeps the engine's ids, which ``--json`` gives; this
module writes the line a person reads: « décision  Classement → Groupe 3 ×13 », « échéance
Fin du label (phase 1) → Décision à prendre ×13 », « 71 dossier(s) importé(s) (poles_2008.csv) ».
An act the module has no sentence for keeps the scenario's own description, after its French kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path

from ..scenarios.replay import Moment
from ..workflow.definition import Workflow

KINDS = {
    "import": "import",
    "note": "note",
    "publish": "version",
    "decision": "décision",
    "timer": "échéance",
    "move": "échéances",
    "apply": "candidats",
    "decide": "décisions",
    "migrate": "migration",
    "merge": "fusion",
    "cease": "cessation",
    "change": "changement",
    "regions": "régions",
}
WIDTH = 10  # the kind's column
OUTCOMES = {  # what an act did, when it is no state (an act's own words in the timeline's ids)
    "changed": "nom ou données modifiés",
    "region changed": "région modifiée",
    "merged": "fusionnés",
    "ceased": "label cessé",
}
Versions = Sequence[Workflow]  # a workflow's loaded versions, the newest first


def moment_line(moment: Moment, when: str, zone: tzinfo, versions_of: Callable[[str | None], Versions]) -> str:
    """The line of ``moment`` at ``when`` (already written), its instants in ``zone``; ``versions_of(name)``:
    the loaded versions of a workflow, newest first (an id is said by the newest version that knows it)."""
    kind = KINDS.get(moment.kind, moment.kind)
    return f"{when}  {kind:<{WIDTH}} {_what(moment, zone, versions_of(moment.workflow))}{_plan(moment)}"


def _what(moment: Moment, zone: tzinfo, wf: Versions) -> str:
    if moment.kind == "note":
        return moment.what
    if moment.kind == "import":
        count = moment.count or len(moment.entities)
        return f"{count} dossier(s) importé(s) ({Path(moment.target).name})"
    if moment.kind == "publish":
        name, _, version = moment.target.partition("@")
        return f"{name}, version {version}, en vigueur"
    if moment.kind == "decision":
        return f"{_trigger(wf, moment.what)} → {_dests(moment, wf)}"
    if moment.kind == "timer":
        name, _, trigger = moment.what.partition(": ")
        return f"« {_timer(wf, name)} » : {_trigger(wf, trigger)} → {_dests(moment, wf)}"
    if moment.kind == "move":
        timer = _timer(wf, moment.target)
        where = f"reportée au {_minute(moment.to, zone)}" if moment.to is not None else f"décalée de {moment.by}"
        return f"« {timer} » {where} : {len(moment.entities)} dossier(s)"
    if moment.kind == "migrate":
        stay = f" ; {moment.left} dossier(s) restent sur la version d'origine" if moment.left else ""
        return f"{Path(moment.target).name} → {_dests(moment, wf)}{stay}"
    described = moment.what.removeprefix(moment.kind + " ")
    return f"{described} → {_dests(moment, wf)}" if moment.dests else described


def _trigger(wf: Versions, trigger: str) -> str:
    known = next((w for w in wf if trigger in w.all_triggers), None)
    return known.trigger_label(trigger) if known is not None else trigger


def _timer(wf: Versions, name: str) -> str:
    said = (w.timer_label(name) for w in wf)
    return next((label for label in said if label != name), name)


def _dests(moment: Moment, wf: Versions) -> str:
    def said(dest: str) -> str:
        known = next((w for w in wf if dest in w.states), None)
        return known.state_label(dest) if known is not None else OUTCOMES.get(dest, dest)

    return ", ".join(f"{said(dest)} ×{count}" for dest, count in moment.dests.items())


def _plan(moment: Moment) -> str:
    return f"  [plan n° {moment.plan}]" if moment.plan else ""


def _minute(value: datetime, zone: tzinfo) -> str:
    return f"{value.astimezone(zone):%d/%m/%Y %H:%M}"
