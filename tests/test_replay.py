"""Replaying the 2008-2010 campaign: decisions at their dates, deadlines at theirs, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelwf import DatabaseNotEmpty, Engine, ScenarioError, store, verify
from labelwf.cli import EXIT_REFUSED, main
from labelwf.errors import ResetRefused
from labelwf.scenarios.replay import replay, replay_mark
from labelwf.scenarios.scenario import load_scenario
from labelwf.store import reads
from tests.conftest import CONFIG_FILE, ROOT

CAMPAIGN = ROOT / "scenarios" / "campaign-2008-2010.yaml"


def events_of(engine: Engine, trigger: str) -> list[sa.Row]:
    with engine.db.read() as conn:
        return conn.execute(
            sa.select(store.event.c.occurred_at, store.event.c.late_by_s, store.event.c.dest).where(
                store.event.c.trigger == trigger
            )
        ).all()


def test_the_real_campaign_ends_with_the_counts_the_public_record_implies(engine: Engine) -> None:
    report = replay(engine, load_scenario(CAMPAIGN, engine.workflow()))
    counts = {state: n for state, n in report.counts.items() if n}
    assert counts == {"evaluated": 44, "contract": 9, "review": 5, "renewed": 7, "delabeled": 6}
    assert len(report.unclassified) == 44 and "aerospace-valley" in report.unclassified
    assert report.letters == {
        "classement_groupe_1": 27,
        "classement_groupe_2": 15,
        "classement_groupe_3": 39,
        "contrat_signe": 42,
        "convocation_revue": 10,
        "fin_label_maintenu": 26,
        "renouvellement": 21,
        "delabellisation": 18,
        # the CIADT of 11 May 2010 extends the 14 running contracts to the end of 2012: one notice each
        "report_echeance_contrat": 42,
    }
    assert verify(engine.db).ok


def test_the_campaign_applies_the_ciadt_extension_of_the_contracts_to_the_end_of_2012(engine: Engine) -> None:
    replay(engine, load_scenario(CAMPAIGN, engine.workflow()))
    with engine.db.read() as conn:
        ends = conn.execute(
            sa.select(store.timer.c.due_at).where(
                store.timer.c.name == "contract_end", store.timer.c.status == "pending"
            )
        ).scalars()
        pending = [due.replace(tzinfo=UTC) if due.tzinfo is None else due for due in ends]
    assert len(pending) == 14 and set(pending) == {datetime(2012, 12, 31, 23, 0, tzinfo=UTC)}


def test_deadlines_fire_at_their_dates_during_a_replay(engine: Engine) -> None:
    replay(engine, load_scenario(CAMPAIGN, engine.workflow()))
    term = events_of(engine, "end_label_term")
    assert len(term) == 13
    assert {(e.occurred_at, e.late_by_s) for e in term} == {(datetime(2009, 12, 31, 23, 0, tzinfo=UTC), 0.0)}
    reviews = events_of(engine, "open_review")  # 18 months after 1 January 2009, midnight in Paris
    assert {e.occurred_at for e in reviews} == {datetime(2010, 6, 30, 22, 0, tzinfo=UTC)} and len(reviews) == 5


def test_the_timeline_marks_what_the_public_record_does_not_give(engine: Engine) -> None:
    report = replay(engine, load_scenario(CAMPAIGN, engine.workflow()))
    decisions = [m for m in report.timeline if m.kind == "decision"]
    assumed = {m.what for m in decisions if m.assumed}
    assert assumed == {"classify", "sign_contract", "start_reevaluation", "delabel"}  # dates, and the motifs
    ciadt = [m for m in decisions if m.what in ("renew", "delabel")]
    assert sum(len(m.entities) for m in ciadt) == 13
    assert all("motifs" in (m.assumed or "") for m in ciadt if m.what == "delabel")


def test_a_replay_can_stop_before_the_end(engine: Engine) -> None:
    until = datetime(2009, 12, 31, 22, 0, tzinfo=UTC)  # an hour before the label term
    report = replay(engine, load_scenario(CAMPAIGN, engine.workflow()), until=until)
    assert report.counts["reevaluation"] == 13 and report.counts["awaiting_decision"] == 0
    assert report.next_deadline == datetime(2009, 12, 31, 23, 0, tzinfo=UTC)


def test_the_synthetic_cohort_has_the_seed_split(engine: Engine) -> None:
    report = replay(engine, load_scenario(CAMPAIGN, engine.workflow()), synthetic=(39, 19, 13))
    counts = {state: n for state, n in report.counts.items() if n}
    assert counts == {"contract": 39, "review": 19, "renewed": 7, "delabeled": 6}
    classified = [e.dest for e in events_of(engine, "classify")]
    assert (classified.count("group_1"), classified.count("group_2"), classified.count("group_3")) == (39, 19, 13)
    assert report.synthetic and report.skipped_steps  # the steps naming real poles are said to be left out


def test_a_replay_refuses_a_database_that_holds_instances_and_reset_erases_only_a_replays(poles: Engine) -> None:
    scenario = load_scenario(CAMPAIGN, poles.workflow())
    with pytest.raises(DatabaseNotEmpty, match=r"already holds 71 instance.*not created by a replay"):
        replay(poles, scenario)
    with pytest.raises(ResetRefused, match="were not created by a replay"):
        replay(poles, scenario, reset=True)
    assert replay_mark(poles) is None and poles.workflow() and count(poles) == 71  # nothing erased


def count(engine: Engine) -> int:
    with engine.db.read() as conn:
        return reads.count_instances(conn)


def test_a_replays_database_is_marked_and_may_be_reset(engine: Engine) -> None:
    scenario = load_scenario(CAMPAIGN, engine.workflow())
    replay(engine, scenario)
    assert (replay_mark(engine) or "").startswith("complete: campaign-2008-2010")
    with pytest.raises(DatabaseNotEmpty, match="holds a complete replay: pass --reset"):
        replay(engine, scenario)
    assert replay(engine, scenario, reset=True).erased == 71


def test_an_interrupted_replay_leaves_its_database_marked_partial(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = load_scenario(CAMPAIGN, engine.workflow())
    calls = 0
    original = Engine.fire

    def interrupted(self: Engine, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 20:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "fire", interrupted)
    with pytest.raises(KeyboardInterrupt):
        replay(engine, scenario)
    assert (replay_mark(engine) or "").startswith("partial: campaign-2008-2010")
    monkeypatch.setattr(Engine, "fire", original)
    assert replay(engine, scenario, reset=True).counts["delabeled"] == 6


def test_replay_from_the_cli_prints_the_timeline_and_what_stays_unclassified(database_url: str) -> None:
    runner = CliRunner()
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    assert runner.invoke(main, [*base, "init"]).exit_code == 0
    result = runner.invoke(main, [*base, "replay"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2010-01-01 00:00  ⏱ timer  label_term: end_label_term → awaiting_decision ×13" in out
    assert "ASSUMED: " in out and "44 poles had no decision" in out
    assert "renewed                 7" in out and "delabeled               6" in out
    history = runner.invoke(main, [*base, "history", "enfant", "--json"])
    assert "CIADT du 11 mai 2010" in history.stdout
    verified = runner.invoke(main, [*base, "audit", "verify"])  # init created the audit key: a keyed replay
    assert verified.exit_code == 0 and "authenticity checked with the audit key" in verified.stdout
    again = runner.invoke(main, [*base, "replay"])
    assert again.exit_code == 2 and "pass --reset" in again.stderr
    synthetic = runner.invoke(main, [*base, "replay", "--reset", "--synthetic", "39,19,13"])
    assert synthetic.exit_code == 0 and "synthetic cohort" in synthetic.stdout
    bad = runner.invoke(main, [*base, "replay", "--reset", "--synthetic", "39,19"])
    assert bad.exit_code == 2 and "three whole numbers G1,G2,G3" in bad.stderr
    early = runner.invoke(main, [*base, "replay", "--reset", "--until", "2007-01-01"])
    assert early.exit_code == 2
    assert "--until 2007-01-01 00:00 is before the scenario's start, 2008-06-18 09:00 (Europe/Paris)" in early.stderr
    # A refused replay erases nothing, --reset or not
    assert len(json.loads(runner.invoke(main, [*base, "list", "--json"]).stdout)["items"]) == 71


def test_the_timeline_in_french_speaks_the_workflows_words_never_their_ids(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELWF_LOCALE", "fr")
    runner = CliRunner()
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    assert runner.invoke(main, [*base, "init"]).exit_code == 0
    out = runner.invoke(main, [*base, "replay"]).stdout
    assert "18/06/2008 09:00  import     71 dossier(s) importé(s) (poles_2008.csv)" in out
    assert "30/06/2008 00:00  décision   Classement → Groupe 3 ×13" in out
    assert "01/01/2010 00:00  échéance   « Terme du label » : Terme du label maintenu → Décision attendue ×13" in out
    moved = "échéances  « Fin du contrat de performance » reportée au 01/01/2013 00:00 : 14 dossier(s)"
    assert moved in out
    timeline = out.split("\n\n")[1]  # between the heading and the final counts
    for engine_word in ("classify", "group_3", "label_term", "end_label_term", "awaiting_decision", "contract_end"):
        assert engine_word not in timeline, engine_word
    # The ids stay in --json
    again = runner.invoke(main, [*base, "replay", "--reset", "--force", "--json"])
    assert any(m["what"] == "classify" for m in json.loads(again.stdout)["timeline"])


BROKEN = [
    ("trigger: renew\n", "trigger: renouveler\n", "unknown trigger 'renouveler'"),
    ("entities: [ipmf]", "entities: [ipmff]", "unknown entity 'ipmff'"),
    ('- at: "2009-04-15"', '- at: "2009-04-31"', "malformed date-time '2009-04-31'"),
    ('- at: "2009-07-06"', '- at: "2008-07-06"', "steps must be in date order"),
    (
        'where: {group_2008: "3"}\n    reason: Entretien',
        'where: {groupe: "3"}\n    reason: Entretien',
        "where uses unknown attribute 'groupe'",
    ),
    (
        'where: {group_2008: "3", outcome_2010: renewed}',
        'where: {group_2008: "3", outcome_2010: renouvele}',
        "this step selects no entity",
    ),
    (
        'set: {contract_start: "2009-01-01"}\n    reason: Contrat',
        'set: {contract_start: "2009-13-01"}\n    reason: Contrat',
        "data field 'contract_start' must be a date",
    ),
    ("workflow: poles-2008", "workflow: poles-2009", "scenario is for workflow 'poles-2009'"),
]


@pytest.mark.parametrize(("old", "new", "message"), BROKEN, ids=[b[2][:30] for b in BROKEN])
def test_a_broken_scenario_is_refused_whole_with_the_line(
    workflow: object, tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = CAMPAIGN.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "poles_2008.csv").write_bytes((ROOT / "data" / "poles_2008.csv").read_bytes())
    path = tmp_path / "scenarios" / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, workflow)  # type: ignore[arg-type]
    assert any(message in p.message and p.line for p in refused.value.problems), refused.value.problems


def test_the_cli_refuses_to_reset_an_operators_database_and_says_so(database_url: str) -> None:
    runner = CliRunner()
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    runner.invoke(main, [*base, "init"])
    runner.invoke(main, [*base, "import", str(ROOT / "data" / "poles_2008.csv")])
    refused = runner.invoke(main, [*base, "replay", "--reset"])
    assert refused.exit_code == EXIT_REFUSED and "were not created by a replay" in refused.stderr
    assert "71 dossier(s)" in runner.invoke(main, [*base, "list"]).stdout
