"""The fire route as FastAPI declares it: its document, its refusals in order, its prompt commit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, import_entities, load_settings
from labelwf.accounts import add_account, create_token
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, POLES_CSV

FIRE = "/api/v1/instances/enfant/transitions"


@pytest.fixture
def served(tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[TestClient, Runtime, str]]:
    runtime = Runtime(
        load_settings(CONFIG_FILE, overrides={"database": f"sqlite:///{tmp_path / 'labelwf.db'}"}), clock=clock
    )
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    add_account(runtime.db, "marie", ["operator"], now=clock.now(), author="tests", key=None, password="x" * 12)
    token = create_token(runtime.db, "marie", "tests", now=clock.now(), author="tests", key=None)[1]
    with TestClient(create_app(runtime)) as client:
        yield client, runtime, token
    runtime.close()


def _operation(client: TestClient) -> dict[str, Any]:
    document = client.get("/api/v1/openapi.json").json()
    operation: dict[str, Any] = document["paths"]["/api/v1/instances/{entity}/transitions"]["post"]
    return operation


def test_the_fire_route_documents_its_path_headers_body_and_every_status_it_answers(
    served: tuple[TestClient, Runtime, str],
) -> None:
    operation = _operation(served[0])
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [
        ("entity", "path", True),
        ("if-match", "header", False),
        ("idempotency-key", "header", False),
    ]
    key = operation["parameters"][2]["schema"]["anyOf"][0]
    assert key == {"type": "string", "maxLength": 200}
    assert operation["requestBody"]["required"] is True
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Transition"
    }
    statuses = {"201", "400", "401", "403", "404", "408", "409", "411", "412", "413", "415", "422", "428", "429"}
    assert statuses | {"503"} <= set(operation["responses"])


def test_a_fire_without_a_token_is_refused_before_its_headers_or_fields_are_judged(
    served: tuple[TestClient, Runtime, str],
) -> None:
    client = served[0]
    answer = client.post(FIRE, json={"trigger": ""}, headers={"Idempotency-Key": "k" * 201})
    assert answer.status_code == 401, answer.text


def test_a_fire_refuses_its_headers_then_its_fields_in_one_problem(served: tuple[TestClient, Runtime, str]) -> None:
    client, _, token = served
    headers = {"Authorization": f"Bearer {token}", "If-Match": '"0"', "Idempotency-Key": "k" * 201}
    answer = client.post(FIRE, json={"trigger": "", "reason": "r", "extra": 1}, headers=headers)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["header.idempotency-key", "trigger", "extra"]


def test_a_fire_on_sqlite_commits_promptly_when_nobody_holds_the_lock(
    served: tuple[TestClient, Runtime, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, runtime, token = served
    prompt = runtime.db.write_now
    taken: list[bool] = []

    def counted() -> Any:
        taken.append(True)
        return prompt()

    monkeypatch.setattr(runtime.db, "write_now", counted)
    headers = {"Authorization": f"Bearer {token}", "If-Match": '"0"'}
    answer = client.post(FIRE, json={"trigger": "classify", "reason": "r", "fields": {"group": 3}}, headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.headers["ETag"] == '"1"' and taken == [True]
