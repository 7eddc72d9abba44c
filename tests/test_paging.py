"""Listings page by keyset cursor: each item exactly once, in order, whatever fires between pages."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from labelwf import Engine, EntityRow, InvalidCursor, NotFound, Page, add_entities
from labelwf.cli import EXIT_BAD_INPUT, main
from labelwf.engine import queries
from labelwf.store.reads import MORE_CAP
from tests.conftest import CONFIG_FILE
from tests.helpers import OPERATOR

N = 10_000


def many(engine: Engine, n: int, prefix: str = "pole") -> list[str]:
    ids = [f"{prefix}-{i:05d}" for i in range(n)]
    for start in range(0, n, 2500):
        rows = [EntityRow(i, e, f"Pôle {e}", {"region": "Bretagne"}) for i, e in enumerate(ids[start : start + 2500])]
        add_entities(engine, rows, actor="import", reason="paging test")
    return ids


@pytest.mark.slow
def test_ten_thousand_instances_listed_fifty_at_a_time_come_once_each_in_order(engine: Engine) -> None:
    # Given 10,000 instances, and another operator firing between the pages (before and after the cursor)
    ids = many(engine, N)
    chance = random.Random(8)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = queries.list_instances(engine, after=after, limit=50)
        seen.extend(i.entity.id for i in page.items)
        pages += 1
        for entity in chance.sample(ids, 2):
            if queries.find(engine, entity).state == "evaluated":
                engine.fire(entity, "classify", data={"group": chance.choice([1, 2, 3])}, **OPERATOR)
        if page.next is None:
            break
        assert page.more == min(N - len(seen), MORE_CAP) and (page.more_capped_at is not None) == (
            N - len(seen) >= MORE_CAP
        )
        after = page.next
    # Then every instance came exactly once, in entity order, 50 a page
    assert seen == ids and pages == N // 50


def test_pages_of_timers_letters_and_history_join_up_to_the_whole_listing(engine: Engine) -> None:
    ids = many(engine, 30)
    for entity in ids:
        engine.fire(entity, "classify", data={"group": 3}, **OPERATOR)
    for entity in ids[:3]:
        engine.fire(entity, "start_reevaluation", **OPERATOR)

    def walk(read: Callable[..., Page[Any]], limit: int) -> list[Any]:
        items: list[Any] = []
        after = None
        while True:
            page = read(after=after, limit=limit)
            items.extend(page.items)
            if page.next is None:
                return items
            after = page.next

    timers = walk(lambda **kw: queries.pending_timers(engine.db, **kw), 7)
    assert [t.entity for t in timers] == [t.entity for t in queries.pending_timers(engine.db, limit=1000).items]
    assert len(timers) == 30 and len({t.id for t in timers}) == 30
    letters = walk(lambda **kw: queries.list_letters(engine.db, **kw), 11)
    assert [m.id for m in letters] == sorted((m.id for m in letters), reverse=True) and len(letters) == 90
    events = walk(lambda **kw: queries.history(engine, ids[0], **kw), 1)
    assert [e.seq for e in events] == [0, 1, 2]


def test_a_cursor_from_another_listing_or_made_up_is_refused_with_what_to_pass(
    engine: Engine, database_url: str
) -> None:
    many(engine, 3)
    page = queries.list_instances(engine, limit=1)
    assert page.next is not None and page.more == 2
    with pytest.raises(InvalidCursor, match="not a timers cursor"):
        queries.pending_timers(engine.db, after=page.next)
    for bad in ("garbage", "", "e30", page.next[:-2]):
        with pytest.raises(InvalidCursor):
            queries.list_instances(engine, after=bad)
    result = CliRunner().invoke(main, ["--config", str(CONFIG_FILE), "--db", database_url, "list", "--after", "x"])
    assert result.exit_code == EXIT_BAD_INPUT and "pass the 'next' value of a previous page" in result.stderr


def test_a_listing_of_a_workflow_not_loaded_says_so_with_the_loaded_ones(engine: Engine) -> None:
    with pytest.raises(NotFound) as refused:
        queries.list_instances(engine, workflow="nope")
    assert "nope" in str(refused.value) and engine.workflow_names[0] in str(refused.value)
