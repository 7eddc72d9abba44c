"""Who administers is recorded, and nobody writes without signing in: regression tests of a hostile review.

* Starting an OIDC sign-in wrote a row per anonymous request, and the request's Host header chose the
  redirect URI: now the pending sign-in travels sealed in the browser's cookie, and the redirect URI
  comes from the configuration only (a server with OIDC and none refuses to start).
* Accounts, tokens and plan runs were outside the chain: now each is an act of the admin chain with
  its author, a token keeps its creator, a plan its executor beside its planner; verify names a
  deleted or altered act.
* A password change, a disable, a role change left sessions and tokens alive (a re-enable revived
  them); a logout without the CSRF token left the server's session valid.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import oidc_provider_mock
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from werkzeug.serving import make_server

from labelwf import Database, FrozenClock, Runtime, accounts, import_entities, load_settings, store
from labelwf.accounts import add_account, create_token
from labelwf.audit import admin_chain
from labelwf.cli import main
from labelwf.errors import AccountError, ConfigError
from labelwf.service import create_app
from labelwf.service.auth import TOKEN_REMEMBERED
from labelwf.service.oidc import check_settings
from labelwf.store.schema import admin_event, admin_head, api_token, batch, metadata
from tests.conftest import CONFIG_FILE, POLES_CSV

PASSWORD = "correct horse battery"
EMAIL = "marie.dupont@finances.gouv.fr"
CALLBACK = "https://labelwf.example.gouv.fr/console/login/oidc/callback"
pytestmark = [
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated"),
]


# --- set-up -------------------------------------------------------------------------------------


def keyed_runtime(database_url: str, clock: FrozenClock, **settings: Any) -> Runtime:
    """A runtime whose audit key exists (so acts are keyed), 71 poles imported, and root (admin)."""
    runtime = Runtime(load_settings(CONFIG_FILE, overrides={"database": database_url, **settings}), clock=clock)
    runtime.db.upgrade()
    runtime.create_audit_key()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    add_account(
        runtime.db, "root", ["admin"], password=PASSWORD, now=clock.now(), author="tests", key=runtime.audit_key
    )
    return runtime


@pytest.fixture
def runtime(database_url: str, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = keyed_runtime(database_url, clock)
    yield runtime
    runtime.close()


def acting(runtime: Runtime, author: str = "root (tests)") -> dict[str, Any]:
    return {"now": runtime.engine.clock.now(), "author": author, "key": runtime.audit_key}


def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False)


def sign_in(runtime: Runtime, name: str, password: str = PASSWORD, app: Any = None) -> tuple[TestClient, str]:
    """A browser signed in through the console's form, and its session's CSRF token."""
    browser = TestClient(app or create_app(runtime), base_url="https://testserver", follow_redirects=False)
    login = re.search(r'name="csrf" value="([^"]+)"', browser.get("/console/login").text)
    assert login is not None
    signed = browser.post("/console/login", data={"csrf": login[1], "name": name, "password": password})
    assert signed.status_code == 303, signed.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/console/instances").text)
    assert csrf is not None
    return browser, csrf[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def acts(runtime: Runtime) -> list[admin_chain.AdminEvent]:
    return admin_chain.history(runtime.db)


def counts(runtime: Runtime) -> dict[str, int]:
    """Rows of every table of the schema."""
    with runtime.db.read() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in metadata.tables.values()
        }


# --- OIDC: nothing written before the provider answers, the redirect URI from the configuration --


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, oidc_provider_mock.app(require_nonce=True))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def oidc(tmp_path: Path, clock: FrozenClock, provider: str) -> Iterator[Runtime]:
    oidc = {
        "oidc_issuer": provider,
        "oidc_client_id": "labelwf",
        "oidc_client_secret": "s3cret",
        "oidc_redirect_uri": CALLBACK,
    }
    runtime = keyed_runtime(f"sqlite:///{tmp_path}/oidc.db", clock, **oidc)
    add_account(runtime.db, "marie", ["operator"], email=EMAIL, **acting(runtime))
    httpx.put(f"{provider}/users/agent-7", json={"email": EMAIL, "email_verified": True}).raise_for_status()
    yield runtime
    runtime.close()


def callback_of(start: httpx.Response, sub: str) -> str:
    """Sign in as ``sub`` at the provider; the callback's path and query it sends the browser to."""
    answer = httpx.post(start.headers["location"], data={"sub": sub})
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return f"{back.path}?{back.query}"


