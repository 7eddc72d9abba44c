"""What a hostile client sent over HTTP and the command line, answered as a refusal that says why,
never a 500, a traceback or a held connection: numbers too long to convert, integer fields given
2.9, "0_3" or "٣", deadlines moved to year 9999, bodies in UTF-16, bodies that never arrive, the
portfolio's metrics asked by a stakeholder; and the OpenAPI document lists what routes answer."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, import_entities, load_settings, store
from labelwf.accounts import add_account, create_token
from labelwf.cli import main
from labelwf.errors import ConfigError
from labelwf.service import create_app
from labelwf.service.bodies import MAX_NUMBER
from tests.conftest import CONFIG_FILE, POLES_CSV, ROOT, START

PROBLEM = "application/problem+json"
FIRE = "/api/v1/instances/enfant/transitions"
ACCOUNTS = {
    "marie": (["operator"], None),
    "sophie": (["supervisor"], None),
    "paul": (["viewer"], None),
    "gouv-enfant": (["stakeholder"], "enfant"),
}


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    tokens: dict[str, str]

    def headers(self, name: str, **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}", "Content-Type": "application/json", **more}


def _runtime(tmp_path: Path, database_url: str, **overrides: Any) -> Runtime:
    settings = load_settings(
        CONFIG_FILE, overrides={"database": database_url, "audit_key_file": tmp_path / "audit.key", **overrides}
    )
    runtime = Runtime(settings, clock=FrozenClock(START))
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    return runtime


def _tokens(runtime: Runtime) -> dict[str, str]:
    now = runtime.engine.clock.now()
    tokens = {}
    for name, (roles, entity) in ACCOUNTS.items():
        add_account(runtime.db, name, roles, now=now, password="correct horse battery", entity=entity, **_BY_ADMIN)
        tokens[name] = create_token(runtime.db, name, "tests", now=now, **_BY_ADMIN)[1]
    return tokens


_BY_ADMIN: dict[str, Any] = {"author": "root", "key": None}


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    runtime = _runtime(tmp_path, database_url)
    yield Api(TestClient(create_app(runtime), raise_server_exceptions=False), runtime, _tokens(runtime))
    runtime.close()


def _under_contract(api: Api, entity: str) -> dict[str, Any]:
    """``entity`` classified and under contract: its pending ``contract_end`` timer (due end of 2011)."""
    engine = api.runtime.engine
    engine.fire(entity, "classify", actor="dgcis", reason="classement", data={"group": 1})
    engine.fire(entity, "sign_contract", actor="dgcis", reason="contrat", data={"contract_start": "2009-01-01"})
    timers = api.client.get("/api/v1/timers", headers=api.headers("sophie")).json()["items"]
    return next(t for t in timers if t["entity"] == entity and t["name"] == "contract_end")


def _version(api: Api, entity: str) -> str:
    return api.client.get(f"/api/v1/instances/{entity}", headers=api.headers("sophie")).headers["etag"]


def _cli(database_url: str) -> tuple[CliRunner, list[str]]:
    runner, base = CliRunner(), ["--config", str(CONFIG_FILE), "--db", database_url]
    for command in (["init"], ["import", str(ROOT / "data" / "poles_2008.csv")]):
        done = runner.invoke(main, [*base, *command])
        assert done.exit_code == 0, done.output
    return runner, base


def _classify(group: str) -> str:
    """A transition's body whose field ``group`` is written as ``group``, as a client may write it."""
    return '{"trigger": "classify", "reason": "r", "fields": {"group": ' + group + "}}"


# -- numbers bounded before they are converted --------------------------------------------------

LONG = "7" * 4301  # past Python's 4,300 digits, whose refusal inside the parser was a 500


