"""The condition language reads data and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelwf.workflow.conditions import ConditionSyntaxError, compile_condition


@pytest.mark.parametrize(
    ("source", "data", "holds"),
    [
        ("data.group == 1", {"group": 1}, True),
        ("data.group == 1", {"group": 2}, False),
        ("data.group == 1", {}, False),
        ("data.group in [1, 2]", {"group": 2}, True),
        ("data.group not in [1, 2]", {"group": 3}, True),
        ("data.score >= 12 and data.region == 'Bretagne'", {"score": 14, "region": "Bretagne"}, True),
        ("not (data.score > 10) or data.forced == true", {"score": 20, "forced": True}, True),
        ("data.score < 10", {}, False),  # None < 10 does not hold; it does not crash
        ("1 < data.score <= 3", {"score": 3}, True),
        ("data.end == null", {}, True),
        ("data.delta == -1", {"delta": -1}, True),
    ],
)
def test_a_condition_holds_exactly_when_the_data_says_so(source: str, data: dict[str, object], holds: bool) -> None:
    assert compile_condition(source)(data) is holds


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "data.__class__.__mro__",
        "open('/etc/passwd')",
        "data.x.y",
        "[x for x in data]",
        "lambda: 1",
        "data.x + 1 == 2",
        "",
        "data.x is None",
    ],
)
def test_anything_beyond_data_literals_and_comparisons_is_refused(source: str) -> None:
    with pytest.raises(ConditionSyntaxError):
        compile_condition(source)


def test_a_condition_knows_the_fields_it_reads() -> None:
    assert compile_condition("data.group == 1 and data.region in ['x']").fields == {"group", "region"}


@given(value=st.one_of(st.integers(), st.text(), st.none(), st.booleans()))
def test_a_condition_never_raises_whatever_the_value(value: object) -> None:
    assert compile_condition("data.v >= 3 and data.v != 'x'")({"v": value}) in (True, False)
