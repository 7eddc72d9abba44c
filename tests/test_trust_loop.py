"""Nobody stalls the server or locks an account out without signing in: password checks and the
console's database work run off the event loop on small bounded pools (503 with Retry-After
beyond them), and failed sign-ins are throttled per client address and per name with growing
delays, never a lock. The red team's findings, as regression tests."""

from __future__ import annotations

import html
import re
import socket
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import requests
import uvicorn
from fastapi.testclient import TestClient
from starlette.requests import Request

from labelwf import FrozenClock, Runtime, accounts, import_entities, load_settings
from labelwf.errors import ConfigError, Overloaded
from labelwf.service import create_app
from labelwf.service.offload import Gate
from labelwf.service.throttle import FORGET_S, Throttle, Wait, client_address, networks
from tests.conftest import CONFIG_FILE, POLES_CSV

PASSWORD = "correct horse battery"
WRONG = "not the password at all"
ELSEWHERE, ATTACKER = ("203.0.113.9", 40000), ("198.51.100.7", 40000)


def make_runtime(tmp_path: Path, clock: FrozenClock, **settings: Any) -> Runtime:
    overrides = {"database": f"sqlite:///{tmp_path / 'loop.db'}", **settings}
    runtime = Runtime(load_settings(CONFIG_FILE, overrides=overrides), clock=clock)
    runtime.db.upgrade()
    import_entities(runtime.engine, POLES_CSV, actor="import", reason="set-up")
    for name, roles in (("root", ["admin"]), ("marie", ["operator"]), ("paul", ["viewer"])):
        accounts.add_account(
            runtime.db, name, roles, now=clock.now(), password=PASSWORD, author="tests", key=runtime.audit_key
        )
    return runtime


@pytest.fixture
def runtime(tmp_path: Path, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = make_runtime(tmp_path, clock, login_failures_free=3, login_delay_max_seconds=60)
    yield runtime
    runtime.close()


def browser(runtime: Runtime, client: tuple[str, int] = ATTACKER) -> TestClient:
    """A browser at ``client`` (its address as the server's socket sees it) with the sign-in form's cookie."""
    return TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False, client=client)


def sign_in(web: TestClient, name: str, password: str, **headers: str) -> Any:
    """A sign-in posted with the form's CSRF token and its cookie, as the sign-in page set them."""
    data = {"csrf": "form-token", "name": name, "password": password}
    return web.post("/console/login", data=data, headers={"Cookie": "labelwf_login=form-token", **headers})


# --- growing delays, never a lock ---------------------------------------------------------------


def test_wrong_passwords_for_admin_from_one_address_never_keep_the_admin_out_from_another(runtime: Runtime) -> None:
    # Given an attacker who fails twenty times on the admin's name from one address
    attacker = browser(runtime, ATTACKER)
    answers = [sign_in(attacker, "root", WRONG).status_code for _ in range(20)]
    assert answers[:3] == [401, 401, 401] and set(answers[3:]) == {429}
    # When the admin signs in from an address that has not failed, the clock not moved at all
    admin = TestClient(attacker.app, base_url="https://testserver", follow_redirects=False, client=ELSEWHERE)
    signed = sign_in(admin, "root", PASSWORD)
    # Then the admin is in at once
    assert signed.status_code == 303 and signed.headers["location"] == "/console"


def test_an_address_that_keeps_failing_waits_twice_as_long_each_time_up_to_the_maximum(runtime: Runtime) -> None:
    clock: FrozenClock = runtime.engine.clock  # type: ignore[assignment]
    web = browser(runtime)
    for name in ("root", "marie", "paul"):  # the free failures, on any names
        assert sign_in(web, name, WRONG).status_code == 401
    waits = []
    for _ in range(8):
        refused = sign_in(web, "root", WRONG)
        assert refused.status_code == 429
        assert "Trop d'essais infructueux depuis votre adresse" in html.unescape(refused.text)
        waits.append(int(refused.headers["Retry-After"]))
        clock.advance(timedelta(seconds=waits[-1]))
        assert sign_in(web, "root", WRONG).status_code == 401  # waited: checked again (and wrong again)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


