"""A refused console form follows Post/Redirect/Get as a handled one: 303 to its page, which says why
once and refills what was typed (never a password), so a reload sends nothing; htmx keeps its
status in place. A new API token is shown once from the server's memory, never from a cookie."""

from __future__ import annotations

import base64
import html
from datetime import timedelta

from labelwf import FrozenClock, Runtime
from labelwf.accounts import add_account, tokens
from labelwf.service import console_flash
from tests.helpers import refused_form
from tests.test_api_batches import events
from tests.test_console_plans import FORM, PASSWORD, runtime, sign_in  # noqa: F401 - the fixture, shared


def test_a_refused_decision_redirects_says_why_once_and_refills_the_form(runtime: Runtime) -> None:  # noqa: F811
    client, csrf = sign_in(runtime, "marie")
    form = {"csrf": csrf, "trigger": "classify", "field_group": "7", "reason": "mon motif", "version": "0"}
    # When marie's decision is refused (a group the workflow does not have), posted without htmx
    posted = client.post("/console/instances/mta/fire", data=form)
    page = refused_form(client, posted, "/console/instances/mta")
    said = html.unescape(page.text)
    # Then its page says why, the form she typed in holds her reason, and nothing was written
    assert "Refusé" in said and "7" in said
    assert ">mon motif</textarea>" in said and len(events(runtime, "mta")) == 1
    reloaded = html.unescape(client.get("/console/instances/mta").text)  # a reload: a GET, said and refilled no more
    assert "Refusé" not in reloaded and "mon motif" not in reloaded
    # And with htmx, the section is swapped in place with its status, as before
    again = client.post("/console/instances/mta/fire", data=form, headers={"hx-request": "true"})
    assert again.status_code == 422 and again.text.startswith('<section id="instance"')


def test_a_refused_plan_form_comes_back_whole_with_its_problems(runtime: Runtime) -> None:  # noqa: F811
    client, csrf = sign_in(runtime, "sophie")
    posted = client.post("/console/plans", data={"csrf": csrf, **FORM, "trigger": "", "at": "31/02/2008"})
    page = html.unescape(refused_form(client, posted, "/console/plans/new").text)
    assert "Choisissez le déclencheur" in page and "« 31/02/2008 » illisible" in page
    assert 'value="Décision du 30 juin 2008"' in page and "mta" in page  # typed values kept
    assert "Choisissez le déclencheur" not in html.unescape(client.get("/console/plans/new").text)


def test_a_new_token_is_kept_on_the_server_never_in_the_cookie_and_not_for_long(
    runtime: Runtime,  # noqa: F811
    clock: FrozenClock,
) -> None:
    now = runtime.engine.clock.now()
    add_account(runtime.db, "root", ["admin"], now=now, author="t", key=None, password=PASSWORD)
    client, csrf = sign_in(runtime, "root")
    # When root makes a token for marie
    posted = client.post("/console/admin/token", data={"csrf": csrf, "name": "marie", "label": "script"})
    assert posted.status_code == 303
    cookie = posted.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    payload = base64.urlsafe_b64decode(cookie.partition(".")[0].encode()).decode()
    # Then the cookie says the sentence only; the page shows the token once
    assert "lwf_" not in payload and "Jeton créé pour marie" in payload
    shown = client.get("/console/admin").text
    assert 'id="new-token">lwf_' in shown and 'id="new-token"' not in client.get("/console/admin").text
    # And a token not fetched within two minutes is forgotten
    client.post("/console/admin/token", data={"csrf": csrf, "name": "marie", "label": "tard"})
    clock.advance(timedelta(seconds=121))
    late = client.get("/console/admin").text
    assert 'id="new-token"' not in late and len([t for t in tokens(runtime.db) if t["account"] == "marie"]) == 2


def test_a_refused_account_keeps_what_was_typed_but_never_the_password(runtime: Runtime) -> None:  # noqa: F811
    now = runtime.engine.clock.now()
    add_account(runtime.db, "root", ["admin"], now=now, author="t", key=None, password=PASSWORD)
    client, csrf = sign_in(runtime, "root")
    form = {"csrf": csrf, "name": "luc", "roles": "viewer", "display_name": "Luc D.", "password": "court"}
    page = refused_form(client, client.post("/console/admin/add", data=form), "/console/admin").text
    assert "12" in html.unescape(page) and 'value="Luc D."' in page and "court" not in page
    assert console_flash.COOKIE not in client.cookies  # shown: spent
