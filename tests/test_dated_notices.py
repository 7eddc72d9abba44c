"""Every letter path names the entity as it was on the letter's date: a deadline-move notice
written by a chain action dated before a new version, and a letter's preview dated then."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from labelwf import Engine, FrozenClock, store, verify
from labelwf.operations.entity_versions import change_entity
from labelwf.operations.timer_moves import Shift, move_timer

WHO = {"actor": "DATAR", "reason": "Changement de nom"}
NEW = "Pôle Mobilité Nouvelle-Aquitaine"


def at(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=UTC)


def notices(engine: Engine, entity: str) -> list[str]:
    with engine.db.read() as conn:
        rows = conn.execute(
            sa.select(store.letter.c.body)
            .join(store.instance, store.instance.c.id == store.letter.c.instance_id)
            .where(store.instance.c.entity_id == entity, store.letter.c.template == "report_echeance_contrat")
            .order_by(store.letter.c.id)
        )
        return [str(row.body) for row in rows]


def test_a_deadline_move_notice_names_the_entity_as_it_was_on_its_date(poles: Engine, clock: FrozenClock) -> None:
    poles.fire("mta", "classify", actor="dgcis", reason="classement", data={"group": 1})
    poles.fire("mta", "sign_contract", actor="dgcis", reason="contrat", data={"contract_start": "2009-01-01"})
    clock.set(at(2011, 2, 1))
    # Recorded (its event) in 2009, in force from 2011: a move dated 2010 comes before the new name.
    change_entity(poles, "mta", {"name": NEW}, at=at(2009, 6, 1), valid_from=at(2011, 1, 1), **WHO)
    move_timer(poles, "mta", "contract_end", Shift(to=at(2012, 6, 1)), at=at(2010, 5, 11), **WHO)
    move_timer(poles, "mta", "contract_end", Shift(to=at(2012, 12, 31)), **WHO)  # dated now: the new name
    written = notices(poles, "mta")
    before = [n for n in written if "reportée au 1er juin 2012" in n]
    after = [n for n in written if "reportée au 31 décembre 2012" in n]
    assert before and all("MTA" in n and NEW not in n for n in before)
    assert after and all(NEW in n for n in after)
    assert verify(poles.db).ok


def test_a_preview_dated_before_a_new_version_names_the_entity_as_it_was(poles: Engine, clock: FrozenClock) -> None:
    clock.set(at(2017, 1, 10))
    change_entity(poles, "vegepolys", {"name": "Vegepolys Valley"}, valid_from=at(2016, 1, 1), **WHO)
    data = {"motif": "Axes non suivis."}
    [then, *_] = poles.preview_letter("vegepolys", "revue_insatisfaisante", data=data, at=at(2015, 6, 1))
    [now, *_] = poles.preview_letter("vegepolys", "revue_insatisfaisante", data=data)
    assert "Végépolys" in then.text and "Vegepolys Valley" not in then.text
    assert "Vegepolys Valley" in now.text
    assert "2015" in then.text