def test_a_flood_of_anonymous_oidc_starts_writes_no_row_anywhere(oidc: Runtime) -> None:
    # Given the row counts of every table
    browser = client(oidc)
    before = counts(oidc)
    # When anonymous browsers start 200 sign-ins
    cookies = set()
    for _ in range(200):
        started = TestClient(browser.app, base_url="https://testserver", follow_redirects=False).get(
            "/console/login/oidc"
        )
        assert started.status_code == 303
        cookies.add(started.cookies["labelwf_oidc"])
    # Then no table gained or lost a row, and each browser holds its own sealed sign-in
    assert counts(oidc) == before
    assert len(cookies) == 200
    sent = parse_qs(urlsplit(started.headers["location"]).query)
    sealed = started.cookies["labelwf_oidc"]
    assert sent["state"][0] not in sealed and sent["nonce"][0] not in sealed  # not readable by the browser
    assert "oidc_login" not in metadata.tables


def test_a_server_with_oidc_and_no_redirect_uri_refuses_to_start(tmp_path: Path, clock: FrozenClock) -> None:
    overrides = {
        "database": f"sqlite:///{tmp_path}/x.db",
        "oidc_issuer": "https://auth.example.gouv.fr/api/v2",
        "oidc_client_id": "labelwf",
        "oidc_client_secret": "s3cret",
    }
    settings = load_settings(CONFIG_FILE, overrides=overrides)
    with pytest.raises(ConfigError, match="oidc_redirect_uri") as refused:
        check_settings(settings)
    assert "https://labelwf.example.gouv.fr/console/login/oidc/callback" in str(refused.value)  # an example
    runtime = Runtime(settings, clock=clock)
    runtime.db.upgrade()
    with pytest.raises(ConfigError, match="oidc_redirect_uri"):
        create_app(runtime)
    runtime.close()
    # And `serve` says so before it listens
    served = CliRunner().invoke(
        main,
        ["--config", str(CONFIG_FILE), "--db", f"sqlite:///{tmp_path}/x.db", "serve"],
        env={f"LABELWF_{k.upper()}": v for k, v in overrides.items() if k != "database"},
    )
    assert served.exit_code == 2 and "oidc_redirect_uri" in served.output


