"""What enters labelwf is checked where it enters, whatever the route: typed attributes, one e-mail
address per contact, CSV as spreadsheets write it; and what delivery leaves behind when killed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from labelwf import Engine, EntityRow, ImportRejected, add_entities, import_entities
from labelwf.engine import delivery
from labelwf.engine.delivery import DeliverySettings, Outbox
from labelwf.workflow.yamlfile import load_yaml
from tests.helpers import OPERATOR


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ("group_2008\nx-pole,X,4", r"x-pole.csv:2: 'x-pole': attribute 'group_2008' must be one of 1, 2, 3, got '4'"),
        (
            "labelled_year\nx-pole,X,2005.5",
            "attribute 'labelled_year' must be a whole number: ASCII digits 0-9.*, got '2005.5'",
        ),
        ("outcome_2010\nx-pole,X,maybe", "attribute 'outcome_2010' must be one of renewed, delabeled"),
    ],
)
def test_an_attribute_outside_its_declared_type_is_refused_with_its_line(
    engine: Engine, tmp_path: Path, cells: str, message: str
) -> None:
    path = write(tmp_path / "x-pole.csv", "id,name," + cells + "\n")
    with pytest.raises(ImportRejected, match=message):
        import_entities(engine, path, actor="t")


def test_the_library_refuses_attributes_and_contacts_the_importer_would(engine: Engine) -> None:
    with pytest.raises(ImportRejected, match="attribute 'colour' of 'x' is not one poles-2008@1 declares"):
        add_entities(engine, [EntityRow(1, "x", "X", {"colour": "bleu"})], actor="t", reason="t")
    two = ({"role": "governance", "name": "", "address": "", "email": "a@x.fr,root"},)
    with pytest.raises(ImportRejected, match=r"contact e-mail of 'x' 'a@x\.fr,root' is not one e-mail address"):
        add_entities(engine, [EntityRow(1, "x", "X", {}, two)], actor="t", reason="t")
    escaped = ({"role": "governance", "name": "M. \x1b[2J", "address": "", "email": ""},)
    with pytest.raises(ImportRejected, match="contact name of 'x' contains the control character U\\+001B"):
        add_entities(engine, [EntityRow(1, "x", "X", {}, escaped)], actor="t", reason="t")


def test_a_csv_separated_by_semicolons_is_read(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "poles.csv", "id;name;region\nx-pole;Pôle X, le premier;Bretagne\n")
    report = import_entities(engine, path, actor="t")
    assert report.entities == 1
    with engine.db.read() as conn:
        assert conn.execute(sa.text("SELECT name FROM entity")).scalar_one() == "Pôle X, le premier"


def test_delivery_removes_what_a_killed_sender_left_half_written_but_not_a_live_senders_files(
    poles: Engine, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    (outbox / "enfant").mkdir(parents=True)
    old = outbox / "enfant" / ".2009-01-01-x-prefet.pdf.k3j4h5"
    young = outbox / "enfant" / ".2009-01-01-x-region.pdf.a1b2c3"
    for leftover in (old, young):
        leftover.write_bytes(b"%PDF-1.7 half")
    os.utime(old, (0, 0))  # written long ago, by a sender that is gone
    sender = Outbox(poles.db, DeliverySettings(outbox=outbox, pdf=False), clock=poles.clock)
    sender.deliver_due()
    assert not old.exists() and young.exists()


def test_an_unexpected_error_while_delivering_one_letter_is_that_letters_alone(
    poles: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    written = delivery._write_atomically

    def failing(path: Path, data: bytes) -> None:
        if "prefet" in path.name:
            raise RuntimeError("a bug in a library")
        written(path, data)

    monkeypatch.setattr(delivery, "_write_atomically", failing)
    report = Outbox(poles.db, DeliverySettings(outbox=tmp_path / "out", pdf=False), clock=poles.clock).deliver_due()
    assert (report.delivered, report.retried) == (2, 1)
    assert "RuntimeError: a bug in a library" in report.errors[0]


def test_the_settings_repr_shows_no_secret() -> None:
    from labelwf.config import load_settings

    settings = load_settings(
        None, overrides={"smtp_password": "hunter2", "database": "postgresql://u:pw@h/db?password=x"}
    )
    shown = repr(settings)
    assert "hunter2" not in shown and "pw@" not in shown and "password=x" not in shown
    assert "smtp_password='***'" in shown and "postgresql://u:***@h/db" in shown


def test_a_workflow_file_without_a_size_is_read_only_to_its_bound() -> None:
    # /dev/zero says it holds nothing and never ends: the reading stops at the bound
    document, problems = load_yaml(Path("/dev/zero"))
    assert document is None and [p.message for p in problems] == ["file is larger than the 1,048,576 bytes allowed"]
