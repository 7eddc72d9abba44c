"""The API against its own OpenAPI document (schemathesis): generated requests, valid and invalid,
over every operation of ``/api/v1/openapi.json``; no 5xx, and no answer the document does not
describe (its status, its content type, its body's schema, its headers).

One app over a seeded SQLite database (instances, history, letters); every operation fuzzed as an
admin, an operator and a stakeholder, and tried without a live token. The examples per operation
are bounded and derandomized, so that a CI run is quick and the same every time. Last, what
schemathesis does not generate (U+0000, lone surrogates, ids past 64 bits), on both databases.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import BaseSchema

from labelwf import FrozenClock, Runtime, Settings, import_entities, load_settings, load_workflow
from labelwf.accounts import add_account, create_token
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, POLES_CSV, START, WORKFLOW_FILE

OPENAPI = "/api/v1/openapi.json"
PROBLEM = "application/problem+json"
# Every request as one of these accounts: an admin may do anything, an operator fires but does not
# verify the audit trail, a stakeholder sees its own entity only.
ACCOUNTS = {"admin": (["admin"], None), "operator": (["operator"], None), "stakeholder": (["stakeholder"], "enfant")}
WORKFLOW = load_workflow(WORKFLOW_FILE)
CLASSIFIED = ["enfant", "mta"]  # by the fixture: their history has two events, and they have letters 1 to 6
# Half the generated values of these parameters are drawn from what the database holds, so that
# requests reach the instances, letters and transitions behind the 404s and the 412s.
KNOWN = {
    "entity": [*CLASSIFIED, "lyonbiopole", "aerospace-valley"],
    "letter": [1, 2, 3, 4, 5, 6],
    "etag": ['"0"', '"1"', '"2"'],
    "trigger": list(WORKFLOW.all_triggers),
    "state": list(WORKFLOW.states),
    "workflow": [WORKFLOW.name],
}
CONFIG = {
    "seed": 2008,
    "generation": {"deterministic": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
    # Every check but this one: a schema-valid request is refused here for what a schema cannot say
    # (a cursor this server did not write, an ETag that is not the instance's, a trigger not
    # allowed in the state), as a documented 400, 409, 412 or 428.
    # A schema-violating request may be refused as too large (413) before its body is parsed: a
    # document's lists bound their items, not the bytes, and the server reads at most 64 KiB.
    "checks": {
        "positive_data_acceptance": {"enabled": False},
        "negative_data_rejection": {
            "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "411", "413", "415", "422", "428"]
        },
    },
    "dictionaries": {name: {"values": values} for name, values in KNOWN.items()},
    "parameters": {
        key: {"dictionary": name, "probability": 0.5}
        for key, name in [
            ("path.entity", "entity"),
            ("query.entity", "entity"),
            ("path.letter_id", "letter"),
            ("header.if-match", "etag"),
            ("body.trigger", "trigger"),
            ("query.state", "state"),
            ("query.workflow", "workflow"),
            ("body.workflow", "workflow"),
        ]
    },
}


def _settings(folder: Path) -> Settings:
    database = f"sqlite:///{folder / 'labelwf.db'}"
    return load_settings(CONFIG_FILE, overrides={"database": database, "audit_key_file": folder / "audit.key"})


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    """The app over the 71 poles, two of them classified (history, letters), and a token per role."""
    clock = FrozenClock(START)
    runtime = Runtime(_settings(tmp_path_factory.mktemp("fuzz")), clock=clock)
    runtime.db.upgrade()
    runtime.create_audit_key()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    tokens = {}
    for name, (roles, entity) in ACCOUNTS.items():
        add_account(
            runtime.db,
            name,
            roles,
            now=clock.now(),
            author="tests",
            key=None,
            password="correct horse battery",
            entity=entity,
        )
        tokens[name] = create_token(runtime.db, name, "fuzz", now=clock.now(), author="tests", key=None)[1]
    app = create_app(runtime)
    client = TestClient(app)
    for entity in CLASSIFIED:
        fired = client.post(
            f"/api/v1/instances/{entity}/transitions",
            json={"trigger": "classify", "fields": {"group": 3}, "reason": "rapport d'évaluation 2008"},
            headers={"Authorization": f"Bearer {tokens['operator']}", "If-Match": '"0"'},
        )
        assert fired.status_code == 201, fired.text
    letters = client.get("/api/v1/letters", headers={"Authorization": f"Bearer {tokens['admin']}"}).json()["items"]
    assert sorted(letter["id"] for letter in letters) == KNOWN["letter"]
    yield app, tokens
    runtime.close()


def _schema() -> BaseSchema:
    """The document as the app serves it; its shape needs no data (an app over a database never opened)."""
    with tempfile.TemporaryDirectory() as folder:
        runtime = Runtime(_settings(Path(folder)), clock=FrozenClock(START))
        try:
            app = create_app(runtime)
            return schemathesis.openapi.from_asgi(OPENAPI, app, config=schemathesis.Config.from_dict(CONFIG))
        finally:
            runtime.close()


schema = _schema()


# Bounded and reproducible: a fixed number of examples per operation, the same ones every run.
BOUNDED = {"deadline": None, "derandomize": True, "database": None, "suppress_health_check": list(HealthCheck)}


@schema.parametrize()
@pytest.mark.parametrize("account", ACCOUNTS)
@settings(max_examples=60, **BOUNDED)
def test_every_operation_answers_as_its_document_says(
    case: schemathesis.Case, fuzzed: tuple[FastAPI, dict[str, str]], account: str
) -> None:
    app, tokens = fuzzed
    case.call_and_validate(headers={"Authorization": f"Bearer {tokens[account]}"}, app=app)


@schema.parametrize()
@pytest.mark.parametrize("token", ["", "lwf_forged"])
@settings(max_examples=5, **BOUNDED)
def test_a_request_without_a_live_token_is_the_documented_401(
    case: schemathesis.Case, fuzzed: tuple[FastAPI, dict[str, str]], token: str
) -> None:
    app, _ = fuzzed
    headers = {"Authorization": f"Bearer {token}"} if token else None
    response = case.call_and_validate(headers=headers, app=app)
    # 405: schemathesis tries methods a path lacks; 400 or 422: FastAPI reads a body before the token;
    # 413: a body over the server's 64 KiB is refused before anything else is read
    unread = case.method == "POST" and response.status_code in (400, 413, 422)
    assert response.status_code in (401, 405) or unread, response.text


# -- what schemathesis does not generate: texts no database holds, ids past a 64-bit column ------


@pytest.fixture
def api(database_url: str, clock: FrozenClock) -> Iterator[tuple[TestClient, str]]:
    runtime = Runtime(load_settings(CONFIG_FILE, overrides={"database": database_url}), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    add_account(
        runtime.db, "marie", ["operator"], now=clock.now(), author="tests", key=None, password="correct horse battery"
    )
    yield (
        TestClient(create_app(runtime)),
        create_token(runtime.db, "marie", "tests", now=clock.now(), author="tests", key=None)[1],
    )
    runtime.close()


FIRE = "/api/v1/instances/enfant/transitions"
ODD = [
    ("GET", "/api/v1/instances/a%00b", None, 422),  # PostgreSQL refuses U+0000 in a text: it was a 503
    ("GET", "/api/v1/instances/a%00b/history", None, 422),
    ("GET", "/api/v1/instances?workflow=a%00", None, 422),
    ("GET", "/api/v1/letters?entity=a%00", None, 422),
    ("GET", "/api/v1/audit/verify?entity=a%00", None, 422),
    ("GET", f"/api/v1/letters/{2**63}", None, 404),  # past a 64-bit id: it was a 500
    ("GET", f"/api/v1/letters/{2**63}/pdf", None, 404),
    ("GET", "/api/v1/timers?due_before=0.5", None, 422),  # seconds since 1970 are not RFC 3339: it was a 200
    ("POST", FIRE, '{"trigger": "classify", "reason": "r", "fields": {"group": 3}, "at": 0}', 422),
    ("POST", FIRE, '{"trigger": "classify", "reason": "r\\ud800"}', 422),  # a lone surrogate: it was a 500
    ("POST", FIRE, '{"trigger": "classify", "reason": "r", "fields": {"group\\ud800": 3}}', 422),
    ("POST", FIRE, '{"trigger": "classify\\ud800", "reason": "r"}', 422),
]


def test_what_no_database_can_hold_is_a_4xx_problem(api: tuple[TestClient, str]) -> None:
    client, token = api
    for method, path, body, status in ODD:
        headers = {"Authorization": f"Bearer {token}", "If-Match": '"0"', "Content-Type": "application/json"}
        answer = client.request(method, path, content=body, headers=headers)
        assert (answer.status_code, answer.headers["content-type"]) == (status, PROBLEM), (path, body, answer.text)
