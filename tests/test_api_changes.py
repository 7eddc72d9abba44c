"""A migration planned by name, a cessation and a merger over the REST API, on SQLite and PostgreSQL:
supervisors only, the acting user the authenticated account, every refusal as problem+json."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, import_entities, load_settings
from labelwf.accounts import add_account, create_token
from labelwf.engine import queries
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, POLES_CSV, ROOT
from tests.test_api_batches import as_, events, is_problem

PROGRAMME = {
    "workflows": [ROOT / "workflows", ROOT / "programme" / "workflows"],
    "migrations": ROOT / "programme" / "migrations",
}


@pytest.fixture
def runtime(database_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    """The 71 poles on version 1, classified by the 2012 evaluation; then served with version 2 loaded."""
    first = Runtime(load_settings(CONFIG_FILE, overrides={"database": database_url}), clock=clock)
    first.db.upgrade()
    import_entities(first.engine, POLES_CSV, actor="import", reason="set-up")
    for entity in ("enfant", "mta", "pass"):
        first.engine.fire(entity, "classify_2012", data={"class_2012": "performant"}, actor="a", reason="2012")
    first.close()
    settings = load_settings(CONFIG_FILE, overrides={"database": database_url})
    runtime = Runtime(settings.__class__(**{**settings.__dict__, **PROGRAMME}), clock=clock)
    yield runtime
    runtime.close()


@pytest.fixture
def tokens(runtime: Runtime, clock: FrozenClock) -> dict[str, str]:
    made = {}
    for name, roles in (("marie", ["operator"]), ("sophie", ["supervisor"])):
        add_account(
            runtime.db, name, roles, now=clock.now(), author="tests", key=None, password="correct horse battery"
        )
        made[name] = create_token(runtime.db, name, "tests", now=clock.now(), author="tests", key=None)[1]
    return made


@pytest.fixture
def api(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def test_a_migration_is_planned_by_name_and_runs_as_previewed(
    api: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    body = {"kind": "migration", "migration": "phase-3", "reason": "Phase 3 (2013-2018)"}
    planned = api.post("/api/v1/batches", json=body, headers=as_(tokens["sophie"]))
    assert planned.status_code == 201, planned.text
    items = {i["entity"]: i for i in planned.json()["items"]}
    assert items["enfant"]["status"] == "pending" and items["enfant"]["preview"]["dest"] == "phase_3"
    assert items["aerospace-valley"]["status"] == "refused"  # still 'evaluated': a state the file does not map
    assert "not mapped" in items["aerospace-valley"]["preview"]["refused"]
    run = api.post(f"/api/v1/batches/{planned.json()['id']}/execution", headers=as_(tokens["sophie"]))
    assert run.status_code == 200 and run.json()["run"]["done"] == 3
    migrated = queries.describe(runtime.engine, "enfant", "poles-2008")
    assert (migrated.instance.key, migrated.instance.state) == ("poles-2008@2", "phase_3")
    assert events(runtime, "enfant")[-1]["principal"].startswith("sophie")


def test_a_migration_the_folder_does_not_hold_or_a_path_is_refused(api: TestClient, tokens: dict[str, str]) -> None:
    unknown = {"kind": "migration", "migration": "phase-9", "reason": "r"}
    body = is_problem(api.post("/api/v1/batches", json=unknown, headers=as_(tokens["sophie"])), 404, "not-found")
    assert "phase-3" in body["detail"]
    escape = {"kind": "migration", "migration": "../../workflows/poles-2008", "reason": "r"}
    is_problem(api.post("/api/v1/batches", json=escape, headers=as_(tokens["sophie"])), 422, "invalid-request")
    operator = {"kind": "migration", "migration": "phase-3", "reason": "r"}
    is_problem(api.post("/api/v1/batches", json=operator, headers=as_(tokens["marie"])), 403, "forbidden")


def test_a_cessation_and_a_merger_over_the_api(api: TestClient, tokens: dict[str, str], runtime: Runtime) -> None:
    ceased = api.post(
        "/api/v1/entities/aerospace-valley/cessation",
        json={"reason": "Liquidation judiciaire (exemple)", "workflow": "poles-2008"},
        headers=as_(tokens["sophie"]),
    )
    assert ceased.status_code == 200 and ceased.json()["ended"] == ["aerospace-valley"]
    assert queries.describe(runtime.engine, "aerospace-valley", "poles-2008").instance.state == "ceased"
    merged = api.post(
        "/api/v1/mergers",
        json={"merging": ["cap-digital", "advancity"], "into": "cap-advancity", "name": "Cap Advancity", "reason": "r"},
        headers=as_(tokens["sophie"]),
    )
    assert merged.status_code == 201, merged.text
    assert merged.headers["location"] == "/api/v1/instances/cap-advancity"
    assert sorted(merged.json()["ended"]) == ["advancity", "cap-digital"]
    again = api.post(
        "/api/v1/mergers",
        json={"merging": ["minalogic"], "into": "aerospace-valley", "reason": "r"},
        headers=as_(tokens["sophie"]),
    )
    assert again.status_code in (409, 422) and again.headers["content-type"] == "application/problem+json"
    assert "aerospace-valley" in again.json()["detail"]
    forbidden = api.post("/api/v1/entities/mta/cessation", json={"reason": "r"}, headers=as_(tokens["marie"]))
    is_problem(forbidden, 403, "forbidden")


def test_a_merger_naming_an_entity_twice_is_refused_and_changes_nothing(
    api: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    body = {"merging": ["cap-digital", "cap-digital"], "into": "mta", "reason": "r"}
    refused = is_problem(api.post("/api/v1/mergers", json=body, headers=as_(tokens["sophie"])), 422, "invalid-data")
    assert "'cap-digital' named twice" in refused["detail"]
    assert queries.describe(runtime.engine, "cap-digital", "poles-2008").instance.state != "merged"


def test_a_body_that_is_no_json_says_where_it_breaks_or_which_media_type_to_send(
    api: TestClient, tokens: dict[str, str]
) -> None:
    headers = {**as_(tokens["sophie"]), "Content-Type": "application/json"}
    broken = api.post("/api/v1/mergers", content=b'{"merging": [', headers=headers)
    error = is_problem(broken, 422, "invalid-request")["errors"][0]
    assert error["field"] == "body" and error["problem"].startswith("not valid JSON at character 13")
    listed = is_problem(api.post("/api/v1/mergers", json=[1, 2], headers=headers), 422, "invalid-request")
    assert listed["errors"][0]["field"] == "body"
    text = {**headers, "Content-Type": "text/plain"}
    is_problem(api.post("/api/v1/mergers", content=b"merge them", headers=text), 415, "unsupported-media-type")
    latin = is_problem(
        api.post("/api/v1/mergers", content=b'{"name": "\xe9"}', headers=headers), 422, "invalid-request"
    )
    assert "not UTF-8 (byte 10" in latin["detail"]
    deep = is_problem(api.post("/api/v1/mergers", content=b"[" * 20000, headers=headers), 422, "invalid-request")
    assert "too deeply" in deep["detail"]


def test_listing_a_workflow_not_loaded_is_a_404_naming_the_loaded_ones(api: TestClient, tokens: dict[str, str]) -> None:
    missing = is_problem(api.get("/api/v1/instances?workflow=nope", headers=as_(tokens["marie"])), 404, "not-found")
    assert "nope" in missing["detail"] and "poles-2008" in missing["detail"]


def test_a_method_the_path_does_not_take_is_a_405_naming_those_it_takes(
    api: TestClient, tokens: dict[str, str]
) -> None:
    refused = api.get("/api/v1/timers/53", headers=as_(tokens["marie"]))
    is_problem(refused, 405, "method-not-allowed")
    assert refused.headers["allow"] == "PATCH"
    document = api.get("/api/v1/openapi.json").json()
    assert "415" in document["paths"]["/api/v1/mergers"]["post"]["responses"]


def test_a_body_repeating_a_key_is_refused_naming_it_and_changes_nothing(
    api: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    seen = queries.describe(runtime.engine, "vegepolys", "poles-2008").instance.version
    headers = {**as_(tokens["marie"]), "Content-Type": "application/json", "If-Match": f'"{seen}"'}
    body = b'{"trigger": "classify", "fields": {"group": 1, "group": 3}, "reason": "r"}'
    refused = api.post("/api/v1/instances/vegepolys/transitions", content=body, headers=headers)
    error = is_problem(refused, 422, "invalid-request")["errors"][0]
    assert (error["field"], error["value"], error["problem"]) == ("body", "group", "key given twice")
    assert queries.describe(runtime.engine, "vegepolys", "poles-2008").instance.version == seen
    fired = api.post(
        "/api/v1/instances/vegepolys/transitions", content=body.replace(b'"group": 1, ', b""), headers=headers
    )
    assert fired.status_code == 201, fired.text


def test_a_merger_name_with_a_bidirectional_override_says_which_character(
    api: TestClient, tokens: dict[str, str]
) -> None:
    body = {"merging": ["cap-digital"], "into": "cap-nouveau", "name": "Cap \u202eNouveau", "reason": "r"}
    refused = is_problem(api.post("/api/v1/mergers", json=body, headers=as_(tokens["sophie"])), 422, "invalid-data")
    assert "U+202E" in refused["detail"]
