"""Paths through the 2008 programme, shared by the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labelwf import Engine
from labelwf.engine.fired import Fired
from labelwf.store import reads
from labelwf.workflow.definition import DAEMON_ACTOR

OPERATOR = {"actor": "dgcis-agent", "reason": "décision du comité"}
SYSTEM: dict[str, Any] = {}  # a step the daemon takes: its pending timer is fired, as the sweep would
START_2009 = {"contract_start": "2009-01-01"}
CIADT = {"decision_ref": "CIADT du 11 mai 2010"}
DELABEL = {**CIADT, "motif": "La nouvelle évaluation n’a pas confirmé que le pôle répond aux critères du label."}
UNSATISFACTORY = {"motif": "Les axes d’amélioration fixés par le contrat n’ont pas été suivis."}

# How to reach each state of the 2008 programme from 'evaluated': (trigger, data, who) steps.
Step = tuple[str, dict[str, Any], dict[str, Any]]
PATHS: dict[str, list[Step]] = {
    "evaluated": [],
    "group_1": [("classify", {"group": 1}, OPERATOR)],
    "group_2": [("classify", {"group": 2}, OPERATOR)],
    "group_3": [("classify", {"group": 3}, OPERATOR)],
}
PATHS["contract"] = [*PATHS["group_1"], ("sign_contract", START_2009, OPERATOR)]
PATHS["contract_watch"] = [*PATHS["group_2"], ("sign_contract", START_2009, OPERATOR)]
PATHS["review"] = [*PATHS["contract_watch"], ("open_review", {}, SYSTEM)]
PATHS["funding_revised"] = [*PATHS["review"], ("review_unsatisfactory", UNSATISFACTORY, OPERATOR)]
PATHS["reevaluation"] = [*PATHS["group_3"], ("start_reevaluation", {}, OPERATOR)]
PATHS["awaiting_decision"] = [*PATHS["group_3"], ("end_label_term", {}, SYSTEM)]
PATHS["renewed"] = [*PATHS["awaiting_decision"], ("renew", CIADT, OPERATOR)]
PATHS["delabeled"] = [*PATHS["awaiting_decision"], ("delabel", DELABEL, OPERATOR)]
PATHS["evaluation_due"] = [*PATHS["contract"], ("end_contract", {}, SYSTEM)]
PATHS["labelled"] = [("label", CIADT, OPERATOR)]
PATHS["phase_2_evaluated"] = [("classify_2012", {"class_2012": "performant"}, OPERATOR)]


def drive(engine: Engine, entity: str, state: str) -> None:
    """Fire the steps that bring ``entity`` from 'evaluated' to ``state``."""
    for trigger, data, who in PATHS[state]:
        if who is SYSTEM:
            fire_timer(engine, entity, trigger)
        else:
            engine.fire(entity, trigger, data=data, **who)


def fire_timer(engine: Engine, entity: str, trigger: str) -> Fired | None:
    """Fire the pending timer of ``trigger`` through the daemon's own path, due or not (None: none)."""
    with engine.db.write() as conn:
        pending = reads.pending_timers(conn, limit=1000).items
        timer = next((t for t in pending if t.entity == entity and t.trigger == trigger), None)
        return None if timer is None else engine.fire_timer(conn, timer, actor=DAEMON_ACTOR)


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` of a file by ``new`` (``old`` must be there)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refused_form(client: Any, answer: Any, to: str | None = None) -> Any:
    """The page a refused console form sends to (``303``, Post/Redirect/Get), which says why once."""
    assert answer.status_code == 303, (answer.status_code, answer.text[:500])
    assert to is None or answer.headers["location"] == to, answer.headers["location"]
    return client.get(answer.headers["location"])
