"""The search's indexes (migration 0014) find what a scan of the folded text finds, and follow the
entity rows as they are registered, changed and deleted, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from labelwf import Engine
from labelwf.store import search
from labelwf.store.schema import entity, instance

WORDS = ["vege", "VÉGÉ", "ve", "pol", "rhone", "bretagne", "-", "%", "_", "a_b", "zzzz", "pole", "énergie"]


def found(engine: Engine, **criteria: str) -> list[str]:
    with engine.db.read() as conn:
        results = search.search_instances(conn, search.Criteria(**criteria), limit=500)  # type: ignore[arg-type]
    return [item.instance.entity.id for item in results.items]


def scanned(engine: Engine, text: str) -> list[str]:
    words = search.folded(text).split()
    with engine.db.read() as conn:
        rows = conn.execute(sa.select(entity.c.id, entity.c.search).order_by(entity.c.name, entity.c.id)).all()
    return [r.id for r in rows if all(w in r.search for w in words)]


@pytest.mark.parametrize("text", WORDS)
def test_the_index_finds_what_a_scan_finds(poles: Engine, text: str) -> None:
    assert sorted(found(poles, text=text)) == sorted(scanned(poles, text))


def test_the_index_follows_changed_and_deleted_entities(poles: Engine) -> None:
    assert found(poles, text="vege") == ["vegepolys"]
    with poles.db.write() as conn:
        conn.execute(entity.update().where(entity.c.id == "vegepolys").values(search="xyzzy vegetal"))
        conn.execute(entity.update().where(entity.c.id == "enfant").values(search="enfant vegetarien"))
    assert sorted(found(poles, text="vege")) == ["enfant", "vegepolys"]
    assert found(poles, text="xyzz") == ["vegepolys"]
    with poles.db.write() as conn:
        iid = conn.execute(sa.select(instance.c.id).where(instance.c.entity_id == "enfant")).scalar_one()
        for table in ("letter", "timer", "event"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE instance_id = :iid"), {"iid": iid})
        conn.execute(sa.text("DELETE FROM entity_version WHERE entity_id = 'enfant'"))
        conn.execute(instance.delete().where(instance.c.id == iid))
        conn.execute(entity.delete().where(entity.c.id == "enfant"))
    assert found(poles, text="vege") == ["vegepolys"]


def test_a_region_filter_and_a_state_count_need_no_scan(poles: Engine) -> None:
    with poles.db.read() as conn:
        some = search.regions(conn)[0]
        by_region = search.search_instances(conn, search.Criteria(region=some))
        everything = search.search_instances(conn, search.Criteria(workflow="poles-2008", states=("evaluated",)))
    assert by_region.total >= 1
    assert {f.instance.entity.id for f in by_region.items} <= set(scanned(poles, search.folded(some)))
    assert everything.total == 71
