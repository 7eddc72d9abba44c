"""One message catalogue: every error said in English (its msgid) or French (labelwf.po), by the
engine, the API's problem ``detail`` (Accept-Language, else the ``locale`` setting), the console and
the CLI's error line."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import BinaryIO

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from click.testing import CliRunner
from fastapi.testclient import TestClient

from labelwf import Runtime
from labelwf.accounts import create_token
from labelwf.cli import main
from labelwf.config import load_settings
from labelwf.errors import ConfigError, InvalidTransition, LabelwfError, MissingJustification, NotFound
from labelwf.i18n import LOCALE_DIR, available_locales, negotiate, say
from labelwf.service import create_app
from labelwf.service.console_errors import in_french
from labelwf.workflow.loader import load_workflows
from tests.conftest import CONFIG_FILE, ROOT
from tests.test_console_plans import runtime, sign_in  # noqa: F401 - the fixture, shared

PO = LOCALE_DIR / "fr" / "LC_MESSAGES" / "labelwf.po"
MO = PO.with_suffix(".mo")
PACKAGE = Path(__file__).resolve().parent.parent / "labelwf"


def _po() -> Catalog:
    with PO.open("rb") as file:
        return read_po(file)


def _mo(file: BinaryIO) -> dict[str, str]:
    return {m.id: m.string for m in read_mo(file) if isinstance(m.id, str) and m.id}


def test_the_french_catalogue_translates_every_message_and_nothing_is_fuzzy() -> None:
    catalogue = _po()
    untranslated = [m.id for m in catalogue if m.id and not m.string]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []
    assert not list(catalogue.check()), "a translation's placeholders are not its msgid's"


def test_every_message_marked_in_the_code_is_in_the_catalogue() -> None:
    marked = {msgid for _, msgid, *_ in extract_from_dir(PACKAGE, [("**.py", "python")]) if isinstance(msgid, str)}
    known = {m.id for m in _po() if m.id}
    assert marked - known == set(), "run pybabel extract and update (docs/configuration.md#languages)"


def test_the_shipped_mo_is_the_compilation_of_the_po() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _po())
    with MO.open("rb") as shipped:
        assert _mo(shipped) == _mo(io.BytesIO(compiled.getvalue())), "run pybabel compile -d labelwf/locale -D labelwf"


def test_an_error_is_english_by_str_and_french_by_say_with_the_workflows_labels() -> None:
    workflow = next(w for w in load_workflows(ROOT / "workflows", ROOT / "templates") if w.name == "poles-2008")
    error = InvalidTransition("enfant", "sign_contract", "evaluated", ["classify"])
    assert str(error) == "trigger 'sign_contract' is not allowed in state 'evaluated' of 'enfant'; allowed: classify"
    said = say(error, "fr", workflow)
    assert said.startswith(f"la décision « {workflow.trigger_label('sign_contract')} » n'est pas possible")
    assert "dans l'état « Évalué » du dossier « enfant »" in said
    assert say(error, "en", workflow) == str(error)  # English keeps the ids
    assert say(NotFound("instance", "\x1b[2Jvege"), "fr") == "rien ne correspond à « \\x1b[2Jvege »."


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE, en;q=0.5, fr;q=0.4", "en"),
        ("en;q=0, fr", "fr"),
        ("de", "fr"),
        ("*", "fr"),
        ("", "fr"),
        ("EN", "en"),
    ],
)
def test_accept_language_picks_a_spoken_locale_by_quality_else_the_setting(header: str, chosen: str) -> None:
    assert negotiate(header, "fr") == chosen


def test_the_api_detail_follows_accept_language_else_the_locale_setting(runtime: Runtime) -> None:  # noqa: F811
    client = TestClient(create_app(runtime))
    token = create_token(runtime.db, "marie", "tests", now=runtime.engine.clock.now(), author="tests", key=None)[1]
    client.headers["Authorization"] = f"Bearer {token}"
    english = client.get("/api/v1/instances/atlantis", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 404 and english.json()["detail"].startswith("no instance 'atlantis'")
    french = client.get("/api/v1/instances/atlantis", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"})
    assert french.json()["detail"].startswith("rien ne correspond à « atlantis »")
    assert (french.json()["type"], french.json()["key"]) == ("/problems/not-found", "atlantis")  # ids stay
    assert runtime.settings.locale == "en"  # the tests' setting: no header, its locale
    assert client.get("/api/v1/instances/atlantis").json()["detail"].startswith("no instance")
    settings = load_settings(CONFIG_FILE, overrides={"database": runtime.settings.database, "locale": "fr"})
    french_by_default = Runtime(settings)
    try:
        plain = TestClient(create_app(french_by_default), headers={"Authorization": f"Bearer {token}"})
        answer = plain.get("/api/v1/instances/atlantis", headers={"Accept-Language": "de"})  # not spoken: fr
        assert answer.json()["detail"].startswith("rien ne correspond à « atlantis »")
    finally:
        french_by_default.close()


def test_a_console_refusal_is_a_french_sentence_with_the_labels(runtime: Runtime) -> None:  # noqa: F811
    client, csrf = sign_in(runtime, "marie")
    version = re.search(r'name="version" value="(\d+)"', client.get("/console/instances/vegepolys").text)
    assert version is not None
    refused = client.post(
        "/console/instances/vegepolys/fire",
        data={"csrf": csrf, "trigger": "sign_contract", "reason": "essai", "version": version[1]},
        headers={"hx-request": "true"},  # in place, with its status (a plain post redirects to the page saying it)
    )
    text = html.unescape(refused.text)
    assert refused.status_code == 422, text[:500]
    assert "n'est pas possible dans l'état « Évalué » du dossier « vegepolys »" in text
    assert "is not allowed" not in text and "'evaluated'" not in text
    no_reason = in_french(MissingJustification("vegepolys", "classify", ["reason"]))
    assert no_reason.startswith("Un motif est obligatoire")


def _cli(url: str, locale: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["--config", str(CONFIG_FILE), "--db", url, *args], env={"LABELWF_LOCALE": locale}
    )
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_error_line_is_in_the_configured_locale_and_json_keeps_its_fields(runtime: Runtime) -> None:  # noqa: F811
    url = runtime.settings.database
    code, _, said = _cli(url, "fr", "fire", "enfant", "renew", "--actor", "a", "--reason", "r")
    assert code == 4 and said.startswith("error: la décision « ")
    assert "« Renouvellement du label » n'est pas possible dans l'état « " in said and "'renew'" not in said
    code, _, said = _cli(url, "en", "fire", "enfant", "renew", "--actor", "a", "--reason", "r")
    assert "error: trigger 'renew' is not allowed in state " in said
    code, out, _ = _cli(url, "fr", "show", "atlantis", "--json")
    error = json.loads(out)["error"]
    assert (error["type"], error["key"], error["kind"]) == ("NotFound", "atlantis", "instance")
    assert error["message"].startswith("rien ne correspond à « atlantis »")


def test_the_cli_s_own_lines_are_in_the_configured_locale_and_json_keeps_its_ids(runtime: Runtime) -> None:  # noqa: F811
    url = runtime.settings.database
    code, out, _ = _cli(url, "fr", "users", "roles", "paul", "--role", "supervisor", "--role", "viewer")
    assert code == 0 and out.startswith("le compte paul a désormais les rôles superviseur, lecteur ; ses sessions")
    code, token, said = _cli(url, "fr", "tokens", "create", "marie", "--label", "relance")
    number = re.search(r"^jeton (\d+) pour marie : affiché une seule fois, gardez-le secret", said)
    assert code == 0 and number is not None and token.strip() and "shown once" not in said
    code, out, _ = _cli(url, "fr", "tokens", "revoke", number[1])
    assert (code, out) == (0, f"jeton {number[1]} révoqué\n")
    code, out, _ = _cli(url, "fr", "workflows", "list")
    assert code == 0 and re.search(r"^poles-2008@1  .*\(.*poles-2008\.yaml, \d+ états\)$", out, re.M)
    code, out, _ = _cli(url, "fr", "workflows", "list", "--json")
    assert "poles-2008@1" in {w["key"] for w in json.loads(out)} and "états" not in out
    code, out, _ = _cli(url, "en", "users", "roles", "paul", "--role", "viewer")
    assert out.startswith("account paul now holds viewer; its console sessions ended")


def test_the_locale_setting_names_the_locales_labelwf_speaks() -> None:
    assert available_locales() == ("en", "fr")
    assert load_settings(CONFIG_FILE, env={"LABELWF_LOCALE": "en"}).locale == "en"
    with pytest.raises(ConfigError, match=re.escape("expected one of the locales labelwf speaks: en, fr")):
        load_settings(CONFIG_FILE, env={"LABELWF_LOCALE": "de"})


def test_every_error_class_says_something_in_french() -> None:
    kinds: list[type[LabelwfError]] = []
    stack: list[type[LabelwfError]] = [LabelwfError]
    while stack:
        kind = stack.pop()
        kinds.append(kind)
        stack.extend(kind.__subclasses__())
    assert len(kinds) > 30
    assert say(ConfigError("locale", "de", "en or fr"), "fr").startswith("réglage locale = « de » invalide")