def test_the_host_header_cannot_choose_the_redirect_uri(oidc: Runtime) -> None:
    hostile = TestClient(create_app(oidc), base_url="https://evil.example", follow_redirects=False)
    started = hostile.get("/console/login/oidc", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert started.status_code == 303
    assert parse_qs(urlsplit(started.headers["location"]).query)["redirect_uri"] == [CALLBACK]


def test_a_replayed_callback_is_refused_even_with_the_cookie_kept(oidc: Runtime, clock: FrozenClock) -> None:
    # Given a sign-in that succeeded, its sealed cookie kept aside
    browser = client(oidc)
    start = browser.get("/console/login/oidc")
    sealed = start.cookies["labelwf_oidc"]
    callback = callback_of(start, "agent-7")
    assert browser.get(callback).status_code == 200
    # When the callback is replayed with the same cookie
    replay = client(oidc)
    replay.cookies.set("labelwf_oidc", sealed, domain="testserver", path="/console/login/oidc")
    refused = replay.get(callback)
    # Then it is refused before any exchange, and no session is opened
    assert refused.status_code == 400 and "déjà servi" in refused.text
    assert "labelwf_session" not in refused.cookies
    # And a cookie changed by one character, or expired, is refused too
    other = client(oidc)
    start = other.get("/console/login/oidc")
    callback = callback_of(start, "agent-7")
    tampered = client(oidc)
    forged = start.cookies["labelwf_oidc"]
    forged = forged[:-2] + ("A" if forged[-2] != "A" else "B") + forged[-1]
    tampered.cookies.set("labelwf_oidc", forged, domain="testserver", path="/console/login/oidc")
    assert tampered.get(callback).status_code == 400
    clock.advance(timedelta(minutes=10, seconds=1))
    assert other.get(callback).status_code == 400


def test_binding_an_identity_at_its_first_oidc_sign_in_is_an_act_of_the_chain(oidc: Runtime) -> None:
    browser = client(oidc)
    assert browser.get(callback_of(browser.get("/console/login/oidc"), "agent-7")).status_code == 200
    bound = acts(oidc)[-1]
    assert (bound.action, bound.subject, bound.author) == ("account.identity", "marie", "marie (oidc sign-in)")
    assert bound.data["subject"] == "agent-7" and bound.data["email"] == EMAIL


# --- every administrative act in the chain, with its author -------------------------------------


def test_each_account_and_token_act_is_a_chain_event_with_its_author(runtime: Runtime) -> None:
    # When an admin adds an account, changes its roles, its password, disables and enables it,
    # issues it a token and revokes it
    add_account(runtime.db, "bob", ["viewer"], password=PASSWORD, reason="arrivée", **acting(runtime))
    accounts.set_roles(runtime.db, "bob", ["operator"], reason="nouvelle mission", **acting(runtime))
    accounts.set_password(runtime.db, "bob", "un autre mot de passe", **acting(runtime))
    accounts.set_disabled(runtime.db, "bob", True, reason="départ", **acting(runtime))
    accounts.set_disabled(runtime.db, "bob", False, **acting(runtime))
    token_id, secret = create_token(runtime.db, "bob", "relances", **acting(runtime))
    accounts.revoke_token(runtime.db, token_id, **acting(runtime, "alice (tests)"))
    # Then each is an act of the chain, in order, with its author and no secret
    found = acts(runtime)
    assert [(a.action, a.subject) for a in found] == [
        ("account.create", "root"),
        ("account.create", "bob"),
        ("account.roles", "bob"),
        ("account.password", "bob"),
        ("account.disable", "bob"),
        ("account.enable", "bob"),
        ("token.issue", f"token {token_id}"),
        ("token.revoke", f"token {token_id}"),
    ]
    assert [a.seq for a in found] == list(range(1, 9)) and all(a.hash_format == 2 for a in found)  # keyed
    assert found[1].reason == "arrivée" and found[1].data["roles"] == ["viewer"] and found[1].data["password"] is True
    assert found[2].data["before"] == ["viewer"] and found[2].data["after"] == ["operator"]
    assert found[6].author == "root (tests)" and found[6].data == {"owner": "bob", "label": "relances"}
    assert found[7].author == "alice (tests)" and found[7].data["created_by"] == "root (tests)"
    written = repr([(a.data, a.reason) for a in found])
    assert PASSWORD not in written and "un autre mot de passe" not in written and secret not in written
    report = admin_chain.verify(runtime.db, key=runtime.audit_key)
    assert report.ok and report.events == 8 and report.unauthenticated == 0


def test_an_admin_minting_a_token_for_bob_is_recorded_as_its_creator(runtime: Runtime, database_url: str) -> None:
    # Given bob, an operator, and root signed in to the console
    add_account(runtime.db, "bob", ["operator"], password=PASSWORD, **acting(runtime))
    browser, csrf = sign_in(runtime, "root")
    # When root creates a token for bob
    posted = browser.post("/console/admin/token", data={"csrf": csrf, "name": "bob", "label": "pour bob"})
    assert posted.status_code == 303 and posted.headers["location"] == "/console/admin", posted.text
    made = browser.get("/console/admin")
    # Then the token names root as its creator, in the console's list, the CLI's and the chain
    (token,) = [t for t in accounts.tokens(runtime.db) if t["account"] == "bob"]
    assert token["created_by"].startswith("root (password session; request ")
    assert "Créé par" in made.text and token["created_by"] in made.text
    issued = acts(runtime)[-1]
    assert (issued.action, issued.subject, issued.author) == (
        "token.issue",
        f"token {token['id']}",
        token["created_by"],
    )
    assert issued.data["owner"] == "bob"
    cli = ["--config", str(CONFIG_FILE), "--db", database_url, "tokens", "list", "--json"]
    listed = CliRunner().invoke(main, cli)
    assert listed.exit_code == 0 and '"created_by": "root (password session; request ' in listed.stdout


def test_a_deleted_or_altered_act_breaks_audit_verify(runtime: Runtime, database_url: str) -> None:
    # Given a few acts, verified intact
    add_account(runtime.db, "bob", ["viewer"], password=PASSWORD, **acting(runtime))
    accounts.set_roles(runtime.db, "bob", ["admin"], **acting(runtime))
    create_token(runtime.db, "bob", "script", **acting(runtime))
    cli = ["--config", str(CONFIG_FILE), "--db", database_url, "audit", "verify"]
    intact = CliRunner().invoke(main, cli)
    assert intact.exit_code == 0 and "administrative acts intact: 4 act(s) verified" in intact.stdout
    # When the role change's data is rewritten (bob made admin by "nobody")
    with runtime.db.write() as conn:
        conn.execute(admin_event.update().where(admin_event.c.seq == 3).values(author="someone else"))
    # Then verify names the altered act and exits 6
    broken = CliRunner().invoke(main, cli)
    assert broken.exit_code == 6, broken.output
    assert "act #3: stored hash does not match the act's content" in broken.stderr
    with runtime.db.write() as conn:
        conn.execute(admin_event.update().where(admin_event.c.seq == 3).values(author="root (tests)"))
    assert admin_chain.verify(runtime.db, key=runtime.audit_key).ok
    # When the newest act (the token's issue) is deleted
    with runtime.db.write() as conn:
        conn.execute(admin_event.delete().where(admin_event.c.seq == 4))
    report = admin_chain.verify(runtime.db, key=runtime.audit_key)
    assert not report.ok and "the head says 4 act(s) but the chain ends at act #3" in str(report.breaks[0])
    # When the head is moved back too, a hash recomputed without the key does not pass for a keyed act
    with runtime.db.write() as conn:
        row = conn.execute(sa.select(admin_event).where(admin_event.c.seq == 3)).mappings().one()
        conn.execute(admin_head.update().values(seq=3, last_hash=row["hash"]))
        conn.execute(admin_event.update().where(admin_event.c.seq == 2).values(data={"before": [], "after": []}))
    report = admin_chain.verify(runtime.db, key=runtime.audit_key)
    assert not report.ok and report.breaks[0].seq == 2
    # And without the key, verify still checks the structure and says it did not authenticate
    report = admin_chain.verify(runtime.db, key=None)
    assert report.ok and report.unauthenticated == 3


def test_the_newest_acts_deleted_with_the_head_moved_back_are_named_against_a_checkpoint(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    # Given two acts and a checkpoint taken after them
    create_token(runtime.db, "root", "script", **acting(runtime))
    base = ["--config", str(CONFIG_FILE), "--db", database_url, "audit"]
    taken = CliRunner().invoke(main, [*base, "checkpoint", "-o", str(tmp_path / "cp.json")])
    assert taken.exit_code == 0, taken.output
    # When the token's issue is deleted and the head set back to the act before (what passes the chain alone)
    with runtime.db.write() as conn:
        first = conn.execute(sa.select(admin_event.c.hash).where(admin_event.c.seq == 1)).scalar_one()
        conn.execute(admin_event.delete().where(admin_event.c.seq == 2))
        conn.execute(admin_head.update().values(seq=1, last_hash=first))
    assert admin_chain.verify(runtime.db, key=runtime.audit_key).ok
    # Then verify against the checkpoint names the shorter table
    broken = CliRunner().invoke(main, [*base, "verify", "--checkpoint", str(tmp_path / "cp.json")])
    assert broken.exit_code == 6 and "table admin_event has 1 row(s)" in broken.output, broken.output


def test_an_unkeyed_act_after_keyed_ones_is_refused_and_one_forged_so_is_a_break(runtime: Runtime) -> None:
    # An act without the key, in a keyed chain, is refused and changes nothing
    with pytest.raises(ConfigError, match="audit_key_file"):
        add_account(runtime.db, "bob", ["viewer"], now=runtime.engine.clock.now(), author="x", key=None)
    assert [a.subject for a in acts(runtime)] == ["root"] and not any(
        a.name == "bob" for a in accounts.accounts(runtime.db)
    )
    # And one written by hand, its sha256 recomputed and the head moved to it, breaks the chain
    (root,) = acts(runtime)
    forged = admin_chain.AdminEvent(
        2, "account.roles", "mallory", "root (tests)", None, {}, root.occurred_at, root.occurred_at, root.hash, "", 1
    )
    forged_hash = admin_chain.admin_hash(forged)
    with runtime.db.write() as conn:
        values = {name: getattr(forged, name) for name in forged.__slots__}
        conn.execute(admin_event.insert().values(values | {"hash": forged_hash}))
        conn.execute(admin_head.update().values(seq=2, last_hash=forged_hash))
    for key in (runtime.audit_key, None):
        report = admin_chain.verify(runtime.db, key=key)
        assert not report.ok and "an unkeyed act follows keyed ones" in str(report.breaks[0])


def test_the_last_enabled_admin_keeps_the_admin_role(runtime: Runtime) -> None:
    with pytest.raises(AccountError, match="last enabled admin"):
        accounts.set_roles(runtime.db, "root", ["operator"], **acting(runtime))
    with pytest.raises(AccountError, match="stakeholder"):
        accounts.set_roles(runtime.db, "root", ["stakeholder"], **acting(runtime))
    assert [a.action for a in acts(runtime)] == ["account.create"]  # nothing recorded for a refusal


# --- the executor of a plan beside its planner --------------------------------------------------


def test_a_plan_executed_by_another_supervisor_records_its_executor_beside_its_planner(runtime: Runtime) -> None:
    # Given sophie plans a decision, and claire, another supervisor, executes it
    made = {}
    for name in ("sophie", "claire"):
        add_account(runtime.db, name, ["supervisor"], password=PASSWORD, **acting(runtime))
        made[name] = create_token(runtime.db, name, "tests", **acting(runtime))[1]
    api = TestClient(create_app(runtime))
    body = {
        "kind": "decision",
        "trigger": "classify",
        "data": {"group": 1},
        "selection": {"entities": ["mta", "pass"]},
        "reference": "Décision du 30 juin 2008",
        "reason": "classement",
    }
    planned = api.post("/api/v1/batches", json=body, headers=bearer(made["sophie"]))
    assert planned.status_code == 201, planned.text
    plan_id = planned.json()["id"]
    ran = api.post(f"/api/v1/batches/{plan_id}/execution", headers=bearer(made["claire"]))
    assert ran.status_code == 200, ran.text
    # Then the plan keeps both, its events carry the executor, and the chain has the run with both
    assert ran.json()["principal"].startswith("sophie (token ")
    assert ran.json()["executed_by"].startswith("claire (token ")
    with runtime.db.read() as conn:
        stored = conn.execute(sa.select(batch.c.executed_by).where(batch.c.id == plan_id)).scalar_one()
        principals = set(
            conn.execute(sa.select(store.event.c.principal).where(store.event.c.batch_id == plan_id)).scalars()
        )
    assert stored == ran.json()["executed_by"] and principals == {stored}
    run = acts(runtime)[-1]
    assert (run.action, run.subject, run.author) == ("plan.execute", f"plan {plan_id}", stored)
    assert run.data["planner"] == ran.json()["principal"] and run.data["pending"] == 2
    # And running the finished plan again records nothing
    api.post(f"/api/v1/batches/{plan_id}/execution", headers=bearer(made["claire"]))
    assert acts(runtime)[-1].seq == run.seq


# --- sessions and tokens end with a password, a disable, a role change --------------------------


@pytest.mark.parametrize("act", ["password", "disable", "roles"])
def test_a_password_change_a_disable_or_a_role_change_ends_sessions_and_tokens(
    runtime: Runtime, clock: FrozenClock, act: str
) -> None:
    # Given marie signed in to the console, with an API token
    add_account(runtime.db, "marie", ["operator"], password=PASSWORD, **acting(runtime))
    _, token = create_token(runtime.db, "marie", "script", **acting(runtime))
    app = create_app(runtime)
    browser, _ = sign_in(runtime, "marie", app=app)
    api = TestClient(app)
    assert api.get("/api/v1/instances", headers=bearer(token)).status_code == 200
    # When an admin acts on her account from elsewhere (the CLI)
    if act == "password":
        accounts.set_password(runtime.db, "marie", "un nouveau mot de passe", **acting(runtime))
    elif act == "disable":
        accounts.set_disabled(runtime.db, "marie", True, **acting(runtime))
        accounts.set_disabled(runtime.db, "marie", False, **acting(runtime))  # and enables it again
    else:
        accounts.set_roles(runtime.db, "marie", ["viewer"], **acting(runtime))
    clock.advance(TOKEN_REMEMBERED)
    # Then her session and her token are over: re-enabled or not, she signs in afresh
    assert browser.get("/console/instances").status_code == 303
    assert api.get("/api/v1/instances", headers=bearer(token)).status_code == 401
    ended = acts(runtime)[-1]
    assert ended.data["sessions_ended"] == (0 if act == "disable" else 1) and len(ended.data["tokens_revoked"]) == (
        0 if act == "disable" else 1
    )
    if act == "disable":  # the disable ended them; the enable found nothing to end, and revived nothing
        assert acts(runtime)[-2].data["sessions_ended"] == 1


def test_a_console_role_change_ends_the_sessions_of_that_account(runtime: Runtime) -> None:
    add_account(runtime.db, "bob", ["operator"], password=PASSWORD, **acting(runtime))
    app = create_app(runtime)
    bob, _ = sign_in(runtime, "bob", app=app)
    root, csrf = sign_in(runtime, "root", app=app)
    posted = root.post("/console/admin/roles", data={"csrf": csrf, "name": "bob", "roles": "viewer", "reason": "r"})
    assert posted.status_code == 303
    changed = root.get(posted.headers["location"])
    assert changed.status_code == 200 and "Rôles de bob : lecteur" in changed.text
    assert bob.get("/console/instances").status_code == 303
    last = acts(runtime)[-1]
    assert last.action == "account.roles" and last.author.startswith("root (password session") and last.reason == "r"


# --- logout -------------------------------------------------------------------------------------


def test_a_logout_without_the_csrf_token_ends_the_server_session(runtime: Runtime) -> None:
    # Given marie signed in, and a copy of her session cookie
    add_account(runtime.db, "marie", ["operator"], password=PASSWORD, **acting(runtime))
    app = create_app(runtime)
    browser, _ = sign_in(runtime, "marie", app=app)
    copied = browser.cookies["labelwf_session"]
    # When she signs out with a form that carries no CSRF token
    out = browser.post("/console/logout", data={})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    # Then the copy is worth nothing: the server's session is gone
    thief = TestClient(app, base_url="https://testserver", follow_redirects=False)
    thief.cookies.set("labelwf_session", copied, domain="testserver", path="/")
    assert thief.get("/console/instances").status_code == 303
    with runtime.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.schema.console_session)).scalar_one() == 0
    # And a GET does not sign anyone out
    assert browser.get("/console/logout").status_code in (404, 405)


