"""The search's region menu: every region the entities name, read from the region's index (one seek
per region, not a read of every entity), and current after any change of an entity's region."""

from __future__ import annotations

import sqlalchemy as sa

from labelwf import Engine
from labelwf.store import search
from labelwf.store.schema import entity


def every_region(engine: Engine) -> list[str]:
    """The regions as a read of every entity finds them."""
    with engine.db.read() as conn:
        found = {str((a or {}).get("region") or "") for a in conn.execute(sa.select(entity.c.attributes)).scalars()}
    return sorted(found - {""}, key=search.folded)


def regions(engine: Engine) -> list[str]:
    with engine.db.read() as conn:
        return search.regions(conn)


def test_the_menu_holds_every_region_named_once_in_folded_order(poles: Engine) -> None:
    listed = regions(poles)
    assert listed == every_region(poles) and len(listed) == len(set(listed)) > 10
    assert "Île-de-France" in listed and listed.index("Île-de-France") < listed.index("Limousin")


def test_the_menu_follows_a_region_changed_added_or_emptied(poles: Engine) -> None:
    with poles.db.write() as conn:
        conn.execute(entity.update().where(entity.c.id == "enfant").values(attributes={"region": "Atlantide"}))
        conn.execute(entity.update().where(entity.c.id == "vegepolys").values(attributes={"region": ""}))
        conn.execute(entity.update().where(entity.c.id == "pass").values(attributes={}))
    listed = regions(poles)
    assert "Atlantide" in listed and "" not in listed
    assert listed == every_region(poles)


def test_the_menu_is_read_from_the_region_index(poles: Engine) -> None:
    with poles.db.read() as conn:
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + _sql(conn)))
            assert "USING INDEX ix_entity_region" in plan and "SCAN entity" not in plan
        else:  # 71 rows: the planner would rather read the table; forbid that to see the index can serve it
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + _sql(conn)))
            assert "ix_entity_region" in plan and "Seq Scan on entity" not in plan


def _sql(conn: sa.Connection) -> str:
    """The statement ``regions`` runs, as its text."""
    statements: list[str] = []
    sa.event.listen(conn, "before_cursor_execute", lambda *args: statements.append(args[2]))
    search.regions(conn)
    (sql,) = statements
    return sql