@pytest.mark.parametrize("token", ["marie", "forged", None])
@pytest.mark.parametrize(
    ("method", "path"), [("POST", FIRE), ("PATCH", "/api/v1/timers/1"), ("POST", "/api/v1/batches")]
)
def test_an_integer_of_4301_digits_is_a_422_naming_the_limit_whatever_the_token(
    api: Api, token: str | None, method: str, path: str
) -> None:
    headers = {"Content-Type": "application/json", "If-Match": '"0"'}
    if token is not None:
        headers["Authorization"] = f"Bearer {api.tokens.get(token, 'lwf_forged')}"
    body = _classify(LONG)
    answer = api.client.request(method, path, content=body, headers=headers)
    assert (answer.status_code, answer.headers["content-type"]) == (422, PROBLEM), answer.text
    detail = answer.json()["detail"]
    assert f"a number has at most {MAX_NUMBER} characters" in detail and "4,301 characters" in detail
    assert f"at character {body.index(LONG)}" in detail


@pytest.mark.parametrize(
    ("number", "said"), [("1e999", "too large"), ("NaN", "not a JSON value"), ("-Infinity", "not")]
)
def test_a_float_past_its_range_and_the_constants_json_lacks_are_refused(api: Api, number: str, said: str) -> None:
    body = _classify(number)
    answer = api.client.post(FIRE, content=body, headers=api.headers("marie", **{"If-Match": '"0"'}))
    assert answer.status_code == 422 and said in answer.json()["detail"], answer.text


# -- integer fields take whole numbers only ----------------------------------------------------


@pytest.mark.parametrize("value", ["2.9", '"0_3"', '"\u0663"', "true", '" 3"', '"3"', "3.0", str(2**63)])
def test_an_integer_field_takes_only_a_json_integer_in_the_api(api: Api, value: str) -> None:
    body = _classify(value)
    answer = api.client.post(FIRE, content=body.encode(), headers=api.headers("marie", **{"If-Match": '"0"'}))
    assert (answer.status_code, answer.json()["type"]) == (422, "/problems/invalid-data"), answer.text
    problem = answer.json()
    assert problem["field"] == "group" and "a whole number written as a JSON integer" in problem["detail"]
    assert f"got {json.loads(value)!r}" in problem["detail"]  # the value, as it came
    fired = api.client.post(
        FIRE,
        json={"trigger": "classify", "reason": "r", "fields": {"group": 3}},
        headers=api.headers("marie", **{"If-Match": '"0"'}),
    )
    assert fired.status_code == 201 and fired.json()["dest"] == "group_3"  # nothing was half-applied before


@pytest.mark.parametrize("value", ["2.9", "0_3", "\u0663", "true", " 3", "3 ", "+3", "", "9" * 5000])
def test_an_integer_field_takes_only_ascii_digits_from_the_cli(database_url: str, value: str) -> None:
    runner, base = _cli(database_url)
    fire = [*base, "fire", "enfant", "classify", "--actor", "dgcis", "--reason", "rapport"]
    refused = runner.invoke(main, [*fire, "--set", f"group={value}"])
    assert refused.exit_code == 2 and isinstance(refused.exception, SystemExit), refused.output
    assert "data field 'group' must be a whole number: ASCII digits 0-9" in refused.stderr
    assert repr(value)[:50] in refused.stderr  # the value refused, as typed
    assert runner.invoke(main, [*fire, "--set", "group=3"]).exit_code == 0


# -- deadline moves bounded ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("move", "said"),
    [
        ({"to": "9999-12-31T00:00:00+01:00"}, "is out of bounds: a deadline falls between 1900-01-01 and 2199-12-31"),
        ({"to": "1899-12-31T00:00:00+00:00"}, "is out of bounds"),
        ({"to": "2150-01-01T00:00:00+00:00"}, "more than 100 years"),
        ({"by": "+2100 years"}, "moves too far: at most 100 years"),
        ({"by": "-2100 years"}, "moves too far: at most 100 years"),
        ({"by": "+1201 months"}, "moves too far"),
        ({"by": "+\u0663 years"}, "is not an offset"),
        ({"by": "+101 years"}, "moves too far"),
    ],
)
def test_a_deadline_moved_out_of_bounds_is_a_422_naming_the_bounds(api: Api, move: dict[str, str], said: str) -> None:
    timer = _under_contract(api, "mta")
    version = _version(api, "mta")
    answer = api.client.patch(
        f"/api/v1/timers/{timer['id']}",
        json={**move, "reason": "r"},
        headers=api.headers("sophie", **{"If-Match": version}),
    )
    assert (answer.status_code, answer.json()["type"]) == (422, "/problems/invalid-data"), answer.text
    assert said in answer.json()["detail"] and answer.json()["field"] == next(iter(move))
    assert _version(api, "mta") == version  # nothing recorded


