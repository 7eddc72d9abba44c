"""A letter template cannot take the process's memory or time by making something huge: what a
template makes from constants is refused when the workflow loads, with file and line; what it makes
from values is refused when the letter renders, naming the bound; nothing is written."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from labelwf import LetterError, WorkflowError, load_workflow
from labelwf.letters.render import LetterRenderer
from tests.conftest import ROOT

HUGE_CONSTANTS = {
    "repeated text": "{{ 'a' * 1000000000 }}",
    "repeated list": "{{ [1, 2] * 1000000000 }}",
    "power": "{{ 2 ** 100000000 }}",
    "format width": "{{ '%999999999d' % 1 }}",
    "format width from values": "{{ '%*d' % (5, 1) }}",
    "filter width": "{{ 'x' | center(1000000000) }}",
    "range": "{% for i in range(100000000) %}{% endfor %}",
}

# the event a letter is written for, as much of it as the renderer reads
EVENT = SimpleNamespace(reason="", trigger="", occurred_at=datetime(2010, 1, 1, tzinfo=UTC))


def broken(programme: Path, body: str) -> list[tuple[str, int | None, str]]:
    """Put ``body`` on its own line at the start of a letter's text; the problems of loading the workflow."""
    template = programme / "templates" / "poles-2008" / "classement_groupe_1.j2"
    text = template.read_text(encoding="utf-8")
    assert "{% block corps %}" in text
    template.write_text(text.replace("{% block corps %}", "{% block corps %}\n" + body, 1), encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow(programme / "workflows" / "poles-2008.yaml")
    return [(p.file, p.line, p.message) for p in refused.value.problems if p.file == str(template)]


@pytest.mark.parametrize("body", HUGE_CONSTANTS.values(), ids=HUGE_CONSTANTS.keys())
def test_a_template_that_would_make_something_huge_from_constants_is_refused_when_loaded(
    programme: Path, body: str
) -> None:
    problems = broken(programme, body)
    assert problems, "the workflow loaded"
    line = problems[0][1]
    assert line is not None and line > 1
    assert any("at most" in message or "not in letters" in message for _, _, message in problems), problems


def test_a_filter_reaching_python_internals_by_name_is_refused_when_loaded(programme: Path) -> None:
    problems = broken(programme, "{{ entity | attr('__class__') }}")
    assert any("'__class__'" in message and "Python internals" in message for _, _, message in problems), problems


@pytest.mark.parametrize("name", ["/etc/passwd", "../../../etc/passwd", "absent.j2"])
def test_a_template_including_a_file_outside_its_folders_is_refused_when_loaded(programme: Path, name: str) -> None:
    problems = broken(programme, "{% include '" + name + "' %}")
    assert any(repr(name) in message and "not a template of" in message for _, _, message in problems), problems


@pytest.fixture
def unchecked(tmp_path: Path) -> Path:
    """A template folder that never went through validation (what render time must bound by itself)."""
    for layout in ("_layout.txt.j2", "_layout.html.j2"):
        shutil.copy(ROOT / "templates" / "_shared" / layout, tmp_path / layout)
    return tmp_path


def render(folder: Path, body: str, subject: str = "x") -> None:
    (folder / "big.j2").write_text(
        "{% extends layout %}{% block objet %}" + subject + "{% endblock %}{% block corps %}" + body + "{% endblock %}",
        encoding="utf-8",
    )
    context = {"entity": {"name": "Pôle x"}, "facts": [], "event": EVENT, "workflow": {"title": "t"}}
    context |= {
        "date_fr": "1er janvier 2010",
        "decision_date_fr": "1er janvier 2010",
        "reference": "r",
        "data": {"n": 1000000000},
    }
    LetterRenderer(folder).render("big", "big.j2", "objet", {"prefet": "le préfet"}, [], context)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{{ entity.name * 30000000 }}", "repeated 30,000,000 times"),
        ("{{ entity.name * data.n }}", "at most 100,000"),
        ("{{ 'x' | indent(data.n) }}", "a filter's number is at most"),
        ("{% for i in range(30000) %}{{ entity.name * 50 }}{% endfor %}", "a letter holds at most 1,000,000"),
    ],
)
def test_a_letter_that_would_grow_huge_from_values_is_refused_when_rendered(
    unchecked: Path, body: str, says: str
) -> None:
    with pytest.raises(LetterError) as refused:
        render(unchecked, body)
    assert says in str(refused.value)


def test_a_letter_whose_loop_outside_any_filter_grows_huge_is_refused_as_it_renders(unchecked: Path) -> None:
    with pytest.raises(LetterError, match="passes 1,000,000 characters"):
        render(unchecked, "corps", subject="{% for i in range(30000) %}{{ entity.name * 50 }}{% endfor %}")


@pytest.mark.parametrize(
    "body",
    [
        "{% set xs = range(1000) | list %}{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}"
        "{% endfor %}{% endfor %}",
        "{% macro twice(n) %}{% if n %}{{ twice(n - 1) }}{{ twice(n - 1) }}{% endif %}{% endmacro %}{{ twice(60) }}",
    ],
    ids=["nested loops", "a macro calling itself twice"],
)
def test_a_letter_that_would_run_for_hours_is_stopped_at_its_step_budget(unchecked: Path, body: str) -> None:
    with pytest.raises(LetterError, match="more than 100,000 loop turns and calls"):
        render(unchecked, body)


def test_ordinary_arithmetic_and_filters_still_render(unchecked: Path) -> None:
    render(unchecked, "{{ 3 * 4 }} {{ '-' * 20 }} {{ 2 ** 10 }} {{ '%05d' % 42 }} {{ 'x' | center(9) }} {{ 7 % 3 }}")


def test_a_subject_that_loops_too_long_is_stopped_at_the_same_budget(unchecked: Path) -> None:
    (unchecked / "plain.j2").write_text(
        "{% extends layout %}{% block objet %}x{% endblock %}{% block corps %}corps{% endblock %}", encoding="utf-8"
    )
    context = {"entity": {"name": "Pôle x"}, "facts": [], "event": EVENT, "workflow": {"title": "t"}}
    context |= {"date_fr": "1er janvier 2010", "decision_date_fr": "1er janvier 2010", "reference": "r", "data": {}}
    subject = "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}"
    with pytest.raises(LetterError, match="more than 100,000 loop turns and calls"):
        LetterRenderer(unchecked).render("plain", "plain.j2", subject, {"prefet": "le préfet"}, [], context)
