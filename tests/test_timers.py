"""Due dates: calendar arithmetic in the workflow's time zone, stored as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelwf.workflow.timers import MissingAnchor, Offset, TimerSpec, add_calendar, due_at, localize, parse_local

PARIS = ZoneInfo("Europe/Paris")
ENTERED = datetime(2009, 3, 1, 9, 30, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("spec", "data", "expected"),
    [
        # 31 December 2009 at midnight, Paris time (winter, UTC+1)
        (TimerSpec(name="t", trigger="x", at=datetime(2010, 1, 1)), {}, utc(2009, 12, 31, 23)),
        # 18 calendar months after a contract start, in summer time (UTC+2)
        (
            TimerSpec(name="t", trigger="x", after=Offset(months=18), anchor="contract_start"),
            {"contract_start": "2009-01-01"},
            utc(2010, 6, 30, 22),
        ),
        # month end: 31 August + 18 months = 28 February (2010 is not a leap year)
        (
            TimerSpec(name="t", trigger="x", after=Offset(months=18), anchor="start"),
            {"start": "2008-08-31"},
            utc(2010, 2, 27, 23),
        ),
        # leap day: 29 February 2008 + 12 months = 28 February 2009; + 48 months = 29 February 2012
        (
            TimerSpec(name="t", trigger="x", after=Offset(months=12), anchor="start"),
            {"start": "2008-02-29"},
            utc(2009, 2, 27, 23),
        ),
        (
            TimerSpec(name="t", trigger="x", after=Offset(months=48), anchor="start"),
            {"start": "2008-02-29"},
            utc(2012, 2, 28, 23),
        ),
        # DST gap: 02:30 on 28 March 2010 does not exist in Paris; it becomes 03:30 CEST = 01:30 UTC
        (TimerSpec(name="t", trigger="x", at=datetime(2010, 3, 28, 2, 30)), {}, utc(2010, 3, 28, 1, 30)),
        # DST repeat: 02:30 on 31 October 2010 happens twice; the first one (CEST) = 00:30 UTC
        (TimerSpec(name="t", trigger="x", at=datetime(2010, 10, 31, 2, 30)), {}, utc(2010, 10, 31, 0, 30)),
        # a calendar day across the spring change keeps the wall time (23 hours of elapsed time)
        (
            TimerSpec(name="t", trigger="x", after=Offset(days=1), anchor="start"),
            {"start": "2010-03-27T12:00"},
            utc(2010, 3, 28, 10),
        ),
        # elapsed hours are elapsed time, whatever the wall clock does
        (
            TimerSpec(name="t", trigger="x", after=Offset(hours=24), anchor="start"),
            {"start": "2010-03-27T12:00"},
            utc(2010, 3, 28, 11),
        ),
        # an offset from entering the state
        (TimerSpec(name="t", trigger="x", after=Offset(months=1, days=2)), {}, utc(2009, 4, 3, 8, 30)),
        # a date-time from the data, or its default when absent
        (
            TimerSpec(name="t", trigger="x", at_field="end", default=datetime(2012, 1, 1)),
            {"end": "2013-01-01"},
            utc(2012, 12, 31, 23),
        ),
        (TimerSpec(name="t", trigger="x", at_field="end", default=datetime(2012, 1, 1)), {}, utc(2011, 12, 31, 23)),
        # a value with its own UTC offset is taken as it is
        (TimerSpec(name="t", trigger="x", at_field="end"), {"end": "2010-01-01T00:00+00:00"}, utc(2010, 1, 1)),
    ],
)
def test_due_dates_follow_the_calendar_of_the_workflow_time_zone(
    spec: TimerSpec, data: dict[str, str], expected: datetime
) -> None:
    assert due_at(spec, tz=PARIS, entered_at=ENTERED, data=data) == expected


def test_a_timer_whose_anchor_is_missing_names_the_field() -> None:
    spec = TimerSpec(name="review", trigger="x", after=Offset(months=18), anchor="contract_start")
    with pytest.raises(MissingAnchor, match="needs data field 'contract_start'"):
        due_at(spec, tz=PARIS, entered_at=ENTERED, data={})


@pytest.mark.parametrize("text", ["2010-02-30", "31/12/2009", "2009-12-31T25:00", "", "demain"])
def test_a_malformed_date_says_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="expected YYYY-MM-DD"):
        parse_local(text)


instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))
offsets = st.builds(
    Offset,
    months=st.integers(0, 240),
    days=st.integers(0, 3650),
    hours=st.integers(0, 1000),
    minutes=st.integers(0, 10_000),
)


@given(anchor=instants, offset=offsets)
def test_a_due_date_never_precedes_its_anchor(anchor: datetime, offset: Offset) -> None:
    spec = TimerSpec(name="t", trigger="x", after=offset)
    assert due_at(spec, tz=PARIS, entered_at=anchor, data={}) >= anchor - timedelta(hours=1)
    # (the only way back is a DST repeat: at most the hour the clocks go back)


@given(anchor=instants, offset=offsets)
def test_rearming_a_timer_gives_the_same_due_date(anchor: datetime, offset: Offset) -> None:
    spec = TimerSpec(name="t", trigger="x", after=offset)
    first = due_at(spec, tz=PARIS, entered_at=anchor, data={})
    assert due_at(spec, tz=PARIS, entered_at=anchor, data={}) == first
    assert first.tzinfo is UTC


@given(wall=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)), months=st.integers(0, 600))
def test_adding_months_lands_in_the_right_month_and_never_overflows_it(wall: datetime, months: int) -> None:
    moved = add_calendar(wall, Offset(months=months))
    assert (moved.year * 12 + moved.month) - (wall.year * 12 + wall.month) == months
    assert moved.day <= wall.day
    assert moved.time() == wall.time()


@given(wall=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)))
def test_localising_a_wall_time_that_exists_round_trips(wall: datetime) -> None:
    instant = localize(wall, PARIS)
    back = instant.astimezone(PARIS).replace(tzinfo=None)
    assert back == wall or back - wall == timedelta(hours=1)  # the spring gap moves forward by its length
