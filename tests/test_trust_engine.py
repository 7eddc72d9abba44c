"""The engine's side of trust, second step: each fault a hostile reader reproduced, as a regression test.

Timers that loop, ``replay --reset`` over others' acts, invisible and look-alike characters, the
database file's mode, a URL's password in an error, and workflow files that made ``validate``
crash (a huge power in a template, a condition nested 100,000 deep).
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from labelwf import Database, Engine, EntityRow, InvalidData, WorkflowError, add_entities, load_workflow
from labelwf.audit.key import create_key
from labelwf.cli import main
from labelwf.cli.base import EXIT_BAD_INPUT
from labelwf.errors import ConfigError, ReservedIdentity
from labelwf.text import looks_like, shown, text_problem
from labelwf.workflow.conditions import MAX_DEPTH, ConditionSyntaxError, compile_condition
from tests.conftest import CONFIG_FILE, ROOT
from tests.helpers import edit

# -- timers that loop ---------------------------------------------------------------------------

LOOP = """
workflow: loops
version: 1
timezone: Europe/Paris
initial: open
states:
  open:
    timers:
      - {name: again, after: {seconds: 0.001}, trigger: tick}
  done: {final: true}
transitions:
  - {trigger: tick, source: open, dest: open, roles: [system]}
  - {trigger: close, source: open, dest: done}
"""

PING_PONG = """
workflow: ping-pong
version: 1
timezone: Europe/Paris
initial: ping
states:
  ping:
    timers:
      - {name: to_pong, after: {hours: 6}, trigger: pong}
  pong:
    timers:
      - {name: to_ping, at: "2010-01-01T00:00", trigger: ping}
  done: {final: true}
transitions:
  - {trigger: pong, source: ping, dest: pong, roles: [system]}
  - {trigger: ping, source: pong, dest: ping, roles: [system]}
  - {trigger: close, source: [ping, pong], dest: done}
