"""The replayed 2008-2010 campaign behind the console, for the crawl and the accessibility tests: a
runtime in either theme with an account of each role, a signed-in test client, a served app."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi.testclient import TestClient

from labelwf import FrozenClock, Runtime, load_scenario, load_settings, replay
from labelwf.accounts import add_account
from labelwf.service import create_app
from tests.conftest import CONFIG_FILE, ROOT

CAMPAIGN = ROOT / "scenarios" / "campaign-2008-2010.yaml"
PASSWORD = "correct horse battery"
NOW = datetime(2010, 12, 1, 9, tzinfo=UTC)  # after the campaign: its reviews and contracts are pending
# name, roles, entity: one account per role; the stakeholder is enfant's (delabeled in 2010)
ACCOUNTS = (
    ("root", ("admin",), None),
    ("marie", ("operator",), None),
    ("sophie", ("supervisor",), None),
    ("paul", ("viewer",), None),
    ("gouv-vegepolys", ("stakeholder",), "vegepolys"),
)
ROLES = {name: roles[0] for name, roles, _ in ACCOUNTS}


def campaign(folder: Path, theme: str) -> Runtime:
    """The campaign replayed into ``folder``'s SQLite file, the clock after it, in ``theme``."""
    settings = load_settings(
        CONFIG_FILE,
        overrides={
            "database": f"sqlite:///{folder}/campaign.db",
            "console_theme": theme,
            "audit_key_file": str(folder / "audit.key"),  # never a key left in the checkout
        },
    )
    clock = FrozenClock(NOW)
    runtime = Runtime(settings, clock=clock)
    runtime.db.upgrade()
    replay(runtime.engine, load_scenario(CAMPAIGN, runtime.engine.workflow()))
    clock.set(NOW)
    for name, roles, entity in ACCOUNTS:
        add_account(runtime.db, name, list(roles), now=NOW, author="tests", key=None, password=PASSWORD, entity=entity)
    return runtime


def signed_in(runtime: Runtime, name: str) -> TestClient:
    """A test client of the console signed in as ``name`` (redirects not followed)."""
    client = TestClient(create_app(runtime), base_url="https://testserver", follow_redirects=False)
    form = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text)
    assert form is not None
    signed = client.post("/console/login", data={"csrf": form[1], "name": name, "password": PASSWORD})
    assert signed.status_code == 303, signed.text
    return client


@contextmanager
def served(runtime: Runtime) -> Iterator[str]:
    """The console served on a free port of the loopback, for a browser; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    service = uvicorn.Server(uvicorn.Config(create_app(runtime), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=service.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        service.should_exit = True
        thread.join(timeout=30)
        sock.close()
