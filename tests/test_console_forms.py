"""The console's forms and errors in French: no account disables itself, a required choice starts
empty, a date reads as JJ/MM/AAAA, and every error under /console is a page of the console (the API
keeps its problems)."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from labelwf import Runtime, accounts
from labelwf.errors import AccountError, InvalidTransition, NotFound, RoleNotAllowed
from labelwf.service.console_dates import parse_when
from labelwf.service.console_errors import in_french
from tests.helpers import refused_form
from tests.test_console_plans import PASSWORD, runtime, sign_in  # noqa: F401 - the fixture, shared

PARIS = ZoneInfo("Europe/Paris")


def test_an_admin_cannot_disable_its_own_account_from_the_console(runtime: Runtime) -> None:  # noqa: F811
    # Given two admins, so root is not the last one
    now = runtime.engine.clock.now()
    for name in ("root", "claire"):
        accounts.add_account(runtime.db, name, ["admin"], now=now, author="tests", key=None, password=PASSWORD)
    client, csrf = sign_in(runtime, "root")
    # When root disables itself
    asked = client.post("/console/admin/disable", data={"csrf": csrf, "name": "root"})
    # Then it is refused in French, before and after the confirmation, and root still works
    assert asked.status_code == 303 and asked.headers["location"] == "/console/admin/disable?name=root"
    refused = client.get(asked.headers["location"])
    # (the confirmation's page with its status; a forged confirmation back to the accounts, saying why)
    confirmed = client.post("/console/admin/disable", data={"csrf": csrf, "name": "root", "confirm": "oui"})
    for answer in (refused, refused_form(client, confirmed, "/console/admin")):
        assert answer.status_code == (409 if answer is refused else 200)
        assert "Vous ne pouvez pas désactiver votre propre compte" in html.unescape(answer.text)
    assert "Confirmer" not in refused.text
    assert not next(a for a in accounts.accounts(runtime.db) if a.name == "root").disabled
    assert client.get("/console/admin").status_code == 200


def test_the_library_refuses_a_self_disable_whoever_asks(runtime: Runtime) -> None:  # noqa: F811
    with pytest.raises(AccountError, match="another account than your own"):
        accounts.set_disabled(
            runtime.db, "marie", True, now=runtime.engine.clock.now(), author="marie", key=None, by="marie"
        )


def test_a_missing_console_page_is_a_french_page_and_the_api_keeps_its_problem(runtime: Runtime) -> None:  # noqa: F811
    client, _ = sign_in(runtime, "marie")
    for path in ("/console/nothing-here", "/console/instances/no-such-pole"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html"), path
        assert "Page introuvable" in html.unescape(answer.text) and '"detail"' not in answer.text
        assert 'href="/console/failures"' in answer.text  # in the console's layout, with its menu
    api = client.get("/api/v1/nothing-here")
    assert api.headers["content-type"].startswith("application/problem+json")


def test_a_required_choice_starts_empty(runtime: Runtime) -> None:  # noqa: F811
    client, _ = sign_in(runtime, "marie")
    page = client.get("/console/instances/mta").text
    if "<select" in page:
        assert '<option value="">— choisir —</option>' in page


def test_a_console_date_reads_as_jj_mm_aaaa_or_iso_in_the_zone() -> None:
    midnight = datetime(2013, 1, 1, tzinfo=PARIS)
    for typed in ("01/01/2013", "01/01/2013 00:00", "2013-01-01", "2013-01-01T00:00", " 01/01/2013  00:00 "):
        assert parse_when(typed, PARIS) == midnight, typed
    with pytest.raises(ValueError, match="« 31/02/2013 » n'est pas une date lisible : attendu JJ/MM/AAAA"):
        parse_when("31/02/2013", PARIS)


def test_engine_refusals_read_as_french_sentences_with_the_value_and_what_is_right() -> None:
    assert in_french(InvalidTransition("vegepolys", "classify", "labelled", ["end_contract"])) == (
        "La décision « classify » n'est pas possible dans l'état « labelled » du dossier « vegepolys » ; "
        "décisions possibles : « end_contract »."
    )
    said = in_french(RoleNotAllowed("vegepolys", "end_contract", "operator", ["system"]))
    assert said == (
        "La décision « end_contract » est réservée au rôle système (échéances automatiques) ; vous agissez comme agent."
    )
    assert in_french(NotFound("instance", "vege")) == "Rien ne correspond à « vege »."