def test_tokens_issued_before_the_chain_show_no_creator(runtime: Runtime) -> None:
    _, secret = create_token(runtime.db, "root", "old", **acting(runtime))
    with runtime.db.write() as conn:
        conn.execute(api_token.update().values(created_by=None))  # as a token of schema 0008 stands
    assert accounts.tokens(runtime.db)[0]["created_by"] is None
    assert accounts.account_of_token(runtime.db, secret) is not None


def test_audit_acts_lists_who_did_what_to_an_account(runtime: Runtime, database_url: str) -> None:
    add_account(runtime.db, "bob", ["viewer"], password=PASSWORD, reason="arrivée", **acting(runtime))
    accounts.set_roles(runtime.db, "bob", ["operator"], **acting(runtime, "alice (tests)"))
    base = ["--config", str(CONFIG_FILE), "--db", database_url, "audit", "acts"]
    listed = CliRunner().invoke(main, [*base, "--subject", "bob", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"action": "account.roles"' in listed.stdout and '"author": "alice (tests)"' in listed.stdout
    shown = CliRunner().invoke(main, [*base, "--last", "1"])
    assert shown.exit_code == 0 and "1 acte(s)" in shown.stdout and "rôles changés" in shown.stdout
    assert "compte créé" not in shown.stdout and "account.roles" not in shown.stdout  # the id stays in --json
    users = CliRunner().invoke(main, ["--config", str(CONFIG_FILE), "--db", database_url, "users", "list"])
    assert users.exit_code == 0 and "bob" in users.stdout and "agent" in users.stdout
    assert "operator" not in users.stdout


def test_the_first_serve_creates_admin_when_no_active_administrator_exists_even_beside_other_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    url = f"sqlite:///{tmp_path / 'serve.db'}"
    base = ["--config", str(CONFIG_FILE), "--db", url]
    assert CliRunner().invoke(main, [*base, "init"]).exit_code == 0
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    # Given the quick start's order: a signatory added before the service ever started
    added = ["users", "add", "signataire.demo", "--role", "signatory", "--post", "datar", "--no-password"]
    assert CliRunner().invoke(main, [*base, *added]).exit_code == 0
    # When the service starts, then again
    first = CliRunner().invoke(main, [*base, "serve"])
    second = CliRunner().invoke(main, [*base, "serve"])
    # Then the first start creates admin and says its password once; the second creates nothing
    assert first.exit_code == 0 and "account admin created, password" in first.stderr
    assert second.exit_code == 0 and "account admin created" not in second.stderr
    db = Database(url)
    assert [list(a.roles) for a in accounts.accounts(db) if a.name == "admin"] == [["admin"]]
    db.dispose()
