"""The inline SVG diagram: every state and trigger drawn, the current state marked, legible, nothing unsafe."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labelwf import Workflow, load_workflow
from labelwf.workflow.diagram import diagram_svg
from tests.conftest import ROOT, WORKFLOW_FILE

SVG = "{http://www.w3.org/2000/svg}"
SHIPPED = sorted((ROOT / "workflows").glob("*.yaml"))
Box = tuple[float, float, float, float]

HOSTILE_TITLE = "<script>alert('x')</script> \"quoted\" & 'single' ]]> <!-- c -->"
HOSTILE_START = "</text><script>alert(1)</script> & \"q\" 'a'"
HOSTILE = """
workflow: hostile.test
version: 2
title: "<script>alert('x')</script> \\"quoted\\" & 'single' ]]> <!-- c -->"
timezone: Europe/Paris
initial: start
fields:
  note: {type: string}
states:
  start:
    description: "</text><script>alert(1)</script> & \\"q\\" 'a'\\a"
  a_rather_long_state_name_for_a_box:
    description: Second
    timers:
      - {name: nudge, after: {days: 1}, trigger: remind}
  side:
    description: "<b>bold</b> side"
  deep:
    description: deeper
  done:
    final: true
    description: "<![CDATA[ x ]]>"
transitions:
  - {trigger: go, source: start, dest: a_rather_long_state_name_for_a_box}
  - {trigger: branch, source: start, dest: side}
  - {trigger: remind, source: a_rather_long_state_name_for_a_box, dest: a_rather_long_state_name_for_a_box,
     roles: [system]}
  - {trigger: across, source: a_rather_long_state_name_for_a_box, dest: side}
  - {trigger: down, source: side, dest: deep}
  - {trigger: again, source: deep, dest: start}
  - {trigger: restart, source: deep, dest: start}
  - {trigger: finish, source: [deep, side], dest: done, when: "data.note == '<x>'", optional: [note]}
