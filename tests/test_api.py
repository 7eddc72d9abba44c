"""The REST API's contract, on SQLite and PostgreSQL: who may do what, ETags, idempotent retries,
paging, and every error as problem+json."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, import_entities, load_settings, store
from labelwf.accounts import add_account, create_token
from labelwf.accounts import tokens as token_list
from labelwf.cli import main
from labelwf.service import auth, create_app
from labelwf.service.auth import TOKEN_REMEMBERED, Tokens
from tests.conftest import CONFIG_FILE, POLES_CSV

PROBLEM = "application/problem+json"


@pytest.fixture
def runtime(database_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = Runtime(load_settings(CONFIG_FILE, overrides={"database": database_url}), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    yield runtime
    runtime.close()


@pytest.fixture
def tokens(runtime: Runtime, clock: FrozenClock) -> dict[str, str]:
    made = {}
    for name, roles, entity in (
        ("marie", ["operator"], None),
        ("paul", ["viewer"], None),
        ("sophie", ["supervisor"], None),
        ("gouv-enfant", ["stakeholder"], "enfant"),
    ):
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
        made[name] = create_token(runtime.db, name, "tests", now=clock.now(), author="tests", key=None)[1]
    return made


@pytest.fixture
def api(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def as_(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def classify(group: int = 3, **extra: Any) -> dict[str, Any]:
    return {"trigger": "classify", "fields": {"group": group}, "reason": "rapport d'évaluation 2008", **extra}


def events(runtime: Runtime, entity: str) -> list[sa.RowMapping]:
    with runtime.db.read() as conn:
        return list(
            conn.execute(
                sa.select(store.event)
                .join(store.instance, store.instance.c.id == store.event.c.instance_id)
                .where(store.instance.c.entity_id == entity)
                .order_by(store.event.c.seq)
            ).mappings()
        )


def test_only_health_answers_anonymously_and_a_refusal_is_a_problem(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").status_code == 200
    for path in ("/api/v1/instances", "/api/v1/instances/enfant", "/api/v1/timers"):
        refused = api.get(path)
        assert refused.status_code == 401 and refused.headers["content-type"] == PROBLEM
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["type"] == "/problems/unauthenticated"
    assert api.get("/api/v1/instances", headers=as_("lwf_forged")).status_code == 401
    assert api.get("/api/v1/openapi.json").json()["info"]["title"] == "labelwf"


def test_instances_page_by_cursor_and_an_instance_carries_its_version_as_etag(
    api: TestClient, tokens: dict[str, str]
) -> None:
    first = api.get("/api/v1/instances?limit=50", headers=as_(tokens["paul"])).json()
    assert len(first["items"]) == 50 and first["more"] == 21 and first["next"]
    second = api.get("/api/v1/instances", params={"limit": 50, "after": first["next"]}, headers=as_(tokens["paul"]))
    assert len(second.json()["items"]) == 21 and second.json()["next"] is None
    shown = api.get("/api/v1/instances/enfant", headers=as_(tokens["paul"]))
    assert shown.headers["etag"] == '"0"' and shown.json()["state"] == "evaluated"
    assert shown.json()["allowed"] == []  # a viewer is offered nothing to fire
    offered = api.get("/api/v1/instances/enfant", headers=as_(tokens["marie"])).json()["allowed"]
    assert [a["trigger"] for a in offered] == ["classify", "classify_2012", "label"]
    assert (
        shown.headers["x-content-type-options"] == "nosniff"
        and "frame-ancestors 'none'" in shown.headers["content-security-policy"]
    )


def test_a_transition_records_the_authenticated_account_and_answers_the_new_etag(
    api: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    fired = api.post(
        "/api/v1/instances/enfant/transitions",
        json=classify(on_behalf_of="Comité de labellisation"),
        headers=as_(tokens["marie"], **{"If-Match": '"0"'}),
    )
    assert fired.status_code == 201, fired.text
    assert fired.headers["etag"] == '"1"' and fired.json()["dest"] == "group_3"
    last = events(runtime, "enfant")[-1]
    assert last["actor"] == "Comité de labellisation"  # the on-behalf-of text beside ...
    assert last["principal"].startswith("marie (token ")  # ... the account that authenticated
    assert fired.headers["x-request-id"] in last["principal"]
    history = api.get("/api/v1/instances/enfant/history", headers=as_(tokens["paul"])).json()["items"]
    assert [e["seq"] for e in history] == [0, 1] and history[1]["principal"] == last["principal"]


def test_a_transition_needs_if_match_and_a_stale_one_is_refused(api: TestClient, tokens: dict[str, str]) -> None:
    url = "/api/v1/instances/enfant/transitions"
    missing = api.post(url, json=classify(), headers=as_(tokens["marie"]))
    assert missing.status_code == 428 and missing.headers["content-type"] == PROBLEM
    assert api.post(url, json=classify(), headers=as_(tokens["marie"], **{"If-Match": '"0"'})).status_code == 201
    stale = api.post(url, json=classify(), headers=as_(tokens["marie"], **{"If-Match": '"0"'}))
    assert stale.status_code == 412
    assert stale.json()["expected_version"] == 0 and stale.json()["found_version"] == 1
    assert stale.json()["entity"] == "enfant" and "instance" not in stale.json()  # RFC 9457 reserves it


def test_two_clients_racing_on_one_instance_get_one_success_and_one_412(
    api: TestClient, tokens: dict[str, str]
) -> None:
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def post() -> None:
        client = TestClient(api.app)
        barrier.wait()
        answer = client.post(
            "/api/v1/instances/enfant/transitions",
            json=classify(),
            headers=as_(tokens["marie"], **{"If-Match": '"0"'}),
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 412]


def test_a_retry_with_the_same_idempotency_key_does_the_work_once(
    api: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    headers = as_(tokens["marie"], **{"If-Match": '"0"', "Idempotency-Key": "relance-42"})
    first = api.post("/api/v1/instances/enfant/transitions", json=classify(), headers=headers)
    again = api.post("/api/v1/instances/enfant/transitions", json=classify(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(events(runtime, "enfant")) == 2  # created, classified once
    other = api.post("/api/v1/instances/enfant/transitions", json=classify(group=1), headers=headers)
    assert other.status_code == 422 and other.json()["type"] == "/problems/idempotency-key-reused"


def test_an_idempotent_answer_is_kept_for_a_day_then_the_key_is_free(
    api: TestClient, tokens: dict[str, str], runtime: Runtime, clock: FrozenClock
) -> None:
    headers = as_(tokens["marie"], **{"If-Match": '"0"', "Idempotency-Key": "relance-43"})
    assert api.post("/api/v1/instances/enfant/transitions", json=classify(), headers=headers).status_code == 201
    clock.advance(timedelta(hours=23))
    replayed = api.post("/api/v1/instances/enfant/transitions", json=classify(), headers=headers)
    assert replayed.headers.get("idempotent-replayed") == "true"
    clock.advance(timedelta(hours=2))
    fresh = api.post("/api/v1/instances/enfant/transitions", json=classify(), headers=headers)
    assert fresh.status_code == 412 and "idempotent-replayed" not in fresh.headers  # done again: stale now
    again = api.post("/api/v1/instances/mta/transitions", json=classify(), headers={**headers, "If-Match": '"0"'})
    assert again.status_code == 201  # the expired key's row made way for the new answer


def test_who_may_fire_is_decided_by_the_server(api: TestClient, tokens: dict[str, str]) -> None:
    url = "/api/v1/instances/enfant/transitions"
    viewer = api.post(url, json=classify(), headers=as_(tokens["paul"], **{"If-Match": '"0"'}))
    assert viewer.status_code == 403 and "needs the role operator" in viewer.json()["detail"]
    assert api.post(url, json=classify(), headers=as_(tokens["sophie"], **{"If-Match": '"0"'})).status_code == 201
    system = api.post(
        url,
        json={"trigger": "end_label_term", "reason": "x"},
        headers=as_(tokens["marie"], **{"If-Match": '"1"'}),
    )
    assert system.status_code == 403 and system.json()["type"] == "/problems/role-not-allowed"
    assert system.json()["allowed"] == ["system"]


def test_a_stakeholder_sees_its_own_entity_only(api: TestClient, tokens: dict[str, str]) -> None:
    mine = as_(tokens["gouv-enfant"])
    listed = api.get("/api/v1/instances", headers=mine).json()["items"]
    assert [i["entity"] for i in listed] == ["enfant"]
    assert api.get("/api/v1/instances/enfant", headers=mine).status_code == 200
    other = api.get("/api/v1/instances/mta", headers=mine)
    assert other.status_code == 404 and other.json()["type"] == "/problems/not-found"
    assert api.get("/api/v1/instances/mta/history", headers=mine).status_code == 404
    assert api.get("/api/v1/timers", headers=mine).status_code == 403
    fire = api.post("/api/v1/instances/enfant/transitions", json=classify(), headers={**mine, "If-Match": '"0"'})
    assert fire.status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "kind", "says"),
    [
        ({**classify(), "actor": "quelqu'un d'autre"}, 422, "invalid-request", "actor"),
        (classify(group=7), 422, "invalid-data", "must be one of 1, 2, 3"),
        ({**classify(), "reason": "ok\x1b[2J"}, 422, "invalid-data", "control character U+001B"),
        ({"trigger": "renew", "reason": "x"}, 409, "invalid-transition", "'renew' is not allowed"),
        ({**classify(), "at": "2008-07-01T00:00:00"}, 422, "invalid-request", "timezone"),
        ({**classify(), "at": "2001-01-01T00:00:00+01:00"}, 422, "business-time-refused", "before"),
        ({"trigger": "classify"}, 422, "invalid-request", "reason"),
    ],
)
def test_bad_requests_are_problems_naming_what_was_wrong_and_write_nothing(
    api: TestClient, tokens: dict[str, str], runtime: Runtime, body: dict[str, Any], status: int, kind: str, says: str
) -> None:
    answer = api.post(
        "/api/v1/instances/enfant/transitions", json=body, headers=as_(tokens["marie"], **{"If-Match": '"0"'})
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["type"] == f"/problems/{kind}" and problem["status"] == status
    assert says in answer.text
    assert len(events(runtime, "enfant")) == 1


@pytest.mark.parametrize(
    ("content", "content_type", "status", "field", "says"),
    [
        (b'{"trigger": "classify",', "application/json", 422, "body", "not valid JSON at character 23"),
        (b"", "application/json", 422, "body", "Field required"),
        (b"[1, 2]", "application/json", 422, "body", "valid dictionary"),
        (b'{"trigger": "classify", "reason": "r", "extra": 1}', "application/json", 422, "extra", "Extra inputs"),
        (b'{"trigger": "classify", "reason": "r", "fields": {"group": [1]}}', "", 422, "body", "application/json"),
        (b'{"trigger": "label", "trigger": "classify"}', "", 422, "body", "send Content-Type: application/json"),
        (b'{"reason": "\x80"}', "application/json", 422, "body", "not UTF-8"),
        (b"null", "application/json; charset=utf-8", 422, "body", "valid dictionary"),
        (b'{"trigger": "label", "trigger": "classify"}', "application/json", 422, "body", "given twice"),
        (b"trigger=classify", "application/x-www-form-urlencoded", 415, None, "send Content-Type: application/json"),
    ],
)
def test_a_fire_s_body_is_read_whole_and_refused_field_by_field(
    api: TestClient,
    tokens: dict[str, str],
    runtime: Runtime,
    content: bytes,
    content_type: str,
    status: int,
    field: str | None,
    says: str,
) -> None:
    headers = as_(tokens["marie"], **{"If-Match": '"0"'})
    if content_type:
        headers["Content-Type"] = content_type
    answer = api.post("/api/v1/instances/enfant/transitions", content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM and says in answer.text
    if field is not None:
        assert answer.json()["errors"][0]["field"] == field
    assert len(events(runtime, "enfant")) == 1


def test_a_malformed_idempotency_key_is_refused_before_the_instance_is_looked_at(
    api: TestClient, tokens: dict[str, str]
) -> None:
    headers = as_(tokens["marie"], **{"If-Match": "", "Idempotency-Key": "k" * 201})
    answer = api.post("/api/v1/instances/nowhere/transitions", json=classify(), headers=headers)
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["header.idempotency-key"]
    answer = api.post("/api/v1/instances/nowhere/transitions", json={"trigger": ""}, headers=headers)
    assert [e["field"] for e in answer.json()["errors"]] == ["header.idempotency-key", "trigger", "reason"]


def test_a_body_too_large_is_refused_before_it_is_read(api: TestClient, tokens: dict[str, str]) -> None:
    answer = api.post(
        "/api/v1/instances/enfant/transitions",
        content=b"{" + b" " * 70_000 + b"}",
        headers=as_(tokens["marie"], **{"If-Match": '"0"', "Content-Type": "application/json"}),
    )
    assert answer.status_code == 413 and answer.json()["type"] == "/problems/payload-too-large"


def test_audit_verification_is_for_supervisors(api: TestClient, tokens: dict[str, str]) -> None:
    assert api.get("/api/v1/audit/verify", headers=as_(tokens["marie"])).status_code == 403
    report = api.get("/api/v1/audit/verify", headers=as_(tokens["sophie"])).json()
    assert report["ok"] and report["instances"] == 71


def test_accounts_and_tokens_are_managed_from_the_cli(
    database_url: str, runtime: Runtime, api: TestClient, clock: FrozenClock
) -> None:
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    runner = CliRunner()
    added = runner.invoke(main, [*base, "users", "add", "lea", "--role", "viewer", "--password-stdin"], input="x\n")
    assert added.exit_code != 0 and "at least 12 characters" in added.stderr
    added = runner.invoke(
        main, [*base, "users", "add", "lea", "--role", "viewer", "--password-stdin"], input="un mot de passe long\n"
    )
    assert added.exit_code == 0, added.output
    made = runner.invoke(main, [*base, "tokens", "create", "lea", "--label", "essai"])
    token = made.stdout.strip()
    assert token.startswith("lwf_") and "shown once" in made.stderr
    assert api.get("/api/v1/instances", headers=as_(token)).status_code == 200
    listed = runner.invoke(main, [*base, "tokens", "list", "--json"])
    assert token not in listed.stdout and '"label": "essai"' in listed.stdout
    token_id = made.stderr.split()[1]
    assert runner.invoke(main, [*base, "tokens", "revoke", token_id]).exit_code == 0
    clock.advance(TOKEN_REMEMBERED)  # revoked by another process: refused once the server's memory of it lapses
    assert api.get("/api/v1/instances", headers=as_(token)).status_code == 401
    changed = runner.invoke(
        main, [*base, "users", "password", "lea", "--password-stdin"], input="un autre mot de passe\n"
    )
    assert changed.exit_code == 0 and "password of lea changed" in changed.stdout
    from labelwf.accounts import check_password

    assert check_password(runtime.db, "lea", "un autre mot de passe") is not None
    assert check_password(runtime.db, "lea", "un mot de passe long") is None


def test_a_token_revoked_or_an_account_disabled_elsewhere_is_refused_within_a_second(
    database_url: str, runtime: Runtime, api: TestClient, tokens: dict[str, str], clock: FrozenClock
) -> None:
    base = ["--config", str(CONFIG_FILE), "--db", database_url]
    runner = CliRunner()
    for name in ("paul", "marie"):
        assert api.get("/api/v1/instances", headers=as_(tokens[name])).status_code == 200
    paul = next(t for t in token_list(runtime.db) if t["account"] == "paul")
    assert runner.invoke(main, [*base, "tokens", "revoke", str(paul["id"])]).exit_code == 0
    assert runner.invoke(main, [*base, "users", "disable", "marie"]).exit_code == 0
    clock.advance(TOKEN_REMEMBERED - timedelta(milliseconds=1))
    for name in ("paul", "marie"):  # still remembered by this server process
        assert api.get("/api/v1/instances", headers=as_(tokens[name])).status_code == 200
    clock.advance(timedelta(milliseconds=1))
    for name in ("paul", "marie"):
        assert api.get("/api/v1/instances", headers=as_(tokens[name])).status_code == 401


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now_is = now

    def now(self) -> datetime:
        return self.now_is


def test_a_server_s_memory_of_tokens_never_outlasts_its_second(
    runtime: Runtime, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock(datetime(2026, 1, 1, tzinfo=UTC))
    memory = Tokens(runtime.db, clock)
    assert memory.look_up(tokens["paul"]) is not None and memory.remembered(tokens["paul"]) is not None
    clock.now_is -= timedelta(hours=1)  # the system clock stepped back: forgotten, not kept an hour longer
    assert memory.remembered(tokens["paul"]) is None
    assert memory.look_up("lwf_unknown") is None and memory.remembered("lwf_unknown") is None

    read = auth.accounts.account_of_token

    def revoked_while_read(db: Any, token: str) -> Any:
        found = read(db, token)
        memory.forget()  # the console revokes the token while this look-up has it in hand
        return found

    monkeypatch.setattr(auth.accounts, "account_of_token", revoked_while_read)
    assert memory.look_up(tokens["marie"]) is not None  # this request began before the revocation
    assert memory.remembered(tokens["marie"]) is None  # but the next one reads the database again


def test_letters_are_listed_shown_and_downloaded_as_pdf_and_a_stakeholder_reads_its_own(
    api: TestClient, tokens: dict[str, str]
) -> None:
    for entity in ("enfant", "mta"):
        headers = as_(tokens["marie"], **{"If-Match": '"0"'})
        assert api.post(f"/api/v1/instances/{entity}/transitions", json=classify(), headers=headers).status_code == 201
    listed = api.get("/api/v1/letters", headers=as_(tokens["paul"])).json()["items"]
    assert len(listed) == 6 and {m["entity"] for m in listed} == {"enfant", "mta"}
    mine = api.get("/api/v1/letters", headers=as_(tokens["gouv-enfant"])).json()["items"]
    assert {m["entity"] for m in mine} == {"enfant"}
    assert {m["recipient"] for m in mine} == {"governance"}  # not the copies to the préfet, the région
    other = next(m for m in listed if m["entity"] == "mta")
    assert api.get(f"/api/v1/letters/{other['id']}", headers=as_(tokens["gouv-enfant"])).status_code == 404
    copy = next(m for m in listed if m["entity"] == "enfant" and m["recipient"] != "governance")
    assert api.get(f"/api/v1/letters/{copy['id']}", headers=as_(tokens["gouv-enfant"])).status_code == 404
    assert api.get(f"/api/v1/letters/{copy['id']}", headers=as_(tokens["paul"])).status_code == 200
    assert api.get("/api/v1/letters?entity=mta", headers=as_(tokens["gouv-enfant"])).status_code == 404
    shown = api.get(f"/api/v1/letters/{mine[0]['id']}", headers=as_(tokens["gouv-enfant"])).json()
    assert "Enfant" in shown["body"] and shown["body_html"].startswith("<!DOCTYPE html>")
    pdf = api.get(f"/api/v1/letters/{mine[0]['id']}/pdf", headers=as_(tokens["gouv-enfant"]))
    if pdf.status_code == 503:
        pytest.skip(pdf.json()["detail"])
    assert (
        pdf.status_code == 200
        and pdf.content.startswith(b"%PDF")
        and "attachment" in pdf.headers["content-disposition"]
    )


def test_metrics_need_a_token_and_count_fires_deadlines_and_letters(api: TestClient, tokens: dict[str, str]) -> None:
    assert api.get("/metrics").status_code == 401
    headers = as_(tokens["marie"], **{"If-Match": '"0"'})
    api.post("/api/v1/instances/enfant/transitions", json=classify(), headers=headers)
    api.post("/api/v1/instances/enfant/transitions", json={"trigger": "x" * 90, "reason": "r"}, headers=headers)
    assert api.get("/metrics", headers=as_(tokens["paul"])).status_code == 403  # a viewer: not the portfolio's counts
    text = api.get("/metrics", headers=as_(tokens["marie"])).text
    assert 'labelwf_api_fires_total{outcome="fired",trigger="classify"} 1.0' in text
    assert 'trigger="(undeclared)"' in text and "x" * 90 not in text  # a client cannot invent labels
    assert "labelwf_timers_pending 1.0" in text and 'labelwf_letters{status="pending"} 3.0' in text
    assert 'labelwf_http_request_seconds_count{method="POST",route="/api/v1/instances/{entity}/transitions"' in text


# -- what a hostile client tried, answered without a 5xx, a leak or a lock-out ------------------


def test_forty_concurrent_fires_neither_exhaust_the_connections_nor_lock_anyone_out(
    api: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    entities = [r["entity"] for r in api.get("/api/v1/instances?limit=40", headers=as_(tokens["paul"])).json()["items"]]
    statuses: list[int] = []
    barrier = threading.Barrier(len(entities))

    def post(entity: str) -> None:
        client = TestClient(api.app)
        barrier.wait()
        headers = as_(tokens["marie"], **{"If-Match": '"0"'})
        statuses.append(
            client.post(f"/api/v1/instances/{entity}/transitions", json=classify(), headers=headers).status_code
        )

    threads = [threading.Thread(target=post, args=(e,)) for e in entities]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(201) == 40
    assert api.get("/api/v1/instances", headers=as_(tokens["paul"])).status_code == 200


def sqlite_service(tmp_path: Path, clock: FrozenClock, busy_timeout_ms: int) -> tuple[Runtime, Path, str]:
    """A runtime over a SQLite file whose writers wait ``busy_timeout_ms`` for the lock, its file, and an
    operator's token."""
    path = tmp_path / "labelwf.db"
    overrides = {"database": f"sqlite:///{path}", "busy_timeout_ms": busy_timeout_ms}
    runtime = Runtime(load_settings(CONFIG_FILE, overrides=overrides), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    add_account(
        runtime.db, "marie", ["operator"], now=clock.now(), author="tests", key=None, password="correct horse battery"
    )
    return runtime, path, create_token(runtime.db, "marie", "tests", now=clock.now(), author="tests", key=None)[1]


def test_a_fire_waits_for_another_process_s_write_on_a_worker_while_the_server_answers(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, path, token = sqlite_service(tmp_path, clock, busy_timeout_ms=30_000)
    waiting = threading.Event()
    write = runtime.db.write

    def write_seen() -> Any:  # the fire's turn on a worker thread, where writers wait for the lock
        waiting.set()
        return write()

    monkeypatch.setattr(runtime.db, "write", write_seen)
    before = events(runtime, "enfant")
    other = sqlite3.connect(path, isolation_level=None)  # the daemon or the CLI, writing
    other.execute("BEGIN IMMEDIATE")
    answers: list[Any] = []
    with TestClient(create_app(runtime)) as api:  # one event loop for every request
        headers = as_(token, **{"If-Match": '"0"'})
        poster = threading.Thread(
            target=lambda: answers.append(
                api.post("/api/v1/instances/enfant/transitions", json=classify(), headers=headers)
            )
        )
        poster.start()
        try:
            # Within a third of the writers' busy timeout: a loop that waited for the lock would not be there.
            assert waiting.wait(timeout=10), "the fire never reached a worker thread"
            # The fire waits for the lock; the event loop does not: it answers, and the fire is not done.
            assert api.get("/healthz").status_code == 200
            assert api.get("/api/v1/instances/enfant", headers=as_(token)).headers["ETag"] == '"0"'
            assert poster.is_alive() and not answers
            assert events(runtime, "enfant") == before
        finally:
            other.execute("ROLLBACK")
            other.close()
            poster.join()
    assert answers[0].status_code == 201, answers[0].text
    assert answers[0].headers["ETag"] == '"1"'
    runtime.close()


def test_a_fire_that_waited_its_busy_timeout_says_busy_and_writes_nothing(tmp_path: Path, clock: FrozenClock) -> None:
    runtime, path, token = sqlite_service(tmp_path, clock, busy_timeout_ms=50)
    before = events(runtime, "enfant")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        busy = TestClient(create_app(runtime)).post(
            "/api/v1/instances/enfant/transitions", json=classify(), headers=as_(token, **{"If-Match": '"0"'})
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert busy.status_code == 503, busy.text
    assert busy.headers["Retry-After"] == "1" and busy.json()["type"] == "/problems/database-busy"
    assert events(runtime, "enfant") == before
    runtime.close()


def cursor(*key: object) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/instances/enfant/history?after=" + cursor("history", [10**30]),
        "/api/v1/timers?after=" + cursor("timers", ["2020-01-01T00:00:00", 1]),
        "/api/v1/timers?after=" + cursor("timers", ["2020-01-01T00:00:00+00:00", 10**30]),
        "/api/v1/timers?after=" + cursor("timers", ["0001-01-01T00:00:00+14:00", 1]),
        "/api/v1/instances?after=" + __import__("base64").urlsafe_b64encode(b"[" * 1400).decode(),
    ],
)
def test_a_forged_cursor_is_a_400_problem(api: TestClient, tokens: dict[str, str], path: str) -> None:
    answer = api.get(path, headers=as_(tokens["paul"]))
    assert answer.status_code == 400 and answer.json()["type"] == "/problems/invalid-cursor"


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        ({"If-Match": '"0"'}, b'{"trigger": "classify", "fields": {"group": 1e400}, "reason": "r"}', 422),
        ({"If-Match": '"0"'}, b'{"trigger": "classify", "reason": "r", "at": "9999-12-31T23:59:59-23:59"}', 422),
        ({"If-Match": 'W/"0"'}, None, 412),
        ({"If-Match": "*"}, None, 428),
        ({"If-Match": '"0"', "Idempotency-Key": " "}, None, 422),
    ],
)
def test_odd_values_and_headers_are_4xx_problems(
    api: TestClient,
    tokens: dict[str, str],
    runtime: Runtime,
    headers: dict[str, str],
    content: bytes | None,
    status: int,
) -> None:
    body = content or b'{"trigger": "classify", "fields": {"group": 1}, "reason": "r"}'
    answer = api.post(
        "/api/v1/instances/enfant/transitions",
        content=body,
        headers=as_(tokens["marie"], **headers, **{"Content-Type": "application/json"}),
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM and len(events(runtime, "enfant")) == 1
    extreme = api.get("/api/v1/timers", params={"due_before": "9999-12-31T23:59:59-23:59"}, headers=as_(tokens["paul"]))
    assert extreme.status_code == 422


def test_an_unforeseen_error_is_a_500_problem_with_the_request_id_and_the_headers(
    api: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from labelwf.engine import queries

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(queries, "describe", broken)
    answer = api.get("/api/v1/instances/enfant", headers=as_(tokens["paul"]))
    assert answer.status_code == 500 and answer.headers["content-type"] == PROBLEM
    assert answer.json()["request_id"] == answer.headers["x-request-id"] and "a bug" not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_where_the_database_is_never_reaches_a_client(tmp_path: Path, clock: FrozenClock) -> None:
    empty = Runtime(load_settings(CONFIG_FILE, overrides={"database": f"sqlite:///{tmp_path}/empty.db"}), clock=clock)
    client = TestClient(create_app(empty))
    answer = client.get("/readyz")
    assert answer.status_code == 503 and str(tmp_path) not in answer.text
    refused = client.get("/api/v1/instances", headers=as_("lwf_x"))
    assert refused.status_code == 503 and str(tmp_path) not in refused.text and "labelwf init" in refused.text
    empty.close()


def test_a_stakeholder_does_not_see_who_of_the_staff_acted(api: TestClient, tokens: dict[str, str]) -> None:
    api.post(
        "/api/v1/instances/enfant/transitions", json=classify(), headers=as_(tokens["marie"], **{"If-Match": '"0"'})
    )
    history = api.get("/api/v1/instances/enfant/history", headers=as_(tokens["gouv-enfant"])).json()["items"]
    assert [e["principal"] for e in history] == [None, None]
    assert api.get("/api/v1/instances/enfant/history", headers=as_(tokens["paul"])).json()["items"][1]["principal"]


def test_a_transition_may_name_its_source_or_assumption_and_the_history_shows_the_basis(
    api: TestClient, tokens: dict[str, str]
) -> None:
    url = "/api/v1/instances/enfant/transitions"
    bad = api.post(url, json=classify(source="VIP-23\nX"), headers=as_(tokens["marie"], **{"If-Match": '"0"'}))
    assert bad.status_code == 422 and "control character" in bad.text
    fired = api.post(url, json=classify(source="VIP-23"), headers=as_(tokens["marie"], **{"If-Match": '"0"'}))
    assert fired.status_code == 201, fired.text
    history = api.get("/api/v1/instances/enfant/history", headers=as_(tokens["paul"])).json()["items"]
    assert history[0]["basis"] is None and history[1]["basis"] == {"kind": "record", "source": "VIP-23"}
