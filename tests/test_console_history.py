"""An instance's history in the console reads as French sentences: the workflow's labels, dates in the
programme's zone, who acted as people call them, and never a reason the engine wrote itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from labelwf.scenarios.replay import replay_principal
from labelwf.service.console_history import BY_REPLAY, BY_SERVICE, Reader, detail, sentence
from labelwf.store.records import Event
from labelwf.workflow.definition import DAEMON_ACTOR, OPERATOR, SYSTEM, Workflow

PARIS = ZoneInfo("Europe/Paris")
STAFF = Reader(staff=True)
STAKEHOLDER = Reader(staff=False, hidden=frozenset({"marie", DAEMON_ACTOR, SYSTEM}))


def event(
    trigger: str | None,
    source: str | None,
    dest: str,
    *,
    actor: str = "marie",
    role: str = OPERATOR,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
    at: datetime = datetime(2010, 12, 15, 10, tzinfo=UTC),
    recorded: datetime | None = None,
    late_by_s: float | None = None,
    principal: str | None = "marie (password session; request 694a12)",
    letters: tuple[str, ...] = (),
) -> Event:
    return Event(
        entity="vegepolys",
        workflow="poles-2008",
        seq=3,
        trigger=trigger,
        source=source,
        dest=dest,
        actor=actor,
        role=role,
        reason=reason,
        data=data or {},
        occurred_at=at,
        recorded_at=recorded or at,
        late_by_s=late_by_s,
        prev_hash="",
        hash_format=9,
        principal=principal,
        letters=letters,
    )


def test_a_deadline_reached_says_its_label_its_french_instant_and_the_service_never_its_recorded_reason(
    workflow: Workflow,
) -> None:
    # Given the 18-month review's deadline fired by the daemon at midnight, Paris time, on 1 July 2010
    fired = event(
        "open_review",
        "contract_watch",
        "review",
        actor=DAEMON_ACTOR,
        role=SYSTEM,
        reason="timer review_18_months due 2010-06-30T22:00:00+00:00",
        at=datetime(2010, 6, 30, 22, tzinfo=UTC),
        late_by_s=0.0,
        principal=replay_principal("root@vm"),
    )
    # When staff and a stakeholder read it
    for reader in (STAFF, STAKEHOLDER):
        said = sentence(fired, workflow, PARIS, reader)
        # Then it is a sentence in labels, by the service, without the engine's words
        assert said.startswith("Échéance « Examen à 18 mois » atteinte le 1er juillet 2010 à 00:00 : ")
        assert f"« Ouverture de l'examen à 18 mois » {BY_SERVICE}" in said
        assert "review_18_months" not in said and "timer" not in said and "motif" not in said


def test_a_decision_says_its_label_its_author_its_day_the_states_and_for_staff_the_reason_as_typed(
    workflow: Workflow,
) -> None:
    # Given a classification decided by an agent, which queued two letters
    decided = event("classify", "evaluated", "group_1", reason="Avis du  jury", data={"group": 1}, letters=("a", "b"))
    # When staff read it, Then they read who decided and why, as typed
    assert sentence(decided, workflow, PARIS, STAFF) == (
        "« Classement » par marie le 15/12/2010 : Évalué → Groupe 1 (2 courriers émis), motif : Avis du jury"
    )
    # And a stakeholder reads the decision without the agent's name nor the reason
    assert sentence(decided, workflow, PARIS, STAKEHOLDER) == (
        "« Classement » le 15/12/2010 : Évalué → Groupe 1 (2 courriers émis)"
    )


def test_a_moved_deadline_says_its_old_and_new_dates_and_a_catch_up(workflow: Workflow) -> None:
    data = {
        "timer": "contract_end",
        "timer_trigger": "end_contract",
        "from": "2010-06-30T22:00:00+00:00",
        "to": "2010-08-31T22:00:00+00:00",
        "overdue": True,
    }
    moved = event("(timer moved)", "review", "review", reason="Rattrapage demandé", data=data)
    said = sentence(moved, workflow, PARIS, STAFF)
    assert said == (
        "Échéance « Fin du contrat de performance » déplacée du 01/07/2010 au 01/09/2010 (elle était dépassée ; "
        "rattrapage : traitée aussitôt) par marie le 15/12/2010, motif : Rattrapage demandé"
    )


def test_a_replays_own_import_is_said_as_the_public_records_and_its_reason_is_not_repeated(
    workflow: Workflow,
) -> None:
    opened = event(
        None,
        None,
        "evaluated",
        actor="replay",
        role=SYSTEM,
        reason="replay of campaign-2008-2010: poles_2008.csv",
        at=datetime(2008, 6, 18, 7, tzinfo=UTC),
        principal=replay_principal("root@vm"),
    )
    assert sentence(opened, workflow, PARIS, STAFF) == f"Ouverture du dossier {BY_REPLAY} le 18/06/2008 : Évalué"


@pytest.mark.parametrize(
    ("trigger", "data", "said"),
    [
        ("(letter signed)", {"letter": 12, "recipient": "prefet"}, "Courrier n° 12 (Préfet de région) signé"),
        (
            "(letter returned)",
            {"letter": 12, "recipient": "governance"},
            "Courrier n° 12 (Gouvernance du pôle) renvoyé",
        ),
        ("(timer skipped)", {"timer": "label_term", "due_at": "2009-12-31T23:00:00+00:00"}, "« Terme du label »"),
        ("(entity changed)", {"entity_change": {"name": "X"}, "valid_from": "2016-01-01"}, "Changement du référentiel"),
        ("(migrated)", {"from_version": 1, "to_version": 2}, "Passage à la version 2 du parcours"),
        ("(merged into)", {"successor": "aqua-valley"}, "Fusion dans « aqua-valley »"),
    ],
)
def test_the_engines_own_acts_are_said_in_french(
    workflow: Workflow, trigger: str, data: Mapping[str, Any], said: str
) -> None:
    line = sentence(event(trigger, "review", "review", data=data, reason="x"), workflow, PARIS, STAFF)
    assert said in line and "(letter" not in line and "timer" not in line


def test_the_staffs_detail_of_who_acted_says_the_machine_never_the_request() -> None:
    assert detail(replay_principal("root@vm")) == "reprise lancée depuis root@vm"
    assert detail("marie (password session; request 694a12)") == "compte marie, console"
    assert detail("alice (token 7; request 3f2a)") == "compte alice, jeton d'API n° 7"
    assert detail("root@vm") == "poste root@vm"
    assert detail(None) == ""