def test_a_name_guessed_from_many_addresses_slows_down_each_of_them_but_not_a_new_one(runtime: Runtime) -> None:
    # Given three addresses failing once each on root (none past its own free failures)
    app = create_app(runtime)
    guessers = []
    for n in range(3):
        web = TestClient(app, base_url="https://testserver", follow_redirects=False, client=(f"192.0.2.{n}", 1))
        assert sign_in(web, "root", WRONG).status_code == 401
        guessers.append(web)
    # When one of them tries root again, it waits for the name; another name it may still try
    again = sign_in(guessers[0], "root", WRONG)
    assert again.status_code == 429 and "pour cet identifiant" in html.unescape(again.text)
    assert again.headers["Retry-After"] == "1"
    assert sign_in(guessers[0], "marie", WRONG).status_code == 401
    # And an address that never failed signs root in with the right password
    fresh = TestClient(app, base_url="https://testserver", follow_redirects=False, client=ELSEWHERE)
    assert sign_in(fresh, "root", PASSWORD).status_code == 303


def test_spraying_one_password_across_many_names_from_one_address_is_slowed_by_the_address(runtime: Runtime) -> None:
    web = browser(runtime)
    answers = [sign_in(web, f"user{n}", WRONG).status_code for n in range(30)]
    assert answers.count(401) == 3 and answers.count(429) == 27


def test_a_success_clears_the_names_failures_but_not_the_addresses(clock: FrozenClock) -> None:
    throttle = Throttle(clock, free=2, delay_max_s=60)
    for name in ("a", "b"):
        assert throttle.admit("10.0.0.1", name) is None  # counted as failures: wrong passwords
    assert throttle.admit("10.0.0.1", "mine") == Wait(1, "address")
    clock.advance(timedelta(seconds=1))
    assert throttle.admit("10.0.0.1", "mine") is None
    throttle.forgive("10.0.0.1", "mine", signed_in=True)  # its own account: right password
    assert throttle.admit("10.0.0.1", "c") == Wait(1, "address")  # the sprayer's count is still there


def test_an_attempt_never_checked_is_no_failure(clock: FrozenClock) -> None:
    throttle = Throttle(clock, free=1, delay_max_s=60)
    for _ in range(5):
        assert throttle.admit("10.0.0.2", "root") is None
        throttle.forgive("10.0.0.2", "root", signed_in=False)  # 503: the password was not checked
    assert throttle.admit("10.0.0.2", "root") is None


def test_the_throttle_forgets_after_an_hour_and_holds_a_bounded_number_of_records(clock: FrozenClock) -> None:
    throttle = Throttle(clock, free=1, delay_max_s=3600, limit=100)
    for n in range(5000):  # an attacker with many addresses and names
        throttle.admit(f"10.1.{n // 250}.{n % 250}", f"name{n}")
    assert len(throttle.addresses) == 100 and len(throttle.names) == 100
    throttle.admit("10.9.9.9", "root")
    assert throttle.admit("10.9.9.9", "root") == Wait(1, "address")
    clock.advance(timedelta(seconds=FORGET_S))
    assert throttle.admit("10.9.9.9", "root") is None


def request_from(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "client": (peer, 1)})


def test_x_forwarded_for_is_honoured_only_from_a_trusted_proxy() -> None:
    trusted = networks(["127.0.0.1", "10.0.0.0/8"])
    # A client that writes the header itself is its socket's address all the same
    assert client_address(request_from("198.51.100.7", "1.2.3.4"), trusted) == "198.51.100.7"
    assert client_address(request_from("198.51.100.7", "1.2.3.4"), ()) == "198.51.100.7"
    # Behind trusted proxies, the nearest address that is not one; what the client wrote left of it is not
    assert client_address(request_from("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3"), trusted) == "203.0.113.9"
    assert client_address(request_from("127.0.0.1", "garbage, 203.0.113.9"), trusted) == "203.0.113.9"
    assert client_address(request_from("127.0.0.1"), trusted) == "127.0.0.1"
    # IPv6 counts per /64 (a host has a whole one); an IPv4 address mapped in IPv6 counts as itself
    assert client_address(request_from("2001:db8:1:2:aaaa::1"), ()) == "2001:db8:1:2::/64"
    assert client_address(request_from("::ffff:198.51.100.7"), ()) == "198.51.100.7"


