"""One date widget in every form of the console: a text field saying JJ/MM/AAAA (ISO accepted too),
never the browser's own picker beside free text, never the engine's type names as hints."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from labelwf import Runtime
from tests.console_campaign import campaign, signed_in


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    runtime = campaign(tmp_path_factory.mktemp("dates"), "neutral")
    yield runtime
    runtime.close()


PAGES = (  # the operator's decision forms, the search's filters, the supervisor's plan form
    ("marie", "/console/instances/vegepolys"),
    ("marie", "/console/instances/enfant"),
    ("marie", "/console/instances"),
    ("sophie", "/console/plans/new"),
)


@pytest.mark.parametrize(("who", "page"), PAGES)
def test_every_date_field_is_the_same_french_text_widget(runtime: Runtime, who: str, page: str) -> None:
    body = signed_in(runtime, who).get(page).text
    assert "<form" in body
    assert 'type="date' not in body  # no browser picker that shows its own format beside JJ/MM/AAAA fields
    hints = set(re.findall(r'placeholder="([^"]*)"', body))
    assert not hints & {"string", "integer", "date", "datetime"}, hints


def test_the_dated_view_answers_in_the_format_it_asks(runtime: Runtime) -> None:
    client = signed_in(runtime, "marie")
    for typed in ("2009-01-01", "01/01/2009"):
        body = client.get("/console/instances/enfant", params={"as_of": typed}).text
        assert 'name="as_of" value="01/01/2009"' in body