"""


def _workflow_file(tmp_path: Path, text: str, name: str = "loops.yaml") -> Path:
    path = tmp_path / "workflows" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_timer_that_reenters_its_state_every_millisecond_is_refused_by_validate_with_the_floor(
    tmp_path: Path,
) -> None:
    # Given a state whose timer of 0.001 s leads back to it (2,000 events in 5 s once entered)
    path = _workflow_file(tmp_path, LOOP)
    # When the file is validated
    result = CliRunner().invoke(main, ["workflows", "validate", str(path)])
    # Then it is refused, naming the file and line, the timer, its delay and the floor
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{path}:9: timers would fire in a loop every 0.001 s: open (timer again, after 0.001 s) → open" in (
        result.stderr
    )
    assert "must wait at least 1 day per turn" in result.stderr and "Traceback" not in result.output


def test_a_cycle_of_timers_waits_the_sum_of_its_delays_and_a_fixed_instant_counts_for_nothing(
    tmp_path: Path,
) -> None:
    # A fixed instant is past when the state is entered again: the cycle waits 6 hours per turn.
    path = _workflow_file(tmp_path, PING_PONG, "ping-pong.yaml")
    with pytest.raises(WorkflowError, match=r"every 6:00:00: ping \(timer to_pong, after 6:00:00\) → pong"):
        load_workflow(path)
    path.write_text(PING_PONG.replace("{hours: 6}", "{days: 1}"), encoding="utf-8")
    assert load_workflow(path).name == "ping-pong"


def test_a_timer_that_does_not_lead_back_may_be_short_and_every_shipped_workflow_still_loads(
    tmp_path: Path,
) -> None:
    # A short timer that leads elsewhere fires once per entry (someone's act): no floor.
    path = _workflow_file(tmp_path, LOOP.replace("dest: open, roles", "dest: done, roles"))
    assert load_workflow(path).name == "loops"
    for file in [*(ROOT / "workflows").glob("*.yaml"), *(ROOT / "programme" / "workflows").glob("*.yaml")]:
        assert load_workflow(file, ROOT / "templates").name
    assert load_workflow(ROOT / "benchmarks" / "pole-lifecycle.yaml", ROOT / "templates").name


@pytest.mark.parametrize(
    ("after", "message"),
    [
        ("{days: 400000}", "days 400,000 is longer than a thousand years; at most 365,000 days"),
        ("{seconds: .nan}", "seconds must be a number >= 0, got nan"),
    ],
)
def test_a_timer_delay_of_a_thousand_years_or_not_a_number_is_refused(tmp_path: Path, after: str, message: str) -> None:
    path = _workflow_file(
        tmp_path, LOOP.replace("dest: open, roles", "dest: done, roles").replace("{seconds: 0.001}", after)
    )
    with pytest.raises(WorkflowError, match=message):
        load_workflow(path)


# -- replay --reset over others' acts ---------------------------------------------------------------


def test_replay_reset_is_refused_once_an_operator_fired_and_force_says_what_it_erases(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--config", str(CONFIG_FILE), "--db", f"sqlite:///{tmp_path / 'replayed.db'}"]
    assert runner.invoke(main, [*base, "init"]).exit_code == 0
    assert runner.invoke(main, [*base, "replay", "--reset"]).exit_code == 0
    # A replay's own database is reset freely
    assert runner.invoke(main, [*base, "replay", "--reset"]).exit_code == 0
    # Given an operator's act on the replayed database
    fired = runner.invoke(
        main,
        [*base, "fire", "advancity", "classify", "--set", "group=1", "--actor", "marie", "--reason", "dossier reçu"],
    )
    assert fired.exit_code == 0, fired.output
    # When the replay is asked to reset it, it refuses with exit 2, saying who acted, how much, and how to go on
    refused = runner.invoke(main, [*base, "replay", "--reset"])
    assert refused.exit_code == EXIT_BAD_INPUT, refused.output
    assert "besides the replay, 1 event(s) or plan(s) were recorded by others" in refused.stderr
    assert "replay into another database (--db another.db)" in refused.stderr
    assert "pass --reset --force, which deletes 71 entity(s), 71 instance(s)" in refused.stderr
    history = runner.invoke(main, [*base, "history", "advancity", "--json"]).stdout
    assert "dossier reçu" in history  # nothing was erased
    # --force alone is a usage error; --reset --force erases it all
    assert runner.invoke(main, [*base, "replay", "--force"]).exit_code == EXIT_BAD_INPUT
    forced = runner.invoke(main, [*base, "replay", "--reset", "--force"])
    assert forced.exit_code == 0 and "erased 71 instance(s)" in forced.stderr
    assert "dossier reçu" not in runner.invoke(main, [*base, "history", "advancity", "--json"]).stdout


# -- the text policy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "named"),
    [
        ("labelwf\u200b-daemon", "invisible character U+200B (ZERO WIDTH SPACE) at position 7"),
        ("\ufeffmarie", "invisible character U+FEFF (ZERO WIDTH NO-BREAK SPACE) at position 0"),
        ("marie\u2028dupont", "line separator U+2028 (LINE SEPARATOR) at position 5"),
        ("marie\U000e0041", "invisible character U+E0041 (TAG LATIN CAPITAL LETTER A) at position 5"),
        ("l\u0430belwf-daemon", "U+0430 (CYRILLIC SMALL LETTER A) at position 1 is Cyrillic"),
    ],
)
def test_an_actor_with_an_invisible_separator_tag_or_look_alike_character_is_refused_naming_it(
    poles: Engine, actor: str, named: str
) -> None:
    with pytest.raises(InvalidData, match=named.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        poles.fire("enfant", "classify", data={"group": 3}, actor=actor, reason="r")


@pytest.mark.parametrize(
    "actor", ["LABELWF-DAEMON", "1abelwf-daem0n", "ｌａｂｅｌｗｆ－ｄａｅｍｏｎ", "labelwf-daernon"]
)
def test_the_daemons_name_written_with_look_alikes_is_reserved(poles: Engine, actor: str) -> None:
    with pytest.raises(ReservedIdentity):
        poles.fire("enfant", "classify", data={"group": 3}, actor=actor, reason="r")
    assert looks_like(actor, "labelwf-daemon") and not looks_like("labelwf daemon team", "labelwf-daemon")


def test_an_entity_name_with_a_line_separator_is_refused_at_import(db: Database) -> None:
    engine = Engine(db, load_workflow(ROOT / "workflows" / "poles-2008.yaml"))
    with pytest.raises(Exception, match=r"U\+2028"):
        add_entities(engine, [EntityRow(1, "sep", "Pôle\u2028Nord", {})], actor="import", reason="t")


def test_ordinary_names_in_several_alphabets_pass_and_invisible_characters_are_shown_escaped() -> None:
    for value in ("Pôle Véhicule du Futur", "Jean Иванов", "β-carotène", "Ἀθῆναι", "café ☕\ufe0f"):
        assert text_problem(value, "name", max_length=200) is None, value
    assert text_problem("ligne 1\nligne 2", "reason", max_length=200, multiline=True) is None
    assert "U+2029" in (text_problem("a\u2029b", "reason", max_length=200, multiline=True) or "")
    assert shown("a\u200bb\u2028c") == "a\\u200bb\\u2028c"


# -- files and secrets -----------------------------------------------------------------------------


def test_a_new_database_file_and_its_wal_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    db.upgrade()
    db.dispose()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("new.db")]
    assert {p.name for p in files} >= {"new.db"}
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_an_existing_database_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    path.touch()
    path.chmod(0o640)
    Database(f"sqlite:///{path}").upgrade()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_the_audit_key_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    assert create_key(tmp_path / "keys" / "audit.key")
    assert stat.S_IMODE((tmp_path / "keys" / "audit.key").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "url", ["mysql://u:secret@h/db", "postgresql://u:secret@h:notaport/db", "postgresql://u:secret@[::1/db"]
)
def test_an_unsupported_or_malformed_database_url_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Database(url)
    assert "secret" not in str(refused.value) and "secret" not in repr(refused.value.value)
    result = CliRunner().invoke(main, ["--config", str(CONFIG_FILE), "--db", url, "list"])
    assert result.exit_code == EXIT_BAD_INPUT and "secret" not in result.output and "Traceback" not in result.output


# -- validate stays bounded -----------------------------------------------------------------------


def _validate(programme: Path) -> str:
    result = CliRunner().invoke(main, ["workflows", "validate", str(programme / "workflows" / "poles-2008.yaml")])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    return result.stderr


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("2 ** 10000000", "2 ** 10000000 would be a number of about 20,000,000 bits: a template may compute at most"),
        ("(2 ** 100) ** 100000", "** 100000 would be a number of about 10,100,000 bits"),
        ("(2 ** 4000) * (2 ** 4000) * (2 ** 4000)", "a template may compute"),
    ],
)
def test_a_huge_power_in_a_subject_or_a_template_is_refused_by_validate_without_a_traceback(
    programme: Path, expression: str, message: str
) -> None:
    workflow = programme / "workflows" / "poles-2008.yaml"
    edit(workflow, 'subject: "{{ entity.name', 'subject: "{{ ' + expression + " }}{{ entity.name")
    assert message in _validate(programme)
    shutil.copy(ROOT / "workflows" / "poles-2008.yaml", workflow)
    edit(
        programme / "templates" / "poles-2008" / "labellisation.j2",
        "{% block corps %}",
        "{% block corps %}{{ " + expression + " }}",
    )
    assert message in _validate(programme)


def test_a_template_nested_a_hundred_thousand_deep_is_refused_by_validate_with_the_limit(programme: Path) -> None:
    template = programme / "templates" / "poles-2008" / "labellisation.j2"
    edit(template, "{% block corps %}", "{% block corps %}{{ " + "not " * 100_000 + "1 }}")
    assert "the template nests too deeply to be read (at most 64 levels)" in _validate(programme)
    edit(template, "{{ " + "not " * 100_000 + "1 }}", "{{ " + "[" * 70 + "]" * 70 + " }}")
    assert "the template nests more than 64 levels deep (line 3)" in _validate(programme)


def test_a_condition_of_a_hundred_thousand_nots_is_refused_by_validate_with_the_limit(programme: Path) -> None:
    workflow = programme / "workflows" / "poles-2008.yaml"
    text = workflow.read_text(encoding="utf-8")
    when = 'when: "data.group == 1"'
    assert when in text
    workflow.write_text(text.replace(when, 'when: "' + "not " * 100_000 + 'data.group == 1"', 1), encoding="utf-8")
    stderr = _validate(programme)
    assert "is 400,015 characters long; at most 2,000 are allowed" in stderr
    workflow.write_text(text.replace(when, 'when: "' + "not " * 100 + 'data.group == 1"', 1), encoding="utf-8")
    assert f"is nested more than {MAX_DEPTH} levels deep" in _validate(programme)


def test_conditions_within_the_limits_still_compile_and_a_parser_overflow_is_a_clear_error() -> None:
    assert compile_condition("not not (data.group == 1 or data.group in [2, 3])")({"group": 2})
    with pytest.raises(ConditionSyntaxError, match="nested more than"):
        compile_condition("not (" * 40 + "data.group" + ")" * 40)
    with pytest.raises(ConditionSyntaxError, match="too many nested parentheses"):
        compile_condition("(" * 500 + "data.group" + ")" * 500)


def test_the_workflow_loader_turns_a_recursion_anywhere_into_a_clear_error(
    programme: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labelwf.workflow.loader as loader

    def deep(*args: object, **kwargs: object) -> None:
        raise RecursionError

    monkeypatch.setattr(loader.parts, "letterhead", deep)
    with pytest.raises(WorkflowError, match="nested too deeply to be read"):
        load_workflow(programme / "workflows" / "poles-2008.yaml")