def test_behind_a_trusted_proxy_each_client_address_is_throttled_apart(tmp_path: Path, clock: FrozenClock) -> None:
    runtime = make_runtime(tmp_path, clock, login_failures_free=2, trusted_proxies="127.0.0.1")
    try:
        proxy = browser(runtime, ("127.0.0.1", 1))
        via = {"X-Forwarded-For": "198.51.100.7"}
        assert [sign_in(proxy, "root", WRONG, **via).status_code for _ in range(3)] == [401, 401, 429]
        # Another client behind the same proxy has not failed: it signs in
        assert sign_in(proxy, "root", PASSWORD, **{"X-Forwarded-For": "203.0.113.9"}).status_code == 303
        # A client not behind the proxy cannot pick its address: every attempt is its socket's
        direct = browser(runtime, ("192.0.2.50", 1))
        answers = [sign_in(direct, "paul", WRONG, **{"X-Forwarded-For": f"10.0.0.{n}"}).status_code for n in range(3)]
        assert answers == [401, 401, 429]
    finally:
        runtime.close()


def test_the_sign_in_limits_and_the_trusted_proxies_are_checked_where_they_are_set() -> None:
    settings = load_settings(
        CONFIG_FILE,
        env={},
        overrides={"trusted_proxies": "127.0.0.1, 10.0.0.0/8 ::1", "login_failures_free": "7"},
    )
    assert settings.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    assert settings.login_failures_free == 7 and settings.login_delay_max_seconds == 900
    with pytest.raises(ConfigError, match=r"proxy\.example") as refused:
        load_settings(CONFIG_FILE, env={}, overrides={"trusted_proxies": ["proxy.example"]})
    assert "CIDR" in refused.value.expected
    for key, value in (
        ("login_failures_free", "0"),
        ("login_delay_max_seconds", "86400"),
        ("login_failures_free", "2.5"),
    ):
        with pytest.raises(ConfigError) as bad:
            load_settings(CONFIG_FILE, env={}, overrides={key: value})
        assert bad.value.key == key and bad.value.value == value


# --- off the event loop ---------------------------------------------------------------------------


def test_a_gate_runs_its_work_on_threads_and_refuses_beyond_what_it_runs_and_queues() -> None:
    gate, release = Gate("password checks", 1, 1), threading.Event()
    loop_thread = threading.get_ident()
    ran_on: list[int] = []

    def work() -> str:
        ran_on.append(threading.get_ident())
        release.wait(10)
        return "checked"

    async def main() -> list[Any]:
        results: list[Any] = []

        async def one() -> None:
            try:
                results.append(await gate.run(work))
            except Overloaded as exc:
                results.append(exc)
                release.set()  # the third is refused at once: the others may finish

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(one)
        return results

    results = anyio.run(main)
    assert results[0].what == "password checks" and results[0].retry_after_s == 1
    assert results[1:] == ["checked", "checked"] and loop_thread not in ran_on
    assert gate.admitted == 0


@contextmanager
def serving(runtime: Runtime) -> Iterator[tuple[str, Any]]:
    """A real server on 127.0.0.1 over ``runtime``: its base URL and its application."""
    app = create_app(runtime)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:  # the socket listens already: a request waits in its backlog until the server takes it
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def post_login(base: str, name: str, password: str, address: str | None = None) -> requests.Response:
    headers = {"Cookie": "labelwf_login=form-token"}
    if address is not None:
        headers["X-Forwarded-For"] = address
    data = {"csrf": "form-token", "name": name, "password": password}
    return requests.post(f"{base}/console/login", data=data, headers=headers, allow_redirects=False, timeout=30)


