"""A crawl of the console as each role, on the replayed campaign: from the home page, every link under
/console that a GET follows (deduplicated by path and query, at most MAX_PAGES per role) answers
without a server error, as an HTML page (or a declared export), and no page's visible text carries an
engine token: an id of a state or trigger that has a label, a status, a type, a role, a Python value.
A stakeholder reaches nothing of another pole."""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from labelwf import Runtime
from labelwf.engine import queries
from tests.console_campaign import ACCOUNTS, ROLES, campaign, signed_in

MAX_PAGES = 600
PER_SHAPE = 20  # pages of one shape (ids as N: /console/letters/N/pdf) followed at most: a sample of each
EXPORTS = (
    "application/jsonl",  # the audit journal's export, JSON Lines by design (docs/audit-trail.md)
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/pdf",
    "application/zip",
)
# Words of the engine a person must never read; the workflows' labelled ids are added to them.
ENGINE_WORDS = frozenset(
    {
        "pending", "delivered", "failed", "uncertain", "fired", "cancelled", "string", "datetime",
        "integer", "boolean", "governance", "prefet", "region", "request", "timer", "None", "True", "False",
        "admin", "operator", "supervisor", "viewer", "stakeholder", "trigger", "state", "session", "null",
    }
)  # fmt: skip
# Pages where engine words are still said, by their shape (see ``shape``), with where the fix belongs:
# found there, they are counted apart (``test_the_known_leftovers_are_gone`` lists them) and not failed.
# None is left: the history, the forms, the admin page and the diagram say the workflow's labels.
KNOWN: dict[str, tuple[set[str] | None, str]] = {}
# What is not text a person reads: scripts, styles, the letter frame's own copy, attributes (stripped with tags)
_HIDDEN = re.compile(r"<(script|style|template)\b.*?</\1>", re.S | re.I)
_DIAGRAM = re.compile(r'<svg [^>]*class="workflow-diagram".*?</svg>', re.S)
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Crawl:
    """What a role's crawl met."""

    pages: dict[str, int] = field(default_factory=dict)  # path?query → status
    problems: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # engine words where KNOWN says they still are


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    runtime = campaign(tmp_path_factory.mktemp("crawl"), "dsfr")
    yield runtime
    runtime.close()


def engine_tokens(runtime: Runtime) -> frozenset[str]:
    """The engine's words, and every state and trigger id of the loaded workflows that has a label."""
    ids: set[str] = set()
    french: set[str] = set()  # the labels' own words: an id that is also one ("label") is French too
    for workflow in runtime.engine.workflows:
        ids |= {s for s in workflow.states if workflow.state_label(s) != s}
        ids |= {t for t in workflow.all_triggers if workflow.trigger_label(t) != t}
        ids |= {r for r in workflow.recipient_labels if workflow.recipient_label(r) != r}
        labels = [workflow.state_label(s) for s in workflow.states] + [workflow.trigger_label(t) for t in ids]
        labels += list(workflow.recipient_labels.values()) + [workflow.field_label(f) for f in workflow.fields]
        french |= {w.lower() for text in labels for w in re.findall(r"\w+", text)}
    return ENGINE_WORDS | {i for i in ids if i.lower() not in french}


def shape(url: str) -> str:
    """What pages of one kind share: the path with its numbers as N, and the query's keys."""
    path, _, query = url.partition("?")
    return re.sub(r"\d+", "N", path) + "?" + "&".join(sorted(p.split("=")[0] for p in query.split("&") if p))


