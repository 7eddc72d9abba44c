"""Dated versions of an entity, on SQLite and PostgreSQL: a letter names the entity as it was on its
date, a read "as of" a date gives the version then in force, and audit verify checks every version."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from labelwf import Engine, FrozenClock, Runtime, store, verify
from labelwf.cli import main
from labelwf.errors import InvalidData, NotFound
from labelwf.operations.entity_versions import change_entity
from labelwf.operations.region_map import apply_region_map, read_region_map, remap
from labelwf.store.entity_versions import entity_at, load_entity, versions_of
from labelwf.store.records import Basis
from labelwf.store.schema import entity_version

from .conftest import ROOT
from .test_api import api, runtime, tokens  # noqa: F401 (the API's fixtures)

REGIONS_2016 = ROOT / "data" / "regions_2016.csv"
WHO = {"actor": "ANCT", "reason": "Réforme territoriale"}


def at(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=UTC)


def letters_text(engine: Engine, entity: str) -> list[str]:
    """Each letter of ``entity`` (subject, recipient and body), oldest first."""
    with engine.db.read() as conn:
        rows = conn.execute(
            sa.select(store.letter.c.subject, store.letter.c.recipient_label, store.letter.c.body)
            .join(store.instance, store.instance.c.id == store.letter.c.instance_id)
            .where(store.instance.c.entity_id == entity)
            .order_by(store.letter.c.id)
        )
        return [" | ".join(str(v or "") for v in row) for row in rows]


def classify(engine: Engine, entity: str, when: datetime | None = None) -> None:
    engine.fire(entity, "classify", actor="dgcis", reason="classement", data={"group": 1}, at=when)


def test_a_letter_of_2017_names_the_region_of_2016(poles: Engine, clock: FrozenClock) -> None:
    clock.set(at(2017, 1, 10))
    changes = apply_region_map(poles, read_region_map(REGIONS_2016), **WHO)
    assert "agrimip-innovation" in {c.entity.id for c in changes}
    classify(poles, "agrimip-innovation")
    (written,) = letters_text(poles, "agrimip-innovation")[:1]
    assert "Occitanie" in " ".join(letters_text(poles, "agrimip-innovation"))
    assert "Midi-Pyrénées" not in " ".join(letters_text(poles, "agrimip-innovation")), written
    assert verify(poles.db).ok


def test_a_backdated_fire_uses_the_version_in_force_then(poles: Engine, clock: FrozenClock) -> None:
    clock.set(at(2017, 1, 10))
    apply_region_map(poles, read_region_map(REGIONS_2016), **WHO)
    classify(poles, "agrimip-innovation", at(2015, 6, 1))  # dated before the merger of the regions
    text = " ".join(letters_text(poles, "agrimip-innovation"))
    assert "Midi-Pyrénées" in text and "Occitanie" not in text


def test_a_renamed_entity_s_later_letter_carries_its_new_name_and_as_of_reads_give_each_version(
    poles: Engine, clock: FrozenClock
) -> None:
    clock.set(at(2016, 3, 1))
    change_entity(
        poles,
        "mipi",
        {"name": "Materalia"},
        valid_from=at(2016, 1, 1),
        basis={"kind": "record", "source": "VIP-23"},
        **WHO,
    )
    clock.set(at(2018, 5, 2))
    classify(poles, "mipi")
    assert "Materalia" in letters_text(poles, "mipi")[0]
    with poles.db.read() as conn:
        row = load_entity(conn, "mipi")
        assert row is not None and row.name == "Materalia"
        assert entity_at(conn, row, at(2010)).name == "MIPI"
        assert entity_at(conn, row, at(2016, 1, 1)).name == "Materalia"
        versions = versions_of(conn, "mipi")
    assert [v.entity.name for v in versions] == ["MIPI", "Materalia"]
    assert versions[0].valid_from is None and versions[1].basis == {"kind": "record", "source": "VIP-23"}
    assert versions[1].change["was"] == {"name": "MIPI"}
    assert verify(poles.db).ok


def test_a_change_is_refused_when_it_changes_nothing_or_rewrites_history(poles: Engine, clock: FrozenClock) -> None:
    clock.set(at(2017))
    with pytest.raises(NotFound):
        change_entity(poles, "no-such-pole", {"name": "X"}, **WHO)
    with pytest.raises(InvalidData, match="nothing changes"):
        change_entity(poles, "mipi", {"name": "MIPI"}, **WHO)
    with pytest.raises(InvalidData, match="a contact's keys are"):
        change_entity(poles, "mipi", {"contacts": [{"role": "governance", "phone": "01"}]}, **WHO)
    with pytest.raises(InvalidData, match="in the future"):
        change_entity(poles, "mipi", {"name": "Materalia"}, valid_from=at(2030), **WHO)
    change_entity(poles, "mipi", {"name": "Materalia"}, valid_from=at(2016), **WHO)
    with pytest.raises(InvalidData, match="give a date after"):
        change_entity(poles, "mipi", {"region": "Grand Est"}, valid_from=at(2015), **WHO)


def test_a_version_row_altered_in_the_database_is_caught_by_audit_verify(poles: Engine, clock: FrozenClock) -> None:
    clock.set(at(2017))
    change_entity(poles, "mipi", {"name": "Materalia"}, basis=Basis.assumed("date supposée"), **WHO)
    assert verify(poles.db).ok
    with poles.db.write() as conn:
        conn.execute(entity_version.update().where(entity_version.c.valid_from.is_not(None)).values(name="Autre nom"))
    report = verify(poles.db)
    assert not report.ok and any("altered" in b.problem for b in report.breaks)


def test_a_region_map_names_each_region_once() -> None:
    names = {"Languedoc-Roussillon": "Occitanie", "Midi-Pyrénées": "Occitanie", "Lorraine": "Grand Est"}
    assert remap("Languedoc-Roussillon; Provence-Alpes-Côte d'Azur; Midi-Pyrénées", names) == (
        "Occitanie; Provence-Alpes-Côte d'Azur"
    )
    assert remap("Lorraine (+ Champagne-Ardenne)", {**names, "Champagne-Ardenne": "Grand Est"}) == "Grand Est"
    assert remap("Bretagne", names) == "Bretagne"


def test_show_as_of_and_entities_versions_give_each_version(
    poles: Engine, clock: FrozenClock, database_url: str
) -> None:
    clock.set(at(2017, 1, 10))
    apply_region_map(poles, read_region_map(REGIONS_2016), **WHO)

    def cli(*args: str) -> str:
        result = CliRunner().invoke(main, ["--config", str(ROOT / "config.yaml"), "--db", database_url, *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert json.loads(cli("show", "agrimip-innovation", "--as-of", "2015-12-31", "--json"))["attributes"]["region"] == (
        "Midi-Pyrénées"
    )
    assert "Occitanie" in cli("show", "agrimip-innovation", "--as-of", "2016-01-02")
    listed = json.loads(cli("entities", "versions", "agrimip-innovation", "--json"))["versions"]
    assert [v["attributes"]["region"] for v in listed] == ["Midi-Pyrénées", "Occitanie"]
    assert listed[1]["basis"]["kind"] == "assumed" and listed[0]["valid_from"] is None
    assert "supposé" in cli("entities", "versions", "agrimip-innovation")


def test_the_api_reads_an_instance_as_of_a_date(
    runtime: Runtime,  # noqa: F811
    api: TestClient,  # noqa: F811
    tokens: dict[str, str],  # noqa: F811
    clock: FrozenClock,
) -> None:
    clock.set(at(2017, 1, 10))
    change_entity(runtime.engine, "mipi", {"name": "Materalia"}, valid_from=at(2016), **WHO)
    headers = {"Authorization": f"Bearer {tokens['paul']}"}
    before = api.get("/api/v1/instances/mipi", params={"as_of": "2015-06-01T00:00:00+02:00"}, headers=headers)
    assert before.status_code == 200 and before.json()["name"] == "MIPI"
    assert api.get("/api/v1/instances/mipi", headers=headers).json()["name"] == "Materalia"
    naive = api.get("/api/v1/instances/mipi", params={"as_of": "2015-06-01"}, headers=headers)
    assert naive.status_code in (400, 422)