def test_a_deadline_moved_far_within_the_bounds_is_moved(api: Api) -> None:
    timer = _under_contract(api, "mta")
    answer = api.client.patch(
        f"/api/v1/timers/{timer['id']}",
        json={"by": "+100 years", "reason": "r"},
        headers=api.headers("sophie", **{"If-Match": _version(api, "mta")}),
    )
    assert answer.status_code == 200 and answer.json()["to"].startswith("2111-12-31"), answer.text


def test_a_deadline_already_past_year_9998_moves_no_further_and_says_why(api: Api) -> None:
    # Given a timer that an earlier version let move to the last days of year 9999
    timer = _under_contract(api, "mta")
    with api.runtime.db.write() as conn:
        conn.execute(store.timer.update().where(store.timer.c.id == timer["id"]).values(due_at=_LAST_DAY))
    # When it is moved by a year, the calendar would pass year 9999: a 422, not a 500
    answer = api.client.patch(
        f"/api/v1/timers/{timer['id']}",
        json={"by": "+1 year", "reason": "r"},
        headers=api.headers("sophie", **{"If-Match": _version(api, "mta")}),
    )
    assert (answer.status_code, answer.json()["type"]) == (422, "/problems/invalid-data"), answer.text
    assert "1900-01-01 and 2199-12-31" in answer.json()["detail"]


_LAST_DAY = START.replace(year=9999, month=12, day=30)


@pytest.mark.parametrize(
    "move", [["--to", "9999-12-31"], ["--by", "+2100 years"], ["--by", "-2100 years"], ["--to", "2150-01-01"]]
)
def test_a_deadline_moved_out_of_bounds_exits_2_without_a_traceback(database_url: str, move: list[str]) -> None:
    runner, base = _cli(database_url)
    who = ["--actor", "dgcis", "--reason", "r"]
    assert runner.invoke(main, [*base, "fire", "mta", "classify", "--set", "group=1", *who]).exit_code == 0
    signed = runner.invoke(main, [*base, "fire", "mta", "sign_contract", "--set", "contract_start=2009-01-01", *who])
    assert signed.exit_code == 0, signed.output
    refused = runner.invoke(main, [*base, "timers", "move", "mta", "contract_end", *move, *who])
    assert refused.exit_code == 2 and isinstance(refused.exception, SystemExit), refused.output
    assert "Traceback" not in refused.output and "100 years" in refused.stderr


# -- UTF-8 only ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_a_body_in_utf16_or_utf32_is_refused_saying_only_utf8_is_read(api: Api, encoding: str) -> None:
    body = json.dumps({"trigger": "classify", "reason": "r", "fields": {"group": 3}}).encode(encoding)
    answer = api.client.post(FIRE, content=body, headers=api.headers("marie", **{"If-Match": '"0"'}))
    assert (answer.status_code, answer.headers["content-type"]) == (422, PROBLEM), answer.text
    assert "only UTF-8 JSON is accepted" in answer.json()["detail"]
    assert _version(api, "enfant") == '"0"'


def test_a_body_declared_in_another_charset_is_refused(api: Api) -> None:
    headers = api.headers("marie", **{"If-Match": '"0"', "Content-Type": "application/json; charset=utf-16"})
    answer = api.client.post(FIRE, content=b'{"trigger": "classify", "reason": "r"}', headers=headers)
    assert answer.status_code == 422 and "only UTF-8 JSON is accepted" in answer.json()["detail"]