def timed(call: Callable[[], requests.Response]) -> float:
    started = time.perf_counter()
    answer = call()
    assert answer.status_code == 200, answer.text[:300]
    return time.perf_counter() - started


def test_a_read_and_the_health_check_answer_while_eight_clients_flood_wrong_sign_ins(
    tmp_path: Path, clock: FrozenClock
) -> None:
    # Given a server behind a proxy, flooded by 8 clients posting wrong sign-ins from ever new addresses
    # (none throttled: every one costs a password check)
    runtime = make_runtime(tmp_path, clock, trusted_proxies="127.0.0.1")
    _, token = accounts.create_token(
        runtime.db, "paul", "reads", now=clock.now(), author="tests", key=runtime.audit_key
    )
    read = {"Authorization": f"Bearer {token}"}
    stop, flowing, statuses = threading.Event(), threading.Event(), []

    def flood(n: int) -> None:
        for k in range(100_000):
            if stop.is_set():
                return
            statuses.append(post_login(base, f"guess{n}-{k}", WRONG, f"10.{n}.{k // 250}.{k % 250}").status_code)
            flowing.set()

    try:
        with serving(runtime) as (base, _):
            flooders = [threading.Thread(target=flood, args=(n,)) for n in range(8)]
            for f in flooders:
                f.start()
            try:
                assert flowing.wait(60)  # the flood is on: password checks are being answered
                # When a viewer reads and a probe checks health, twenty times each
                listing = f"{base}/api/v1/instances?limit=20"
                reads: list[float] = []
                healths: list[float] = []
                for _ in range(20):
                    reads.append(timed(lambda: requests.get(listing, headers=read, timeout=30)))
                    healths.append(timed(lambda: requests.get(f"{base}/healthz", timeout=30)))
            finally:
                stop.set()
                for f in flooders:
                    f.join(timeout=60)
    finally:
        runtime.close()
    # Then each answers without waiting for the checks (a stall would be seconds; loosely bounded here)
    assert max(reads) < 1.0 and max(healths) < 1.0, (statistics.median(reads), max(reads), max(healths))
    assert statuses.count(401) >= 8 and set(statuses) <= {401, 503}


def test_sign_ins_beyond_the_pool_of_password_checks_get_503_with_retry_after_at_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    check = accounts.check_password

    def slow_check(*args: Any) -> Any:
        entered.set()
        release.wait(30)
        return check(*args)

    monkeypatch.setattr(accounts, "check_password", slow_check)
    with serving(runtime) as (base, app):
        app.state.passwords = Gate("password checks", 1, 0)
        first: list[requests.Response] = []
        holder = threading.Thread(target=lambda: first.append(post_login(base, "root", WRONG)))
        holder.start()
        assert entered.wait(30)
        started = time.perf_counter()
        refused = post_login(base, "marie", PASSWORD)
        waited = time.perf_counter() - started
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        release.set()
        holder.join(timeout=30)
        # The refused attempt was never checked: marie signs in right after
        signed = post_login(base, "marie", PASSWORD)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1" and waited < 1.0
    assert "réessayez dans quelques secondes" in html.unescape(refused.text)
    assert first[0].status_code == 401 and signed.status_code == 303


def session_of(base: str, name: str) -> tuple[str, str, str]:
    """A console session's cookie, and the CSRF token and version that enfant's page shows it."""
    signed = post_login(base, name, PASSWORD)
    assert signed.status_code == 303
    cookie = re.search(r"labelwf_session=([^;]+)", signed.headers["set-cookie"])
    assert cookie is not None
    page = requests.get(
        f"{base}/console/instances/enfant", headers={"Cookie": f"labelwf_session={cookie[1]}"}, timeout=30
    ).text
    csrf, version = re.search(r'name="csrf" value="([^"]+)"', page), re.search(r'name="version" value="(\d+)"', page)
    assert csrf is not None and version is not None
    return cookie[1], csrf[1], version[1]


