"""Provenance on every fact: an event's basis (the record, an assumption, synthetic data) is hashed
with it, stored, read back and shown; an event without one keeps its old canonical form."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from labelwf import Engine, import_entities, store, verify
from labelwf.audit.export import exported_events
from labelwf.audit.hashing import BASIS_FORMATS, HASH_FORMAT, KEYED_FORMAT, event_hash
from labelwf.store import reads
from labelwf.store.records import Basis, BasisKind
from tests.conftest import POLES_CSV
from tests.helpers import OPERATOR

RECORD = Basis.record("VIP-23, WTM-1213")
ASSUMED = Basis.assumed("le contrat est signé le 1er janvier 2009", source="RAP-2008")
SYNTHETIC = Basis.synthetic("nom inventé : le dossier public donne un nombre, pas des noms")


def events_of(engine: Engine, entity: str) -> list[store.records.Event]:
    with engine.db.read() as conn:
        [instance] = reads.find_instances(conn, entity)
        return list(reads.history(conn, instance, limit=100).items)


@pytest.mark.parametrize("basis", [RECORD, ASSUMED, SYNTHETIC], ids=lambda b: b.kind.value)
def test_an_event_with_a_basis_is_stored_with_it_and_verifies(poles: Engine, basis: Basis) -> None:
    # Given a decision fired with its basis
    poles.fire("enfant", "classify", data={"group": 3}, basis=basis, **OPERATOR)
    # Then it is read back with it, in format 8, and the trail verifies
    event = events_of(poles, "enfant")[-1]
    assert event.basis == basis and event.hash_format == BASIS_FORMATS[HASH_FORMAT] == 8
    assert event_hash(event) == event.hash
    assert verify(poles.db).ok
    [exported] = [e for e in exported_events(poles.db, entity="enfant") if e["seq"] == 1]
    assert exported["basis"] == basis.as_json() and exported["hash_format"] == 8


def test_an_event_without_basis_keeps_its_old_format(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, **OPERATOR)
    event = events_of(poles, "enfant")[-1]
    assert event.basis is None and event.hash_format == HASH_FORMAT


def test_a_keyed_engine_writes_format_9(db: store.Database, workflow: object, clock: object) -> None:
    keyed = Engine(db, workflow, clock=clock, audit_key=b"k" * 32)  # type: ignore[arg-type]
    import_entities(keyed, POLES_CSV, actor="import", reason="test set-up")
    keyed.fire("enfant", "classify", data={"group": 3}, basis=RECORD, **OPERATOR)
    event = events_of(keyed, "enfant")[-1]
    assert event.hash_format == BASIS_FORMATS[KEYED_FORMAT] == 9 and event.basis == RECORD
    assert verify(db, key=b"k" * 32).ok


@pytest.mark.parametrize(
    "tampered",
    [
        {"kind": "record", "source": "VIP-99"},
        {"kind": "assumed", "text": "autre chose"},
        None,
    ],
)
def test_a_basis_changed_in_the_database_breaks_the_chain(poles: Engine, tampered: object) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, basis=RECORD, **OPERATOR)
    with poles.db.write() as conn:
        conn.execute(store.event.update().where(store.event.c.hash_format == 8).values(basis=tampered))
    report = verify(poles.db)
    assert not report.ok
    assert any(b.entity == "enfant" and b.seq == 1 for b in report.breaks)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"kind": "record"}, "names its source"),
        ({"kind": "hearsay", "source": "X"}, "one of record, assumed, synthetic; got 'hearsay'"),
        ({"kind": "assumed", "text": "  "}, "non-empty"),
        ({"kind": "synthetic", "text": "x", "source": "VIP-23"}, "no source"),
        ({"kind": "record", "source": "VIP-23\nX"}, "control character"),
        ({"kind": "record", "source": "V" * 201}, "at most 200"),
        ({"kind": "record", "source": "VIP-23", "page": 3}, "got also page"),
        ("VIP-23", "an object with a 'kind'"),
    ],
)
def test_a_malformed_basis_is_refused_with_what_is_wrong(given: object, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        Basis.parse(given)


def test_a_basis_round_trips_through_its_json_form() -> None:
    for basis in (RECORD, ASSUMED, SYNTHETIC):
        assert Basis.parse(basis.as_json()) == basis
    assert SYNTHETIC.kind is BasisKind.SYNTHETIC and "source" not in SYNTHETIC.as_json()


def test_the_stored_basis_column_holds_the_json_form(poles: Engine) -> None:
    poles.fire("enfant", "classify", data={"group": 3}, basis=ASSUMED, **OPERATOR)
    with poles.db.read() as conn:
        stored = conn.execute(sa.select(store.event.c.basis).where(store.event.c.hash_format == 8)).scalar_one()
    assert stored == ASSUMED.as_json()
