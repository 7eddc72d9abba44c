"""Recording an entity's new version as an operator: ``labelwf entities change`` and
``POST /api/v1/entities/{id}/versions`` (who may, the principal recorded, refusals in the
user's terms), each change one chain event that audit verify accepts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from labelwf import Engine, FrozenClock, Runtime, verify
from labelwf.cli import main
from labelwf.operations.contact_changes import contact_changes, parse_contact
from labelwf.operations.entity_versions import entity_as_of, entity_versions

from .conftest import ROOT
from .test_api import api, as_, runtime, tokens  # noqa: F401 (the API's fixtures)


def cli(database_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.yaml"), "--db", database_url, *args])
    return result.exit_code, result.output


def test_the_cli_records_a_rename_from_a_french_date_with_its_source(poles: Engine, database_url: str) -> None:
    code, out = cli(
        database_url,
        *("entities", "change", "mipi", "--set", "name=Materalia", "--from", "01/01/2012"),
        *("--reason", "Le pôle prend le nom de Materalia", "--source", "VIP-23"),
    )
    assert code == 0, out
    assert "Materalia" in out and "01/01/2012" in out
    assert entity_as_of(poles, "mipi", datetime(2011, 6, 1, tzinfo=UTC)).name == "MIPI"
    assert entity_as_of(poles, "mipi", datetime(2013, 6, 1, tzinfo=UTC)).name == "Materalia"
    newest = entity_versions(poles, "mipi")[-1]
    assert newest.basis == {"kind": "record", "source": "VIP-23"}
    assert verify(poles.db).ok


def test_the_cli_replaces_a_contact_of_its_role_and_answers_json(poles: Engine, database_url: str) -> None:
    code, out = cli(
        database_url,
        *("entities", "change", "mipi", "--contact", "role=president,name=Jeanne Martin,civility=Mme"),
        *("--from", "2015-03-01", "--reason", "Élection", "--assumed", "date de l'élection supposée", "--json"),
    )
    assert code == 0, out
    answer = json.loads(out)
    presidents = [c for c in answer["contacts"] if c["role"] == "president"]
    assert presidents == [{"role": "president", "name": "Jeanne Martin", "civility": "Mme"}]
    assert answer["valid_from"].startswith("2015-02-28T23:00")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--set", "name=Materalia", "--from", "31/02/2012"), "n'est pas une date lisible"),
        (("--set", "namMaterialia", "--from", "2012-01-01"), "n'est pas de la forme clé=valeur"),
        (("--contact", "role=president,nom=X", "--from", "2012-01-01"), "n'est pas une clé de contact"),
        (("--from", "2012-01-01"), "dites ce qui change"),
    ],
)
def test_the_cli_refuses_in_french_with_the_value(
    poles: Engine, database_url: str, args: tuple[str, ...], said: str
) -> None:
    code, out = cli(database_url, "entities", "change", "mipi", *args, "--reason", "r")
    assert code == 2 and said in out, out
    assert len(entity_versions(poles, "mipi")) == 1


def test_a_contact_replaces_the_one_of_its_role() -> None:
    assert parse_contact("role=president, name=A") == {"role": "president", "name": "A"}
    kept = contact_changes(
        [{"role": "president", "name": "B"}, {"role": "prefet", "name": "P"}], ["role=president,name=A"]
    )
    assert kept == [{"role": "prefet", "name": "P"}, {"role": "president", "name": "A"}]
    with pytest.raises(ValueError, match="n'a pas de nom"):
        contact_changes([], ["role=president"])


def test_the_api_records_a_version_as_the_authenticated_operator(
    runtime: Runtime,  # noqa: F811
    api: TestClient,  # noqa: F811
    tokens: dict[str, str],  # noqa: F811
    clock: FrozenClock,
) -> None:
    clock.set(datetime(2017, 1, 10, tzinfo=UTC))
    body = {
        "set": {"name": "Materalia"},
        "valid_from": "2012-01-01T00:00:00+01:00",
        "reason": "Le pôle prend le nom de Materalia",
        "source": "VIP-23",
    }
    url = "/api/v1/entities/mipi/versions"
    assert api.post(url, json=body, headers=as_(tokens["paul"])).status_code == 403  # a viewer
    assert (
        api.post("/api/v1/entities/enfant/versions", json=body, headers=as_(tokens["gouv-enfant"])).status_code == 403
    )
    made = api.post(url, json=body, headers=as_(tokens["marie"]))
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "Materalia" and made.json()["basis"] == {"kind": "record", "source": "VIP-23"}
    listed = api.get(url, headers=as_(tokens["paul"])).json()["versions"]
    assert [v["name"] for v in listed] == ["MIPI", "Materalia"]
    history = api.get("/api/v1/instances/mipi/history", headers=as_(tokens["paul"])).json()["items"]
    assert "marie" in history[-1]["principal"] and history[-1]["trigger"] == "(entity changed)"
    again = api.post(url, json=body, headers=as_(tokens["marie"]))  # not after the newest version
    assert again.status_code == 422 and "application/problem+json" in again.headers["content-type"]
    assert "not after the newest version" in again.json()["detail"]
    empty = api.post(url, json={**body, "set": {}}, headers=as_(tokens["marie"]))
    assert empty.status_code == 422
    assert "/api/v1/entities/{entity}/versions" in api.get("/api/v1/openapi.json").json()["paths"]
    assert verify(runtime.db).ok
