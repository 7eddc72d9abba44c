"""The form of a bulk decision in the console (``/console/plans/new``): what it offers per loaded
workflow, and how its typed text is read into the arguments of ``bulk.plan_decision`` — every problem
said with its value and what would do, nothing planned until the whole form reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from ..engine.fire import Engine
from ..engine.wording import FIELD_TYPES, said
from ..operations import bulk
from ..text import shown, text_problem
from ..workflow.definition import OPERATOR, Workflow
from ..workflow.timers import localize, parse_local

MAX_IDS = 10_000  # ids typed in one form (a 64 KiB body holds fewer anyway: choose a state for more)
_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]+(\d{1,2})[:h](\d{2}))?$")
FORM_KEYS = ("workflow", "entities", "state", "all", "trigger", "fields", "reference", "at", "reason")


def operator_triggers(wf: Workflow) -> list[str]:
    """The triggers a person may give in a bulk decision (not those only a due timer fires)."""
    return sorted({t.trigger for t in wf.transitions if OPERATOR in t.roles})


def choices(engine: Engine) -> list[dict[str, Any]]:
    """What the form offers, per loaded workflow: its states, triggers and fields."""
    found = []
    for name in engine.workflow_names:
        wf = engine.workflow(name)
        fields = [
            {
                "name": f.name,
                "label": f.label or f.description,
                "type": said(FIELD_TYPES, f.type),
                "choices": ", ".join(map(str, f.choices)),
            }
            for f in wf.fields.values()
        ]
        found.append(
            {
                "name": name,
                "title": wf.title or name,
                "states": [(s, wf.state_label(s)) for s in wf.states],  # (id as the value, label as people read it)
                "triggers": [(t, wf.trigger_label(t)) for t in operator_triggers(wf)],
                "fields": fields,
            }
        )
    return found


def _instant(text: str, zone: tzinfo) -> datetime:
    """A typed local date (``2008-06-30``, ``2008-06-30T14:00``, ``30/06/2008 14:00``) in ``zone``."""
    french = _FRENCH_DATE.match(text)
    if french is not None:
        day, month, year, hour, minute = french.groups()
        text = f"{year}-{int(month):02d}-{int(day):02d}" + (f"T{int(hour):02d}:{minute}" if hour else "")
    return localize(parse_local(text), zone)


def _echo(value: str, longest: int = 100) -> str:
    """A typed value as a message repeats it: cut, its control characters escaped."""
    return shown(value[:longest])


def _fields(wf: Workflow, text: str, problems: list[str]) -> dict[str, str]:
    """The ``name=value`` lines of the form, each a field of ``wf`` given once."""
    data: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        where = f"Champs, ligne {n}"
        if not line.strip():
            continue
        if not sep or not key:
            problems.append(f"{where} : « {_echo(line, 200)} » n'est pas de la forme nom=valeur (par exemple group=1).")
        elif key not in wf.fields:
            fields = ", ".join(wf.fields)
            problems.append(f"{where} : « {_echo(key)} » n'est pas un champ de {wf.key} ; ses champs : {fields}.")
        elif key in data:
            problems.append(f"{where} : le champ « {key} » est déjà donné plus haut ; gardez une seule valeur.")
        elif (bad := text_problem(value, key, max_length=2000)) is not None:
            problems.append(f"{where} : {bad}.")
        else:
            data[key] = value
    return data


def read_form(engine: Engine, typed: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The arguments of ``bulk.plan_decision`` from the form, or every problem found in it."""
    problems: list[str] = []
    names = engine.workflow_names
    name = typed["workflow"].strip() or (names[0] if len(names) == 1 else "")
    if name not in names:
        said = f"Parcours « {_echo(name)} » inconnu" if name else "Choisissez le parcours de la décision"
        return {}, [f"{said} ; parcours chargés : {', '.join(names)}."]
    wf = engine.workflow(name)
    ids = [t for line in typed["entities"].splitlines() for t in line.split("#", 1)[0].replace(",", " ").split()]
    for entity in ids:
        if (bad := text_problem(entity, "the id", max_length=100)) is not None:
            problems.append(f"Identifiant de dossier « {_echo(entity)} » refusé : {bad}.")
    if len(ids) > MAX_IDS:
        problems.append(f"{len(ids):,} identifiants : au plus {MAX_IDS:,} par formulaire ; choisissez plutôt un état.")
    state = typed["state"].strip()
    if state and state not in wf.states:
        problems.append(f"État « {_echo(state)} » inconnu de {wf.key} ; ses états : {', '.join(wf.states)}.")
    everything = typed["all"] in ("1", "on", "true")
    if not ids and not state and not everything:
        problems.append(
            "Aucun dossier choisi : donnez des identifiants (un par ligne), un état, ou cochez « tous les dossiers »."
        )
    trigger = typed["trigger"].strip()
    offered = operator_triggers(wf)
    if trigger not in offered:
        said = f"Déclencheur « {_echo(trigger)} » inconnu de {wf.key} (ou réservé au démon)"
        problems.append(f"{said if trigger else 'Choisissez le déclencheur'} ; possibles : {', '.join(offered)}.")
    data = _fields(wf, typed["fields"], problems)
    reference = typed["reference"].strip()
    expected = (
        f"une ligne de {bulk.MAX_REFERENCE} caractères au plus nommant l'acte, par exemple « CIADT du 11 mai 2010 »"
    )
    if not reference:
        problems.append(f"La référence de la décision est obligatoire : {expected}.")
    elif len(reference) > bulk.MAX_REFERENCE or text_problem(reference, "", max_length=len(reference)):
        problems.append(f"Référence de la décision « {_echo(reference)} » refusée : attendu {expected}.")
    at = None
    typed_at = typed["at"].strip()[:40]
    if typed_at:
        try:
            at = _instant(typed_at, wf.timezone)
        except ValueError:
            problems.append(
                f"Date de la décision « {_echo(typed_at)} » illisible : attendu AAAA-MM-JJ, AAAA-MM-JJTHH:MM ou "
                f"JJ/MM/AAAA HH:MM (heure de {wf.timezone.key}), par exemple 2008-06-30 ; "
                "laissez-la vide pour dater chaque élément de son exécution."
            )
    if not typed["reason"].strip():
        problems.append("Le motif est obligatoire : il est enregistré, après la référence, dans chaque événement.")
    selection = bulk.Selection(entities=tuple(ids), states=(state,) if state else (), everything=everything)
    arguments = {
        "workflow": wf.name,
        "selection": selection,
        "trigger": trigger,
        "data": data,
        "reference": reference,
        "at": at,
        "reason": typed["reason"],
    }
    return arguments, problems
