"""The console's home page, the portfolio: counts per state of each workflow version (linking to the
list filtered by that state), late deadlines apart from upcoming ones (a past date is never called
upcoming), the latest decisions, letters waiting and incidents; the counts' fragment that the page
polls; the deadlines page's late section. A stakeholder never sees the portfolio."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from labelwf import FrozenClock, Runtime
from labelwf.engine.portfolio import action_label, state_label
from tests.test_operations import console, runtime  # noqa: F401 (the console's fixture)

HOME = "/console"


def text_of(body: str) -> str:
    """The page's text, tags dropped and spaces folded, as a reader sees it."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def section(body: str, heading_id: str) -> str:
    found = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', body, re.S)
    assert found is not None, heading_id
    return text_of(found[1])


def test_the_counts_per_state_link_to_the_filtered_list(runtime: Runtime) -> None:  # noqa: F811
    client, _ = console(runtime, "paul")
    page = client.get(HOME)
    assert page.status_code == 200
    body = page.text
    rows = dict(re.findall(r"<tr><td>(?:<a [^>]*>)?([^<]+)(?:</a>)?</td><td class=\"n\">(\d+)</td></tr>", body))
    said = {html.unescape(k): int(v) for k, v in rows.items()}
    wf = runtime.engine.workflow()
    assert said[state_label(wf, "evaluated")] == 70 and said[state_label(wf, "group_3")] == 1
    assert said[state_label(wf, "group_1")] == 0
    assert not any(wf.states[s].final and state_label(wf, s) in said for s in wf.states)  # empty final states
    assert "71 dossier(s)" in text_of(body)
    assert 'href="/console/instances?workflow=poles-2008&amp;state=group_3"' in body
    assert "group_3" not in text_of(body) and "evaluated" not in text_of(body)  # labels, never ids
    decisions = section(body, "h-decisions")
    assert f"Enfant : {state_label(wf, 'evaluated')} → {state_label(wf, 'group_3')}" in decisions
    assert "par dgcis-agent" in decisions and "18/06/2008" in decisions
    fragment = client.get("/console/portfolio/counts")
    assert fragment.status_code == 200 and fragment.text.startswith('<section id="counts"')
    assert 'hx-trigger="every 30s"' in fragment.text and "<html" not in fragment.text


def test_a_deadline_is_upcoming_before_its_day_and_late_after_it_never_both(
    runtime: Runtime,  # noqa: F811
    clock: FrozenClock,
) -> None:
    clock.set(datetime(2009, 12, 1, 12, tzinfo=UTC))
    client, _ = console(runtime, "marie")
    before = client.get(HOME).text
    assert "Enfant" in section(before, "h-upcoming") and "01/01/2010" in section(before, "h-upcoming")
    assert "Aucune échéance en retard" in section(before, "h-late")
    short = client.get(HOME, params={"days": "30"}).text  # 1 January is 31 days on
    assert "Aucune échéance dans cette période" in section(short, "h-upcoming")
    odd = client.get(HOME, params={"days": "-5"})  # not a window offered: the default, no error page
    assert odd.status_code == 200 and "90 prochains jours" in text_of(odd.text)

    clock.set(datetime(2010, 2, 1, 12, tzinfo=UTC))  # the daemon never ran: the deadline is late
    client, _ = console(runtime, "marie")
    after = client.get(HOME, params={"days": "365"}).text
    late = section(after, "h-late")
    assert "En retard (1)" in text_of(after) and "Enfant : en retard depuis le 01/01/2010 00:00" in late
    assert f"À faire : {action_label(runtime.engine.workflow(), 'end_label_term')}." in late
    assert "Enfant" not in section(after, "h-upcoming") and "01/01/2010" not in section(after, "h-upcoming")
    assert "Incidents (lettres non remises, échéances en souffrance) : 2" in section(after, "h-letters")

    deadlines = client.get("/console/deadlines", params={"days": "365"}).text
    assert "en retard depuis le 01/01/2010" in section(deadlines, "h-late")
    assert "Enfant" not in section(deadlines, "h-upcoming")


def test_a_stakeholder_is_sent_to_its_own_pole(runtime: Runtime) -> None:  # noqa: F811
    client, _ = console(runtime, "gouv-enfant")
    home = client.get(HOME)
    assert home.status_code == 303 and home.headers["location"] == "/console/instances/enfant"
    assert client.get("/console/portfolio/counts").status_code == 204


def test_without_a_session_the_home_page_asks_to_sign_in(runtime: Runtime) -> None:  # noqa: F811
    client, _ = console(runtime, "paul")
    client.cookies.clear()
    assert client.get(HOME).headers["location"] == "/console/login"
    assert client.get("/console/portfolio/counts").status_code == 204