def test_a_console_fire_waiting_for_another_process_s_write_lock_does_not_hold_the_health_check(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make_runtime(tmp_path, clock, busy_timeout_ms=20_000)
    waiting = threading.Event()
    write = runtime.db.write

    @contextmanager
    def watched_write() -> Iterator[Any]:
        waiting.set()  # the fire is about to wait for the lock
        with write() as conn:
            yield conn

    try:
        with serving(runtime) as (base, _):
            cookie, csrf, version = session_of(base, "marie")
            monkeypatch.setattr(runtime.db, "write", watched_write)
            # Given another process holding SQLite's write lock
            other = sqlite3.connect(tmp_path / "loop.db", isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            fired: list[requests.Response] = []
            form = {"csrf": csrf, "version": version, "trigger": "classify", "field_group": "3", "reason": "CIADT"}

            def fire() -> None:
                fired.append(
                    requests.post(
                        f"{base}/console/instances/enfant/fire",
                        data=form,
                        headers={"Cookie": f"labelwf_session={cookie}", "HX-Request": "true"},  # answered in place
                        timeout=60,
                    )
                )

            firing = threading.Thread(target=fire)
            firing.start()
            # When the console's fire waits for the lock
            assert waiting.wait(30)
            # Then the health check answers at once
            took = timed(lambda: requests.get(f"{base}/healthz", timeout=30))
            other.execute("ROLLBACK")
            other.close()
            firing.join(timeout=60)
    finally:
        runtime.close()
    assert took < 1.0
    assert fired[0].status_code == 200 and "Décision enregistrée" in html.unescape(fired[0].text)


def test_serve_does_not_let_uvicorn_take_a_client_s_x_forwarded_for_as_its_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from labelwf.cli import main

    url = f"sqlite:///{tmp_path / 'serve.db'}"
    assert CliRunner().invoke(main, ["--config", str(CONFIG_FILE), "--db", url, "init"]).exit_code == 0
    given: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: given.append(options))
    monkeypatch.setenv("LABELWF_CONFIG", str(CONFIG_FILE))  # what serve --workers sets: undone after the test
    monkeypatch.setenv("LABELWF_DATABASE", url)
    for workers in ("1", "2"):
        served = CliRunner().invoke(main, ["--config", str(CONFIG_FILE), "--db", url, "serve", "--workers", workers])
        assert served.exit_code == 0, served.output
    assert [options["proxy_headers"] for options in given] == [False, False]


def test_a_console_form_beyond_the_console_s_pool_gets_a_page_saying_to_retry_with_retry_after(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make_runtime(tmp_path, clock)
    entered, release = threading.Event(), threading.Event()
    write = runtime.db.write

    @contextmanager
    def held_write() -> Iterator[Any]:
        entered.set()
        release.wait(30)
        with write() as conn:
            yield conn

    try:
        with serving(runtime) as (base, app):
            cookie, csrf, version = session_of(base, "marie")
            app.state.console = Gate("console forms", 1, 0)
            monkeypatch.setattr(runtime.db, "write", held_write)
            form = {"csrf": csrf, "version": version, "trigger": "classify", "field_group": "3", "reason": "CIADT"}
            headers = {"Cookie": f"labelwf_session={cookie}", "HX-Request": "true"}  # answered in place
            url = f"{base}/console/instances/enfant/fire"
            first: list[requests.Response] = []
            holder = threading.Thread(
                target=lambda: first.append(requests.post(url, data=form, headers=headers, timeout=60))
            )
            holder.start()
            assert entered.wait(30)
            refused = requests.post(url, data=form, headers=headers, timeout=30)
            release.set()
            holder.join(timeout=60)
    finally:
        runtime.close()
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert "réessayez dans quelques secondes" in html.unescape(refused.text)
    assert first[0].status_code == 200 and "Décision enregistrée" in html.unescape(first[0].text)
