"""Entities that change, on SQLite and PostgreSQL: a pole that ceases, poles that merge."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from labelwf import Engine, FrozenClock, store, verify
from labelwf.errors import ActionRefused, InvalidData
from labelwf.operations.entity_changes import cease, merge
from labelwf.store import fires, reads
from labelwf.store.records import Instance

WHO = {"actor": "CGET", "reason": "Fusion votée par les assemblées générales"}


def instance(engine: Engine, entity: str) -> Instance:
    with engine.db.read() as conn:
        found = fires.load_instance(conn, entity, "poles-2008")
    assert found is not None
    return found


def letters(engine: Engine) -> int:
    with engine.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(store.letter)).scalar() or 0)


def under_contract(engine: Engine, *entities: str) -> None:
    for entity in entities:
        engine.fire(entity, "classify", actor="dgcis", reason="classement", data={"group": 1})
        engine.fire(entity, "sign_contract", actor="dgcis", reason="contrat", data={"contract_start": "2009-01-01"})


def test_an_entity_that_ceases_ends_its_label_without_a_letter(poles: Engine) -> None:
    under_contract(poles, "mta")
    before = letters(poles)
    cease(poles, "mta", actor="ANCT", reason="Liquidation judiciaire")
    ended = instance(poles, "mta")
    assert ended.state == "ceased" and letters(poles) == before
    with poles.db.read() as conn:
        assert reads.timers_of(conn, ended) == []
        last = reads.history(conn, ended, limit=100).items[-1]
    assert last.trigger == "(entity ceased)" and last.reason == "Liquidation judiciaire"
    with pytest.raises(ActionRefused, match="final state 'ceased'"):
        cease(poles, "mta", actor="ANCT", reason="encore")
    assert verify(poles.db).ok


def test_a_merger_into_a_new_entity_passes_on_the_label_state_data_and_deadlines(poles: Engine) -> None:
    under_contract(poles, "mta", "enfant")
    merge(poles, ["mta", "enfant"], "mta-enfant", name="Pôle fusionné", **WHO)
    successor = instance(poles, "mta-enfant")
    assert successor.state == "contract" and successor.data == instance(poles, "enfant").data | successor.data
    assert successor.entity.attributes["former_name"] == "mta ; enfant"
    with poles.db.read() as conn:
        (deadline,) = reads.timers_of(conn, successor)
        first = reads.history(conn, successor, limit=10).items[0]
        absorbed_last = reads.history(conn, instance(poles, "enfant"), limit=100).items[-1]
    assert deadline.name == "contract_end" and first.data == {"successor_of": ["mta", "enfant"]}
    assert absorbed_last.trigger == "(merged into)" and absorbed_last.data == {"successor": "mta-enfant"}
    assert instance(poles, "mta").state == instance(poles, "enfant").state == "merged"
    assert verify(poles.db).ok


def test_an_absorbing_entity_records_whom_it_absorbed(poles: Engine) -> None:
    under_contract(poles, "mta", "enfant")
    version = instance(poles, "mta").version
    merge(poles, ["enfant"], "mta", **WHO)
    absorbing = instance(poles, "mta")
    assert absorbing.version == version + 1 and absorbing.state == "contract"
    with poles.db.read() as conn:
        last = reads.history(conn, absorbing, limit=100).items[-1]
    assert last.trigger == "(absorbed)" and last.data == {"absorbed": ["enfant"]}


def test_a_merger_into_a_delabeled_entity_or_itself_is_refused_and_writes_nothing(
    poles: Engine, clock: FrozenClock
) -> None:
    under_contract(poles, "mta")
    poles.fire("enfant", "classify", actor="dgcis", reason="r", data={"group": 3})
    poles.fire("enfant", "start_reevaluation", actor="dgcis", reason="r")
    poles.fire("enfant", "delabel", actor="dgcis", reason="r", data={"decision_ref": "CIADT", "motif": "m"})
    version = instance(poles, "mta").version
    with pytest.raises(ActionRefused, match="final state 'delabeled'"):
        merge(poles, ["mta"], "enfant", **WHO)
    with pytest.raises(InvalidData, match="cannot merge into itself"):
        merge(poles, ["mta"], "mta", **WHO)
    with pytest.raises(InvalidData, match="give its name"):
        merge(poles, ["mta"], "nouveau-pole", **WHO)
    assert instance(poles, "mta").version == version


def test_a_change_dated_before_the_last_event_is_refused(poles: Engine, clock: FrozenClock) -> None:
    under_contract(poles, "mta")
    with pytest.raises(Exception, match=r"never runs backwards|before its last event"):
        cease(poles, "mta", at=clock.now() - timedelta(days=400), actor="ANCT", reason="x")
    assert instance(poles, "mta").state == "contract"
