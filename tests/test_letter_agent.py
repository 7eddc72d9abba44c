"""« Affaire suivie par » : a decision's letters name the agent who took it, or the service's desk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, import_entities, load_settings
from labelwf.accounts import accounts, add_account, create_token, set_contact
from labelwf.audit.admin_chain import history
from labelwf.engine import queries
from labelwf.errors import AccountError
from labelwf.i18n import say
from labelwf.letters.agent import telephone_problem
from labelwf.service import create_app
from labelwf.store import Database
from labelwf.store.records import Letter
from tests.conftest import CONFIG_FILE, POLES_CSV
from tests.helpers import fire_timer

FIRE = "/api/v1/instances/enfant/transitions"


@pytest.fixture
def served(tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[TestClient, Runtime, str]]:
    runtime = Runtime(
        load_settings(CONFIG_FILE, overrides={"database": f"sqlite:///{tmp_path / 'labelwf.db'}"}), clock=clock
    )
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    add_account(
        runtime.db,
        "marie",
        ["operator"],
        now=clock.now(),
        author="tests",
        key=None,
        password="x" * 12,
        display_name="Marie Dupont",
        email="marie.dupont@finances.gouv.fr",
        telephone="01 44 87 17 17",
    )
    token = create_token(runtime.db, "marie", "tests", now=clock.now(), author="tests", key=None)[1]
    with TestClient(create_app(runtime)) as client:
        yield client, runtime, token
    runtime.close()


def _letters(db: Database) -> list[Letter]:
    listed = queries.list_letters(db, entity="enfant").items
    return [queries.get_letter(db, letter.id) for letter in sorted(listed, key=lambda letter: letter.id)]


def _followed(letter: Letter) -> list[str]:
    """The lines of a letter's text from « Affaire suivie par » to its reference."""
    assert letter.text is not None
    lines = letter.text.replace("\u00a0", " ").replace("\u202f", " ").splitlines()  # French typography's spaces
    start = next(n for n, line in enumerate(lines) if line.startswith("Affaire suivie par"))
    end = next(n for n, line in enumerate(lines) if line.startswith("N/Réf."))
    return lines[start:end]