"""


@pytest.fixture(params=SHIPPED, ids=lambda path: path.stem)
def shipped(request: pytest.FixtureRequest) -> Workflow:
    return load_workflow(request.param)


@pytest.fixture
def hostile(tmp_path: Path) -> Workflow:
    (tmp_path / "workflows").mkdir()
    path = tmp_path / "workflows" / "hostile.yaml"
    path.write_text(HOSTILE, encoding="utf-8")
    return load_workflow(path)


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if kind in g.get("class", "").split()]


def lines(group: ET.Element) -> list[str]:
    return [text.text or "" for text in group.iter(f"{SVG}text")]


def box(rect: ET.Element) -> Box:
    return (float(rect.get("x", 0)), float(rect.get("y", 0)), float(rect.get("width", 0)), float(rect.get("height", 0)))


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_every_state_and_trigger_is_drawn_and_described(shipped: Workflow) -> None:
    root = ET.fromstring(diagram_svg(shipped))
    assert root.tag == f"{SVG}svg"
    assert (root.get("role"), root.get("width")) == ("img", "100%")
    assert [lines(g)[0] for g in groups(root, "state")] == [shipped.state_label(s) for s in shipped.states]
    labelled = {line for g in groups(root, "label") for line in lines(g)}
    assert labelled == {shipped.trigger_label(t) for t in shipped.all_triggers}
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert shipped.name in (title.text or "") and f"version {shipped.version}" in (title.text or "")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    described = desc.text or ""
    assert all(f"- {shipped.state_label(name)}" in described for name in shipped.states)
    assert all(f"- {shipped.trigger_label(trigger)} : " in described for trigger in shipped.all_triggers)
    assert "Décisions (décision : de → vers, qui la prend) :" in described
    ids = [*shipped.states, *shipped.all_triggers, "timer", "operator", "system"]  # drawn and said by their labels
    ids.remove("label")  # a trigger's id, and a French word its labels say ("Terme du label")
    said = " ".join(e.text or "" for e in root.iter())
    assert not [i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", said)]
    assert len(groups(root, "edge")) >= len(shipped.transitions)


def test_arrows_the_daemon_fires_are_dashed_and_the_operators_solid() -> None:
    root = ET.fromstring(diagram_svg(load_workflow(WORKFLOW_FILE)))
    for edge in groups(root, "edge"):
        path = edge.find(f"{SVG}path")
        assert path is not None
        assert ("timer" in edge.get("class", "").split()) == (path.get("stroke-dasharray") is not None)
    workflow = load_workflow(WORKFLOW_FILE)
    said = workflow.trigger_label
    timed = {line for g in groups(root, "label") if "timer" in g.get("class", "") for line in lines(g)}
    assert timed == {said("open_review"), said("end_label_term"), said("end_contract")}  # by a state's timer
    by_hand = {line for g in groups(root, "label") if "timer" not in g.get("class", "") for line in lines(g)}
    assert said("open_review") not in by_hand
    assert {said("classify"), said("sign_contract"), said("renew"), said("delabel")} <= by_hand


def test_the_current_state_alone_is_marked(shipped: Workflow) -> None:
    assert not [e for e in ET.fromstring(diagram_svg(shipped)).iter() if e.get("aria-current")]
    for name in shipped.states:
        root = ET.fromstring(diagram_svg(shipped, current=name))
        marked = [e for e in root.iter() if e.get("aria-current")]
        assert [lines(g)[0] for g in marked] == [shipped.state_label(name)]
        assert marked[0].get("aria-current") == "true" and marked == groups(root, "current")
        assert f"État actuel : {shipped.state_label(name)}." in (root.findtext(f"{SVG}desc") or "")
        [rect, *_] = marked[0].iter(f"{SVG}rect")
        plain = next(g for g in groups(root, "state") if g is not marked[0]).find(f"{SVG}rect")
        assert plain is not None and (rect.get("fill"), rect.get("stroke")) != (plain.get("fill"), plain.get("stroke"))


def test_nothing_is_styled_inline_scripted_or_linked(shipped: Workflow) -> None:
    svg = diagram_svg(shipped, current=shipped.initial)
    root = ET.fromstring(svg)
    ids = [e.get("id", "") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids)) and all(
        i.startswith(f"wf-{shipped.name.replace('.', '-')}-{shipped.version}-") for i in ids
    )
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in {"style", "script", "foreignObject", "image", "a", "use"}
        for name, value in element.attrib.items():
            assert name != "style" and not name.endswith("href") and not name.startswith("on"), (element, name)
            for target in re.findall(r"url\(([^)]*)\)", value):
                assert target.startswith("#") and target[1:] in ids, target
    assert "<style" not in svg and "style=" not in svg and "<script" not in svg


def test_the_drawing_is_deterministic_and_its_boxes_do_not_overlap(shipped: Workflow) -> None:
    svg = diagram_svg(shipped, current=shipped.initial)
    assert svg == diagram_svg(load_workflow(shipped.source), current=shipped.initial)
    root = ET.fromstring(svg)
    left, top, width, height = (float(v) for v in root.get("viewBox", "").split())
    boxes = [box(g.iter(f"{SVG}rect").__next__()) for g in groups(root, "state")]
    labels = [box(g.iter(f"{SVG}rect").__next__()) for g in groups(root, "label")]
    for i, a in enumerate(boxes + labels):
        assert left <= a[0] and a[0] + a[2] <= left + width and top <= a[1] and a[1] + a[3] <= top + height
        assert not any(overlap(a, b) for b in (boxes + labels)[i + 1 :]), a


def test_an_unknown_current_state_is_refused_with_the_known_ones() -> None:
    workflow = load_workflow(WORKFLOW_FILE)
    with pytest.raises(ValueError, match=r"unknown current state 'nowhere'; states: evaluated, group_1"):
        diagram_svg(workflow, current="nowhere")


def test_hostile_text_is_escaped_and_every_kind_of_arrow_drawn(hostile: Workflow) -> None:
    svg = diagram_svg(hostile, current="deep")
    assert "<script" not in svg and "<b>" not in svg and "<![CDATA[" not in svg and "\a" not in svg
    root = ET.fromstring(svg)  # well-formed: what the definition says is text, never markup
    assert root.findtext(f"{SVG}title") == f"{HOSTILE_TITLE} (hostile.test, version 2)"
    [start] = [g for g in groups(root, "state") if g.get("id") == "wf-hostile-test-2-state-start"]
    assert start.findtext(f"{SVG}title") == HOSTILE_START  # no label: its description
    assert HOSTILE_START in (root.findtext(f"{SVG}desc") or "")
    assert {line for g in groups(root, "label") for line in lines(g)} == set(hostile.all_triggers)  # no labels
    ids = {e.get("id", "") for e in root.iter() if e.get("id")}
    assert all(i.startswith("wf-hostile-test-2-") for i in ids)
    # a self-loop, an arc within a layer and a back arrow over two layers each get a path of their own
    assert len(groups(root, "edge")) == 8 and len([g for g in groups(root, "label") if len(lines(g)) == 2]) == 1
