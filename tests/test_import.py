"""Importing entities is all or nothing, and every bad row is named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from labelwf import Engine, ImportRejected, import_entities, store
from tests.conftest import POLES_CSV

HEADER = "id,name,region,theme\n"


def count_entities(engine: Engine) -> tuple[int, int, int]:
    with engine.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in (store.entity, store.instance, store.event)
        )


def test_the_shipped_poles_import_into_the_initial_state(engine: Engine) -> None:
    report = import_entities(engine, POLES_CSV, actor="import")
    assert report.entities == 71
    assert count_entities(engine) == (71, 71, 71)  # one creation event each, the chain's first link


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (HEADER + 'a,"unclosed\n', 2, "malformed CSV"),
        (HEADER + "a,A,,\nb,B,,\na,A again,,\n", 4, "id 'a' is given twice (first at line 2)"),
        ("id,name,region,budget\na,A,,\n", 1, "unknown column(s) 'budget'"),
        ("ident,name\na,A\n", 1, "missing column 'id'"),
        (HEADER + "a,A,,\nb,B\n", 3, "2 cells, expected 4"),
        (HEADER + "Not A Slug,A,,\n", 2, "id 'Not A Slug' is not a slug"),
        (HEADER + "a,,,\n", 2, "name is empty for id 'a'"),
        (HEADER + "a,A\x07,,\n", 2, "contains control characters"),
        ("", None, "the file is empty"),
        (HEADER, None, "no data rows after the header"),
        ("id,name,name\na,A,B\n", 1, "column(s) given twice: name"),
    ],
)
def test_a_bad_file_imports_nothing_and_names_the_line(
    engine: Engine, tmp_path: Path, content: str, line: int | None, message: str
) -> None:
    path = tmp_path / "poles.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_entities(engine, path, actor="import")
    problem = next(p for p in rejected.value.problems if message in p.message)
    assert problem.line == line
    assert count_entities(engine) == (0, 0, 0)


def test_a_file_that_is_not_utf8_imports_nothing_and_names_the_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "a,A,,\nb,Végépolys,,\n").encode("latin-1"))
    with pytest.raises(ImportRejected) as rejected:
        import_entities(engine, path, actor="import")
    assert rejected.value.problems[0].line == 3
    assert "not UTF-8" in rejected.value.problems[0].message
    assert count_entities(engine) == (0, 0, 0)


def test_every_bad_row_is_reported_not_only_the_first(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "poles.csv"
    path.write_text(HEADER + "A,x,,\nb,,,\nc,C,,\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_entities(engine, path, actor="import")
    assert [p.line for p in rejected.value.problems] == [2, 3]


def test_a_file_with_hundreds_of_bad_rows_keeps_them_all_and_shows_the_first_fifty(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "poles.csv"
    path.write_text(HEADER + "".join(f"p{i},,,\n" for i in range(300)), encoding="utf-8")
    with pytest.raises(ImportRejected) as rejected:
        import_entities(engine, path, actor="import")
    assert len(rejected.value.problems) == 300
    message = str(rejected.value)
    assert message.startswith("nothing imported (300 problems):")
    assert "p49" in message and "'p50'" not in message and "... and 250 more" in message
    assert len(message.splitlines()) == 52


def test_importing_ids_already_present_imports_nothing(engine: Engine, tmp_path: Path) -> None:
    import_entities(engine, POLES_CSV, actor="import")
    path = tmp_path / "more.csv"
    path.write_text(HEADER + "new-pole,Nouveau,,\nenfant,Enfant,,\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="id 'enfant' is already imported"):
        import_entities(engine, path, actor="import")
    assert count_entities(engine) == (71, 71, 71)


def test_a_byte_order_mark_and_blank_lines_are_accepted(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + HEADER + "a,Pôle A,Bretagne,\n\n").encode("utf-8"))
    assert import_entities(engine, path, actor="import").entities == 1


def test_a_missing_file_is_named(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportRejected, match="file not found"):
        import_entities(engine, tmp_path / "absent.csv", actor="import")