def test_an_operators_decision_letter_names_them_with_their_email_and_telephone(
    served: tuple[TestClient, Runtime, str],
) -> None:
    # Given Marie, signed in with her token, classifies a pole
    client, runtime, token = served
    headers = {"Authorization": f"Bearer {token}", "If-Match": '"0"'}
    body = {"trigger": "classify", "reason": "comité", "fields": {"group": 3}, "on_behalf_of": "DGCIS"}
    answer = client.post(FIRE, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    # Then every letter of it names her, not the actor she acted for, nor the desk alone
    letters = _letters(runtime.db)
    assert letters
    for letter in letters:
        followed = _followed(letter)
        assert followed[0].startswith("Affaire suivie par : Marie Dupont, "), followed
        assert followed[1:] == ["Tél. : 01 44 87 17 17", "Courriel : marie.dupont@finances.gouv.fr"]
        html = (letter.html or "").replace("\u00a0", " ")
        assert "Affaire suivie par : Marie Dupont, " in html and "Tél. : 01 44 87 17 17<br>" in html


def test_a_later_change_of_the_agents_telephone_leaves_their_written_letters_as_they_were(
    served: tuple[TestClient, Runtime, str], clock: FrozenClock
) -> None:
    client, runtime, token = served
    headers = {"Authorization": f"Bearer {token}", "If-Match": '"0"'}
    answer = client.post(FIRE, json={"trigger": "classify", "reason": "r", "fields": {"group": 3}}, headers=headers)
    assert answer.status_code == 201, answer.text
    before = [(letter.id, letter.text, letter.html, letter.checksum) for letter in _letters(runtime.db)]
    # When her telephone changes afterwards
    changed = set_contact(runtime.db, "marie", telephone="03 20 00 00 00", now=clock.now(), author="tests", key=None)
    assert changed.telephone == "03 20 00 00 00"
    # Then the letters already written say what they said (frozen at the fire)
    assert [(letter.id, letter.text, letter.html, letter.checksum) for letter in _letters(runtime.db)] == before
    assert all("01 44 87 17 17" in (text or "") for _, text, _, _ in before)


def test_a_daemons_decision_letter_names_the_services_desk_and_no_agent(
    served: tuple[TestClient, Runtime, str],
) -> None:
    client, runtime, token = served
    headers = {"Authorization": f"Bearer {token}", "If-Match": '"0"'}
    answer = client.post(FIRE, json={"trigger": "classify", "reason": "r", "fields": {"group": 3}}, headers=headers)
    assert answer.status_code == 201, answer.text
    seen = {letter.id for letter in _letters(runtime.db)}
    # When the daemon fires the label term's deadline
    assert fire_timer(runtime.engine, "enfant", "end_label_term") is not None
    fired = [letter for letter in _letters(runtime.db) if letter.id not in seen]
    assert fired
    for letter in fired:
        followed = _followed(letter)
        assert len(followed) == 1 and followed[0].startswith("Affaire suivie par : "), followed
        assert "Marie" not in followed[0] and "Tél." not in (letter.text or "")


def test_a_command_line_decision_names_the_desk(served: tuple[TestClient, Runtime, str]) -> None:
    _, runtime, _ = served
    runtime.engine.fire("enfant", "classify", data={"group": 3}, actor="DGCIS", reason="comité")
    for letter in _letters(runtime.db):
        assert len(_followed(letter)) == 1 and "Marie" not in (letter.text or "")


@pytest.mark.parametrize("number", ["01 44 87 17 17", "+33 1 44 87 17 17", "01.44.87.17.17", "0144871717"])
def test_a_telephone_written_the_usual_ways_is_taken(number: str) -> None:
    assert telephone_problem(number) is None


@pytest.mark.parametrize("number", ["", "abc", "01 44 87 17 17 poste 12", "12", "++33 1", "0" * 16, "01  44"])
def test_a_telephone_that_is_no_number_is_refused(number: str) -> None:
    assert telephone_problem(number) is not None


def test_an_account_with_a_bad_telephone_is_refused_saying_the_value_and_what_is_right(
    served: tuple[TestClient, Runtime, str], clock: FrozenClock
) -> None:
    _, runtime, _ = served
    with pytest.raises(AccountError) as refused:
        set_contact(runtime.db, "marie", telephone="poste 12", now=clock.now(), author="tests", key=None)
    assert (refused.value.field, refused.value.value) == ("telephone", "poste 12")
    french = say(refused.value, "fr")
    assert "« poste 12 »" in french and "01 44 87 17 17" in french and "telephone number" not in french
    assert [a.telephone for a in accounts(runtime.db)] == ["01 44 87 17 17"]  # nothing changed


def test_a_contact_change_is_an_act_of_the_admin_chain_with_the_values_before_and_after(
    served: tuple[TestClient, Runtime, str], clock: FrozenClock
) -> None:
    _, runtime, _ = served
    new = "m.dupont@finances.gouv.fr"
    set_contact(runtime.db, "marie", telephone="", email=new, now=clock.now(), author="tests", key=None)
    act = history(runtime.db, subject="marie")[-1]
    assert (act.action, act.subject) == ("account.contact", "marie")
    assert act.data["before"] == {"email": "marie.dupont@finances.gouv.fr", "telephone": "01 44 87 17 17"}
    assert act.data["after"] == {"email": "m.dupont@finances.gouv.fr", "telephone": None}


def test_users_contact_changes_the_telephone_and_refuses_a_bad_one_saying_what_is_right(
    served: tuple[TestClient, Runtime, str],
) -> None:
    from click.testing import CliRunner

    from labelwf.cli import main

    _, runtime, _ = served
    base = ["--config", str(CONFIG_FILE), "--db", runtime.settings.database]
    done = CliRunner().invoke(main, [*base, "users", "contact", "marie", "--telephone", "+33 1 44 87 17 17"])
    assert done.exit_code == 0, done.output
    assert "marie : Marie Dupont — marie.dupont@finances.gouv.fr — +33 1 44 87 17 17" in done.output
    refused = CliRunner().invoke(main, [*base, "users", "contact", "marie", "--telephone", "demain"])
    assert refused.exit_code == 2 and "demain" in refused.stderr and "01 44 87 17 17" in refused.stderr
    assert [a.telephone for a in accounts(runtime.db)] == ["+33 1 44 87 17 17"]
