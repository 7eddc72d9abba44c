"""Both shipped replays read against the record: every letter passes ``letters check``, every fact
but the clock's says where it comes from, and letters name poles and regions as they were on their date."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import store
from labelwf.cli import main
from labelwf.store.database import Database
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

CONFIGS = {"campaign": ROOT / "config.yaml", "programme": ROOT / "programme.yaml"}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[CliRunner, list[str]]]:
    """Each shipped scenario replayed once through the CLI, as ./run does, into its own database."""
    tmp = tmp_path_factory.mktemp("record")
    runner = CliRunner(env={"LABELWF_AUDIT_KEY_FILE": str(tmp / "audit.key")})
    found = {}
    for name, config in CONFIGS.items():
        args = ["--config", str(config), "--db", f"sqlite:///{tmp / name}.db"]
        assert runner.invoke(main, [*args, "init"]).exit_code == 0
        result = runner.invoke(main, [*args, "replay"])
        assert result.exit_code == 0, result.output
        found[name] = (runner, args)
    return found


def letters_of(args: list[str], entity: str) -> list[sa.Row[tuple[str, str, object]]]:
    db = Database(args[-1])
    try:
        with db.read() as conn:
            query = (
                sa.select(store.letter.c.template, store.letter.c.body, store.letter.c.created_at)
                .join(store.instance, store.instance.c.id == store.letter.c.instance_id)
                .where(store.instance.c.entity_id == entity)
            )
            return list(conn.execute(query).all())
    finally:
        db.dispose()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_letter_of_both_replays_passes_the_checker(
    replayed: dict[str, tuple[CliRunner, list[str]]], name: str
) -> None:
    runner, args = replayed[name]
    result = runner.invoke(main, [*args, "letters", "check", "--json"])
    report = json.loads(result.stdout)
    assert report["checked"] == {"campaign": 240, "programme": 1308}[name]
    assert report["letters"] == [] and result.exit_code == 0
    assert runner.invoke(main, [*args, "audit", "verify"]).exit_code == 0


def test_every_act_of_the_programme_says_its_basis_but_the_clock_s(
    replayed: dict[str, tuple[CliRunner, list[str]]],
) -> None:
    # The rule that holds: an event without a basis is a deadline the daemon fired (its basis is the
    # workflow's rule and the event that armed it). Every act carries record, assumed or synthetic:
    # the opening import (the scenario's own source), the phase-3 migration (its step's), each step.
    _, args = replayed["programme"]
    db = Database(args[-1])
    try:
        with db.read() as conn:
            rows = conn.execute(sa.select(store.event.c.actor, store.event.c.trigger, store.event.c.basis)).all()
    finally:
        db.dispose()
    bare = Counter((r.actor, r.trigger) for r in rows if r.basis is None)
    assert bare and {actor for actor, _ in bare} == {"labelwf-daemon"}
    kinds = Counter(
        json.loads(r.basis)["kind"] if isinstance(r.basis, str) else r.basis["kind"] for r in rows if r.basis
    )
    assert set(kinds) == {"record", "assumed", "synthetic"}


def test_a_pole_s_letters_name_its_region_and_its_name_of_their_date(
    replayed: dict[str, tuple[CliRunner, list[str]]],
) -> None:
    _, args = replayed["programme"]
    # S2E2 (Centre in 2008): its mid-term convocation of January 2016 names Centre-Val de Loire
    [convocation] = [r for r in letters_of(args, "s2e2") if r.template == "convocation_mi_parcours"][:1]
    assert "région Centre-Val de Loire" in convocation.body and "région Centre\n" not in convocation.body
    # Aerospace Valley (Midi-Pyrénées; Aquitaine in 2008): its 2019 letters name the regions of 2016
    label_2019 = [r.body for r in letters_of(args, "aerospace-valley") if r.template == "label"]
    assert label_2019 and all(
        "Midi-Pyrénées" not in body and "Aquitaine" not in body.replace("Nouvelle-", "") for body in label_2019
    )
    assert any("Occitanie" in body for body in label_2019)
    # Plastipolis is Polymeris from 31 December 2020 (ENV-20); MIPI is Materalia from 2013
    plastipolis = letters_of(args, "plastipolis")
    assert all("Polymeris" in r.body for r in plastipolis if str(r.created_at) >= "2021")
    assert all("Plastipolis" in r.body for r in plastipolis if str(r.created_at) < "2020")
    assert all(
        "Materalia" in r.body and "MIPI" not in r.body for r in letters_of(args, "mipi") if str(r.created_at) >= "2019"
    )
