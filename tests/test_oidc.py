"""Signing in to the console through an OpenID Connect provider the tests run on 127.0.0.1.

The provider is ``oidc-provider-mock`` (Authlib's authorization server): discovery, the
authorization code flow, ID tokens signed RS256, userinfo. The console is driven with a test
client that keeps cookies like a browser; the provider's sign-in form is posted directly.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import oidc_provider_mock
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from werkzeug.serving import make_server

from labelwf import FrozenClock, Runtime, import_entities, load_settings, store
from labelwf.accounts import add_account
from labelwf.errors import ConfigError
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, POLES_CSV

EMAIL = "marie.dupont@finances.gouv.fr"
# The test provider runs on a version of Authlib newer than it was written for: its warnings are its own.
pytestmark = [
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated"),
]


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, oidc_provider_mock.app(require_nonce=True))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def _runtime(tmp_path: object, clock: FrozenClock, db: str = "oidc", **oidc: object) -> Runtime:
    overrides = {
        "database": f"sqlite:///{tmp_path}/{db}.db",
        "oidc_client_id": "labelwf",
        "oidc_client_secret": "s3cret",
        "oidc_redirect_uri": "https://testserver/console/login/oidc/callback",
        **oidc,
    }
    runtime = Runtime(load_settings(CONFIG_FILE, overrides=overrides), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    return runtime


@pytest.fixture
def runtime(tmp_path: object, clock: FrozenClock, provider: str) -> Iterator[Runtime]:
    runtime = _runtime(tmp_path, clock, oidc_issuer=provider, oidc_label="ProConnect")
    add_account(
        runtime.db,
        "marie",
        ["operator"],
        now=clock.now(),
        author="tests",
        key=None,
        email=EMAIL,
        display_name="Marie Dupont",
    )
    yield runtime
    runtime.close()


def browser(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False)


def person(provider: str, sub: str, **claims: object) -> None:
    answer = httpx.put(f"{provider}/users/{sub}", json={"email": EMAIL, "email_verified": True, **claims})
    assert answer.status_code == 204


def authorize(location: str, sub: str) -> str:
    """Sign in as ``sub`` on the provider's form; return the callback's path and query."""
    answer = httpx.post(location, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert back.path == "/console/login/oidc/callback"
    return f"{back.path}?{back.query}"


def sign_in(client: TestClient, sub: str) -> httpx.Response:
    start = client.get("/console/login/oidc")
    assert start.status_code == 303
    return client.get(authorize(start.headers["location"], sub))


def test_a_person_the_provider_vouches_for_signs_in_and_acts_under_their_account(
    runtime: Runtime, provider: str
) -> None:
    person(provider, "agent-42", given_name="Marie", usual_name="Dupont")
    client = browser(runtime)
    assert "Se connecter avec ProConnect" in client.get("/console/login").text
    start = client.get("/console/login/oidc")
    sent = parse_qs(urlsplit(start.headers["location"]).query)
    assert sent["response_type"] == ["code"] and sent["code_challenge_method"] == ["S256"]
    assert sent["state"][0] and sent["nonce"][0] and sent["client_id"] == ["labelwf"]
    assert "openid" in sent["scope"][0].split()

    back = client.get(authorize(start.headers["location"], "agent-42"))
    assert back.status_code == 200 and 'http-equiv="refresh"' in back.text
    listed = client.get("/console/instances")
    assert listed.status_code == 200 and "Marie Dupont" in listed.text

    page = client.get("/console/instances/enfant")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    version = page.text.split('name="version" value="')[1].split('"')[0]
    fired = client.post(
        "/console/instances/enfant/fire",
        data={"csrf": csrf, "version": version, "trigger": "classify", "field_group": "3", "reason": "rapport 2008"},
    )
    assert fired.status_code == 303, fired.text  # Post/Redirect/Get: the page says the decision once
    with runtime.db.read() as conn:
        principal = conn.execute(
            sa.select(store.event.c.principal).order_by(store.event.c.id.desc()).limit(1)
        ).scalar_one()
    assert principal.startswith("marie (oidc session; request ")


def test_the_identity_is_bound_on_first_sign_in_and_a_second_identity_with_that_address_is_refused(
    runtime: Runtime, provider: str
) -> None:
    person(provider, "agent-1")
    assert sign_in(browser(runtime), "agent-1").status_code == 200
    person(provider, "agent-1", email="another@finances.gouv.fr")  # the address changed: still marie
    assert sign_in(browser(runtime), "agent-1").status_code == 200
    person(provider, "impostor")  # the old address, now someone else's at the provider
    refused = sign_in(browser(runtime), "impostor")
    assert refused.status_code == 403 and "Aucun compte" in refused.text
    assert "labelwf_session" not in refused.cookies


def test_a_forged_used_or_foreign_state_is_refused_before_any_exchange(runtime: Runtime, provider: str) -> None:
    person(provider, "agent-2")
    client = browser(runtime)
    start = client.get("/console/login/oidc")
    callback = authorize(start.headers["location"], "agent-2")
    path, query = callback.split("?")
    forged = {**parse_qs(query), "state": ["forged"]}
    assert client.get(f"{path}?{urlencode(forged, doseq=True)}").status_code == 400
    stranger = browser(runtime)  # another browser, without the sign-in's cookie
    assert stranger.get(callback).status_code == 400
    assert client.get(callback).status_code == 200  # the right browser, the right state: once
    assert browser(runtime).get(callback).status_code == 400
    replayed = client.get(callback)
    assert replayed.status_code == 400 and "déjà servi" in replayed.text


def test_an_id_token_with_another_nonce_is_refused(runtime: Runtime, provider: str) -> None:
    person(provider, "agent-3")
    client = browser(runtime)
    start = urlsplit(client.get("/console/login/oidc").headers["location"])
    params = {**parse_qs(start.query), "nonce": ["not-the-one-sent"]}
    tampered = urlunsplit(start._replace(query=urlencode(params, doseq=True)))
    refused = client.get(authorize(tampered, "agent-3"))
    assert refused.status_code == 401 and "n'a pas pu être vérifiée" in html.unescape(refused.text)
    assert client.get("/console/instances").status_code == 303  # not signed in


def test_an_unverified_address_or_an_unknown_person_signs_in_as_no_one(
    tmp_path: object, clock: FrozenClock, provider: str
) -> None:
    runtime = _runtime(tmp_path, clock, oidc_issuer=provider)
    add_account(runtime.db, "paul", ["viewer"], now=clock.now(), author="tests", key=None, email="paul@culture.gouv.fr")
    httpx.put(f"{provider}/users/agent-4", json={"email": "paul@culture.gouv.fr"})  # no email_verified
    assert sign_in(browser(runtime), "agent-4").status_code == 403
    person(provider, "agent-5", email="nobody@interieur.gouv.fr")
    assert sign_in(browser(runtime), "agent-5").status_code == 403
    runtime.close()
    trusting = _runtime(tmp_path, clock, "trusting", oidc_issuer=provider, oidc_email_verified_by_issuer=True)
    add_account(
        trusting.db, "paul", ["viewer"], now=clock.now(), author="tests", key=None, email="paul@culture.gouv.fr"
    )
    assert sign_in(browser(trusting), "agent-4").status_code == 200  # the provider vouches for every address
    trusting.close()


def test_a_provider_that_does_not_answer_is_reported_and_no_provider_means_no_button(
    tmp_path: object, clock: FrozenClock
) -> None:
    down = _runtime(tmp_path, clock, oidc_issuer="http://127.0.0.1:9")
    answer = browser(down).get("/console/login/oidc")
    assert answer.status_code == 502 and "ne répond pas" in answer.text
    down.close()
    none = _runtime(tmp_path, clock, "none")
    client = browser(none)
    assert "Se connecter avec" not in client.get("/console/login").text
    assert client.get("/console/login/oidc").status_code == 404
    assert client.get("/console/login/oidc/callback?state=x&code=y").status_code == 404
    none.close()


def test_a_provider_without_the_client_s_secret_or_with_a_plain_http_address_is_a_configuration_error(
    tmp_path: object, clock: FrozenClock
) -> None:
    runtime = _runtime(tmp_path, clock, oidc_issuer="https://auth.example.gouv.fr/api/v2", oidc_client_secret="")
    with pytest.raises(ConfigError, match="oidc_client_secret"):
        create_app(runtime)
    runtime.close()
    with pytest.raises(ConfigError, match="https://"):
        load_settings(CONFIG_FILE, overrides={"oidc_issuer": "http://auth.example.gouv.fr"})
    with pytest.raises(ConfigError, match="openid"):
        load_settings(CONFIG_FILE, overrides={"oidc_scopes": "email profile"})
