"""The console's dated reference data: the instance page shows the entity as it was on a chosen day
and lists its versions with their bases in French; an operator records a change there (CSRF checked,
refusals in French on the page), a viewer cannot."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from labelwf import FrozenClock, Runtime, verify
from labelwf.operations.entity_versions import entity_versions
from tests.helpers import refused_form
from tests.test_operations import console, runtime  # noqa: F401 (the console's fixture)


def test_an_operator_records_a_change_and_the_page_reads_each_version(
    runtime: Runtime,  # noqa: F811
    clock: FrozenClock,
) -> None:
    clock.set(datetime(2017, 1, 10, 12, tzinfo=UTC))
    client, csrf = console(runtime, "marie")
    form = {
        "csrf": csrf,
        "valid_from": "2016-01-01",
        "name": "Materalia",
        "region": "Grand Est",
        "reason": "Le pôle prend le nom de Materalia",
        "source": "VIP-23",
    }
    expired = refused_form(client, client.post("/console/instances/mipi/versions", data={**form, "csrf": "stale"}))
    assert "Formulaire expiré" in expired.text
    bad_day = client.post("/console/instances/mipi/versions", data={**form, "valid_from": "31/02/2016"})
    refilled = html.unescape(refused_form(client, bad_day, "/console/instances/mipi").text)
    assert "31/02/2016" in refilled and "n'est pas une date lisible" in refilled
    assert 'name="name" maxlength="300" value="Materalia"' in refilled  # what was typed is kept
    posted = client.post("/console/instances/mipi/versions", data=form)  # without htmx: Post/Redirect/Get
    assert posted.status_code == 303 and posted.headers["location"] == "/console/instances/mipi", posted.text
    done = client.get("/console/instances/mipi")
    assert "Nouvelle version enregistrée : Materalia, en vigueur depuis le 01/01/2016" in html.unescape(done.text)
    before = html.unescape(client.get("/console/instances/mipi", params={"as_of": "2015-12-31"}).text)
    assert "À la date du 31/12/2015" in before and "<dd>MIPI</dd>" in before
    after = html.unescape(client.get("/console/instances/mipi", params={"as_of": "2016-01-01"}).text)
    assert "<dd>Materalia</dd>" in after and "<dd>Grand Est</dd>" in after
    assert "Source : VIP-23" in after and "01/01/2016" in after
    unreadable = html.unescape(client.get("/console/instances/mipi", params={"as_of": "demain"}).text)
    assert "« demain » n'est pas une date lisible" in unreadable
    again = client.post("/console/instances/mipi/versions", data=form)  # nothing after the newest version
    assert "Changement non enregistré" in html.unescape(refused_form(client, again).text)
    assert [v.entity.name for v in entity_versions(runtime.engine, "mipi")] == ["MIPI", "Materalia"]
    assert entity_versions(runtime.engine, "mipi")[-1].basis == {"kind": "record", "source": "VIP-23"}
    assert verify(runtime.db).ok


def test_a_viewer_sees_the_versions_but_cannot_record_a_change(
    runtime: Runtime,  # noqa: F811
    clock: FrozenClock,
) -> None:
    clock.set(datetime(2017, 1, 10, 12, tzinfo=UTC))
    client, csrf = console(runtime, "paul")
    page = html.unescape(client.get("/console/instances/mipi").text)
    assert "Versions du référentiel" in page and "Enregistrer un changement" not in page
    form = {"csrf": csrf, "valid_from": "2016-01-01", "name": "Materalia", "reason": "r"}
    refused = client.post("/console/instances/mipi/versions", data=form)
    assert refused.status_code == 403 and "Vous ne pouvez pas modifier le référentiel" in html.unescape(refused.text)
    assert len(entity_versions(runtime.engine, "mipi")) == 1


def test_a_contact_is_changed_by_choosing_its_recipient_by_label_and_is_read_by_label(
    runtime: Runtime,  # noqa: F811
    clock: FrozenClock,
) -> None:
    # Given an operator on a pole's page
    clock.set(datetime(2017, 1, 10, 12, tzinfo=UTC))
    client, csrf = console(runtime, "marie")
    page = html.unescape(client.get("/console/instances/mipi").text)
    # Then the contact's role is chosen among the workflow's recipients, said by their labels (ids as values)
    assert '<option value="prefet">Préfet de région</option>' in page
    assert '<option value="governance">Gouvernance du pôle</option>' in page and "(president, prefet…)" not in page
    # When it records the préfet's name
    form = {"csrf": csrf, "valid_from": "2016-01-01", "contact_role": "prefet", "contact_name": "Jean Dupont"}
    posted = client.post("/console/instances/mipi/versions", data={**form, "reason": "Nouveau préfet"})
    assert posted.status_code == 303, posted.text
    # Then the version holds the contact by its id, and the page reads it by its label
    assert entity_versions(runtime.engine, "mipi")[-1].entity.contacts[-1] == {"role": "prefet", "name": "Jean Dupont"}
    after = html.unescape(client.get("/console/instances/mipi", params={"as_of": "2016-01-01"}).text)
    assert "<dt>Contact (Préfet de région)</dt>" in after