def test_a_body_in_utf8_with_or_without_charset_is_read(api: Api) -> None:
    body = json.dumps({"trigger": "classify", "reason": "évaluation", "fields": {"group": 3}}).encode()
    headers = api.headers("marie", **{"If-Match": '"0"', "Content-Type": "application/json; charset=UTF-8"})
    assert api.client.post(FIRE, content=body, headers=headers).status_code == 201


# -- a body that never arrives -------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """A real server on 127.0.0.1 whose bound on reading a body is a quarter of a second."""
    runtime = _runtime(tmp_path, f"sqlite:///{tmp_path / 'served.db'}", body_timeout_seconds=0.25)
    tokens = _tokens(runtime)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # listening before the server runs: a client may connect at once
    service = uvicorn.Server(uvicorn.Config(create_app(runtime), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=service.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield sock.getsockname()[1], tokens
    service.should_exit = True
    thread.join(timeout=30)
    sock.close()
    runtime.close()


def _exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` and read until the server closes the connection (at most 10 s: a stall fails)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(request)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    ("path", "content_type"), [(FIRE, "application/json"), ("/console/login", "application/x-www-form-urlencoded")]
)
def test_a_body_shorter_than_its_content_length_is_a_408_and_the_connection_closes(
    server: tuple[int, dict[str, str]], path: str, content_type: str
) -> None:
    port, tokens = server
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {tokens['marie']}\r\n"
        f'If-Match: "0"\r\nContent-Type: {content_type}\r\nContent-Length: 1000\r\n\r\n'
    )
    answer = _exchange(port, head.encode() + b'{"trigger": "clas')  # 17 bytes of the 1,000 announced
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout", answer
    assert b"connection: close" in rest.lower() and b"0.25 seconds" in rest


def test_a_whole_body_sent_in_time_is_answered(server: tuple[int, dict[str, str]]) -> None:
    port, tokens = server
    body = b'{"trigger": "classify", "reason": "r", "fields": {"group": 3}}'
    head = (
        f"POST {FIRE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {tokens['marie']}\r\nConnection: close\r\n"
        f'If-Match: "0"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n'
    )
    assert _exchange(port, head.encode() + body).startswith(b"HTTP/1.1 201 ")


# -- the portfolio's metrics are the staff's -----------------------------------------------------


@pytest.mark.parametrize(("name", "status"), [("gouv-enfant", 403), ("paul", 403), ("marie", 200), ("sophie", 200)])
def test_metrics_are_read_by_operators_only(api: Api, name: str, status: int) -> None:
    answer = api.client.get("/metrics", headers=api.headers(name))
    assert answer.status_code == status, answer.text
    assert ("labelwf_timers_pending" in answer.text) is (status == 200)


# -- the document says what the routes answer ----------------------------------------------------


def test_the_openapi_document_lists_what_the_guards_answer_before_a_route(api: Api) -> None:
    document = api.client.get("/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            listed = set(operation["responses"])
            names = {p["name"] for p in operation.get("parameters", [])}
            if method in ("post", "put", "patch", "delete"):
                assert {"408", "411", "413"} <= listed, (method, path)
            if "requestBody" in operation:
                assert {"415", "422"} <= listed, (method, path)
            if "after" in names:
                assert "400" in listed, (method, path)
            if "if-match" in names:
                assert {"412", "428"} <= listed, (method, path)
            assert {"401", "503"} <= listed, (method, path)


@pytest.mark.parametrize("value", [0, -1, "nan", "soon", 601])
def test_a_body_timeout_outside_its_range_is_refused_naming_the_range(value: object) -> None:
    with pytest.raises(ConfigError, match=r"a number of seconds > 0 and at most 600"):
        load_settings(CONFIG_FILE, overrides={"body_timeout_seconds": value})