def visible_text(body: str) -> str:
    """The page's text as a reader sees it: no scripts or styles, no attributes, entities decoded."""
    return " ".join(html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", body))).split())


def links(body: str, base: str) -> Iterator[str]:
    """The same-origin GET links under /console of a page (hrefs; forms are posts and not followed)."""
    for href in re.findall(r'href="([^"#]*)', body):
        parts = urlsplit(urljoin(f"https://testserver{base}", html.unescape(href)))
        if parts.netloc != "testserver" or not parts.path.startswith("/console"):
            continue
        if parts.path.startswith("/console/static/") or parts.path == "/console/logout":
            continue
        yield parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client: TestClient, tokens: frozenset[str]) -> Crawl:
    """Every page reachable from /console by its links, each checked."""
    found = Crawl()
    words = re.compile(r"(?<![\w/.-])(" + "|".join(sorted(map(re.escape, tokens))) + r")(?![\w/-])")
    queue: deque[str] = deque(["/console"])
    seen = {"/console"}
    shapes: dict[str, int] = {}
    while queue and len(found.pages) < MAX_PAGES:
        url = queue.popleft()
        shapes[shape(url)] = shapes.get(shape(url), 0) + 1
        if shapes[shape(url)] > PER_SHAPE:
            continue
        answer = client.get(url)
        found.pages[url] = answer.status_code
        kind = answer.headers.get("content-type", "").split(";")[0]
        if answer.status_code >= 500:
            found.problems.append(f"{url}: {answer.status_code}")
        if answer.status_code in (301, 302, 303, 307, 308):
            onward = next(links(f'href="{answer.headers["location"]}"', url), None)
            if onward and onward not in seen:
                seen.add(onward)
                queue.append(onward)
            continue
        if "attachment" in answer.headers.get("content-disposition", "") and kind in EXPORTS:
            continue
        if kind != "text/html":
            found.problems.append(f"{url}: answered as {kind or 'nothing'}, not a page")
            continue
        said = {m for m in words.findall(visible_text(_DIAGRAM.sub(" ", answer.text)))}
        tolerated = next((k for pattern, k in KNOWN.items() if re.fullmatch(pattern, shape(url))), (set(), ""))
        left = set() if tolerated[0] is None else said - tolerated[0]
        if left:
            found.problems.append(f"{url}: engine words {sorted(left)}")
        if said - left:
            found.known.append(f"{url}: engine words {sorted(said - left)} ({tolerated[1]})")
        for link in links(answer.text, url):
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return found


@pytest.mark.parametrize("name", [name for name, _, _ in ACCOUNTS])
def test_every_page_a_role_reaches_is_a_french_page_without_a_server_error(runtime: Runtime, name: str) -> None:
    # Given an account of this role on the replayed campaign
    client = signed_in(runtime, name)
    # When it follows every link of the console from the home page
    found = crawl(client, engine_tokens(runtime))
    # Then it reached pages, none answered 5xx, raw JSON or an engine word
    assert len(found.pages) > (1 if ROLES[name] == "stakeholder" else 20), found.pages
    assert len(found.pages) < MAX_PAGES, "the crawl stopped at its bound: raise it or bound the links"
    assert found.problems == [], "\n".join(found.problems)


def test_a_stakeholder_reaches_nothing_of_another_pole(runtime: Runtime) -> None:
    # Given vegepolys's stakeholder, and the pages and letters of the other poles
    client = signed_in(runtime, "gouv-vegepolys")
    others = ("enfant", "pass", "mta", "aerospace-valley")  # delabeled, group 2, group 3, not classified
    for entity in others:
        letters = [m.id for m in queries.describe(runtime.engine, entity).letters]
        assert letters or entity == "aerospace-valley", entity
        urls = [f"/console/instances/{entity}", f"/console/instances/{entity}/letters.zip"]
        urls += [f"/console/letters/{n}{suffix}" for n in letters[:3] for suffix in ("", "/html", "/pdf")]
        for url in urls:
            # When it asks for them, Then each is refused as what does not exist, or as forbidden
            answer = client.get(url)
            assert answer.status_code in (403, 404), (url, answer.status_code)


def test_the_known_leftovers_are_gone(runtime: Runtime) -> None:
    # Given the pages of the roles that see the most, and the state diagram of an instance
    leftovers = crawl(signed_in(runtime, "root"), engine_tokens(runtime)).known
    page = signed_in(runtime, "marie").get("/console/instances/vegepolys").text
    diagram = _DIAGRAM.search(page)
    assert diagram is not None
    said = sorted(
        set(re.findall(r"\b(classify|review_satisfactory|evaluated|operator|timer)\b", visible_text(diagram[0])))
    )
    # Then none of them says an engine word (the diagram draws states and arrows by their labels)
    assert leftovers == [] and said == []
