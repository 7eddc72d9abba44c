"""Diagrams of a workflow: Mermaid or Graphviz dot, optionally with live counts per state, or inline SVG."""

from __future__ import annotations

import itertools
import re
import textwrap
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from .definition import OPERATOR, SYSTEM, Workflow

FORMATS = ("mermaid", "dot")


def _edges(workflow: Workflow) -> list[tuple[str, str, str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for transition in workflow.transitions:
        label = transition.trigger
        if transition.condition is not None:
            label += f" [{transition.condition.source}]"
        timer = any(t.trigger == transition.trigger for s in transition.sources for t in workflow.states[s].timers)
        if timer:
            label += " ⏱"
        for source in transition.sources:
            labels = edges.setdefault((source, transition.dest), [])
            if label not in labels:
                labels.append(label)
    return [(s, d, " / ".join(labels)) for (s, d), labels in edges.items()]


def _title(name: str, counts: Mapping[str, int] | None) -> str:
    return f"{name} ({counts.get(name, 0)})" if counts is not None else name


def mermaid(workflow: Workflow, counts: Mapping[str, int] | None = None) -> str:
    """Return a Mermaid ``stateDiagram-v2``; with ``counts``, each state shows how many instances it holds."""
    lines = ["stateDiagram-v2", f"    %% {workflow.key}", f"    [*] --> {workflow.initial}"]
    for name in workflow.states:
        lines.append(f"    {name} : {_title(name, counts)}")
    for source, dest, label in _edges(workflow):
        lines.append(f"    {source} --> {dest} : {label.replace(':', '')}")
    for name, state in workflow.states.items():
        if state.final:
            lines.append(f"    {name} --> [*]")
    return "\n".join(lines) + "\n"


def dot(workflow: Workflow, counts: Mapping[str, int] | None = None) -> str:
    """Return a Graphviz ``digraph``; with ``counts``, each state shows how many instances it holds."""
    lines = [f'digraph "{workflow.key}" {{', "  rankdir=LR;", '  node [shape=box, style=rounded, fontname="sans"];']
    for name, state in workflow.states.items():
        shape = ", peripheries=2" if state.final else ""
        lines.append(f'  {name} [label="{_title(name, counts)}"{shape}];')
    for source, dest, label in _edges(workflow):
        escaped = label.replace('"', '\\"')
        lines.append(f'  {source} -> {dest} [label="{escaped}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- inline SVG ----------------------------------------------------------------------------------
#
# Drawn top-down, one layer per distance from the initial state, final states in the last layer.
# An arrow that spans layers passes each layer in between through a lane of its own (it never
# crosses a box); a back arrow is laid out reversed and drawn from its source's top, upwards.
# Styling is presentation attributes only: the console's Content-Security-Policy refuses inline
# styles (style-src 'self'); classes (state, current, final, edge, timer, label) let a stylesheet
# restyle the drawing.

_W, _H = 212.0, 78.0  # a state's box (wider for a long name)
_GAP_X, _GAP_Y, _LANE = 48.0, 104.0, 18.0  # between boxes, between layers, what a passing arrow takes
_INK, _MUTED, _TIMER = "#1f2937", "#4b5563", "#6d28d9"
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_Point = tuple[float, float]
_Box = tuple[float, float, float, float]  # left, top, width, height


@dataclass
class _Arrow:
    """One drawn arrow: the decisions (their labels) taking ``source`` to ``dest``, all by an operator or all by
    the daemon."""

    source: str
    dest: str
    daemon: bool
    triggers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


LEGEND = ("décision d'un agent", "échéance (service)")
_WHO = {OPERATOR: "un agent", SYSTEM: "le service"}  # who may take a transition, as its description says it


def diagram_svg(workflow: Workflow, *, current: str | None = None, legend: tuple[str, str] = LEGEND) -> str:
    """Return the state machine as an inline ``<svg>`` element, the ``current`` state highlighted.

    Deterministic and self-contained (no script, no external reference, ids prefixed by the
    workflow's key) so that a page may hold several; every text of the definition is escaped.
    Boxes and arrows say the workflow's labels (its ids are only the elements' ids), and the
    description for screen readers is in French. ``legend``: the words for an operator's arrow and
    the daemon's.
    """
    if current is not None and current not in workflow.states:
        raise ValueError(f"unknown current state {current!r}; states: {', '.join(workflow.states)}")
    drawing = _Drawing(workflow, current)
    drawing.legend_words = legend
    return drawing.svg()


def _layers(workflow: Workflow) -> dict[str, int]:
    """Each state's layer: its distance from the initial state (breadth first, file order), finals last."""
    out: dict[str, list[str]] = {}
    for transition in workflow.transitions:
        for source in transition.sources:
            out.setdefault(source, []).append(transition.dest)
    layer, queue = {workflow.initial: 0}, deque([workflow.initial])
    while queue:
        name = queue.popleft()
        for dest in out.get(name, []):
            if dest not in layer:
                layer[dest] = layer[name] + 1
                queue.append(dest)
    for name in workflow.states:  # the loader refuses unreachable states; drawn anyway, after the rest
        layer.setdefault(name, max(layer.values()) + 1)
    finals = {name for name in layer if workflow.states[name].final}
    last = max((d for name, d in layer.items() if name not in finals), default=-1) + 1
    return {name: last if name in finals else d for name, d in layer.items()}


def _arrows(workflow: Workflow) -> list[_Arrow]:
    """The arrows, in file order: transitions between the same two states by the same hand share one."""
    arrows: dict[tuple[str, str, bool], _Arrow] = {}
    label, state = workflow.trigger_label, workflow.state_label
    for transition in workflow.transitions:
        when = f" si {transition.condition.source}" if transition.condition is not None else ""
        for source in transition.sources:
            timers = [t.name for t in workflow.states[source].timers if t.trigger == transition.trigger]
            daemon = SYSTEM in transition.roles and (bool(timers) or OPERATOR not in transition.roles)
            arrow = arrows.setdefault((source, transition.dest, daemon), _Arrow(source, transition.dest, daemon))
            if label(transition.trigger) not in arrow.triggers:
                arrow.triggers.append(label(transition.trigger))
            by = " ou ".join(_WHO.get(r, r) for r in transition.roles)
            by += "".join(f" ; échéance « {workflow.timer_label(name)} »" for name in timers)
            arrow.notes.append(f"{label(transition.trigger)} : {state(source)} → {state(transition.dest)}{when} ({by})")
    return list(arrows.values())


def _text(value: str) -> str:
    return escape(_INVALID_XML.sub("", value))


def _n(value: float) -> str:
    return f"{round(value, 1):g}"


def _el(tag: str, content: str = "", /, **attributes: str | float | None) -> str:
    """An element, each attribute quoted (``stroke_width`` is ``stroke-width``); ``content`` is SVG already."""
    pairs = "".join(
        f" {key.rstrip('_').replace('_', '-')}={quoteattr(_INVALID_XML.sub('', v if isinstance(v, str) else _n(v)))}"
        for key, v in attributes.items()
        if v is not None
    )
    return f"<{tag}{pairs}>{content}</{tag}>" if content else f"<{tag}{pairs}/>"


def _overlap(a: _Box, b: _Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _xy(point: _Point) -> str:
    return f"{_n(point[0])},{_n(point[1])}"


def _cubic(curve: list[_Point], t: float) -> _Point:
    weights = list(zip(((1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3), curve, strict=True))
    return (sum(w * p[0] for w, p in weights), sum(w * p[1] for w, p in weights))


class _Drawing:
    """The layout of one workflow (layers, order within each, positions, paths, labels) and its SVG."""

    legend_words: tuple[str, str] = LEGEND

    def __init__(self, workflow: Workflow, current: str | None) -> None:
        self.wf, self.current = workflow, current
        self.id = "wf-" + re.sub(r"[^A-Za-z0-9_-]", "-", workflow.key)
        self.layer = _layers(workflow)
        self.arrows = _arrows(workflow)
        self.rows: list[list[str]] = [[] for _ in range(max(self.layer.values()) + 1)]
        for name, depth in self.layer.items():
            self.rows[depth].append(name)
        self.up: dict[str, list[str]] = {}
        self.down: dict[str, list[str]] = {}
        self.chains: list[list[str]] = []  # per arrow, top to bottom through its lanes; [] within a layer
        for i, arrow in enumerate(self.arrows):
            a, b = sorted((self.layer[arrow.source], self.layer[arrow.dest]))
            ends = sorted((arrow.source, arrow.dest), key=self.layer.__getitem__)
            lanes: list[str] = []
            for depth in range(a + 1, b):
                lanes.append(f"#{i}.{depth}")  # "#" is in no state's name
                self.layer[lanes[-1]] = depth
                self.rows[depth].append(lanes[-1])
            self.chains.append([ends[0], *lanes, ends[1]] if a != b else [])
            for upper, lower in itertools.pairwise(self.chains[-1]):
                self.down.setdefault(upper, []).append(lower)
                self.up.setdefault(lower, []).append(upper)
        for _ in range(4):  # order each layer by its neighbours' mean position above, then below
            for depth in range(1, len(self.rows)):
                self._sort(depth, self.up, depth - 1)
            for depth in range(len(self.rows) - 2, -1, -1):
                self._sort(depth, self.down, depth + 1)
        self.x: dict[str, float] = {}
        for row in self.rows:
            self._fit(row, [0.0] * len(row))
        for _ in range(24):  # then pull each node towards its neighbours' mean, keeping its layer's order
            for row in [*self.rows, *reversed(self.rows)]:
                near = [[self.x[n] for n in self.up.get(node, []) + self.down.get(node, [])] for node in row]
                self._fit(row, [sum(xs) / len(xs) if xs else self.x[n] for n, xs in zip(row, near, strict=True)])
        self.boxes = [(self.x[n] - self.width(n) / 2, self.top(n), self.width(n), _H) for n in workflow.states]
        self.labels: list[_Box] = []
        self.points = [p for b in self.boxes for p in ((b[0], b[1]), (b[0] + b[2], b[1] + _H))]

    def width(self, node: str) -> float:
        return _LANE if node.startswith("#") else max(_W, 8.0 * len(self.wf.state_label(node)) + 24)

    def top(self, node: str) -> float:
        return self.layer[node] * (_H + _GAP_Y)

    def _sort(self, depth: int, neighbours: dict[str, list[str]], other: int) -> None:
        index = {node: i for i, node in enumerate(self.rows[other])}
        scale = len(self.rows[other]) / max(len(self.rows[depth]), 1)

        def key(item: tuple[int, str]) -> tuple[float, int]:
            near = [index[n] for n in neighbours.get(item[1], []) if n in index]
            return (sum(near) / len(near) if near else item[0] * scale, item[0])

        self.rows[depth] = [node for _, node in sorted(enumerate(self.rows[depth]), key=key)]

    def _fit(self, row: list[str], wanted: list[float]) -> None:
        """Place ``row`` as near ``wanted`` as its order and gaps allow: the mean of pushing right and left."""
        gaps = [
            (self.width(a) + self.width(b)) / 2 + (_GAP_X if "#" not in a + b else 12.0)
            for a, b in itertools.pairwise(row)
        ]
        right, left = list(wanted), list(wanted)
        for i, gap in enumerate(gaps):
            right[i + 1] = max(right[i + 1], right[i] + gap)
        for i in range(len(gaps) - 1, -1, -1):
            left[i] = min(left[i], left[i + 1] - gaps[i])
        for node, a, b in zip(row, right, left, strict=True):  # both keep the gaps, so does their mean
            self.x[node] = (a + b) / 2

    def _ports(self) -> dict[tuple[int, str], float]:
        """Where each arrow leaves or enters a box: spread along the side, in the order of the other ends."""
        sides: dict[tuple[str, str], list[tuple[float, int]]] = {}
        for i, (arrow, chain) in enumerate(zip(self.arrows, self.chains, strict=True)):
            if chain:
                sides.setdefault((chain[0], "bottom"), []).append((self.x[chain[1]], i))
                sides.setdefault((chain[-1], "top"), []).append((self.x[chain[-2]], i))
            elif arrow.source != arrow.dest:
                sides.setdefault((arrow.source, "bottom"), []).append((self.x[arrow.dest], i))
                sides.setdefault((arrow.dest, "bottom"), []).append((self.x[arrow.source], i))
        ports = {}
        for (node, _), items in sides.items():
            span = self.width(node) * 0.7
            for k, (_, i) in enumerate(sorted(items)):
                ports[i, node] = self.x[node] - span / 2 + span * (k + 1) / (len(items) + 1)
        return ports

    def _path(self, i: int, arrow: _Arrow, ports: dict[tuple[int, str], float]) -> tuple[str, list[_Point]]:
        """The path of arrow ``i`` and the spots where its label may go, best first."""
        chain, s = self.chains[i], arrow.source
        if chain:  # a curve across each gap between layers, a line through each lane
            points = [(ports[i, chain[0]], self.top(chain[0]) + _H)]
            points += [(self.x[lane], self.top(lane) + dy) for lane in chain[1:-1] for dy in (0, _H)]
            points.append((ports[i, chain[-1]], self.top(chain[-1])))
            points = points if chain[0] == s else points[::-1]
            curves = [
                [a, (a[0], (a[1] + b[1]) / 2), (b[0], (a[1] + b[1]) / 2), b]
                for a, b in zip(points[::2], points[1::2], strict=True)
            ]
            spots = [_cubic(curve, t) for curve in curves for t in (0.5, 0.35, 0.65, 0.2, 0.8)]
        elif s == arrow.dest:  # a loop on the right side of the box
            x0, y = self.x[s] + self.width(s) / 2, self.top(s) + _H / 2
            curves = [[(x0, y - 16), (x0 + 56, y - 40), (x0 + 56, y + 40), (x0, y + 16)]]
            spots = [(x0 + 48, y), (x0 + 20, y - 36), (x0 + 20, y + 36)]
        else:  # within a layer: an arc below it
            y, x1, x2 = self.top(s) + _H, ports[i, s], ports[i, arrow.dest]
            curves = [[(x1, y), (x1, y + 52), (x2, y + 52), (x2, y)]]
            spots = [_cubic(curves[0], t) for t in (0.5, 0.3, 0.7)]
        self.points += [p for curve in curves for p in curve]
        # a curve, then (between layers) a line through a lane to the next curve
        d = " ".join(f"{'L' if k else 'M'}{_xy(c[0])} C{' '.join(map(_xy, c[1:]))}" for k, c in enumerate(curves))
        return d, spots

    def _label(self, lines: list[str], spots: list[_Point]) -> _Box:
        """The first spot where the label overlaps no box and no label already placed (else the first)."""
        w, h = max(len(line) for line in lines) * 6.4 + 10, 14.0 * len(lines) + 4
        boxes = [(x - w / 2, y - h / 2, w, h) for x, y in spots]
        box = next((b for b in boxes if not any(_overlap(b, o) for o in self.boxes + self.labels)), boxes[0])
        self.labels.append(box)
        self.points += [(box[0], box[1]), (box[0] + w, box[1] + h)]
        return box

    def _state(self, name: str) -> str:
        """A state's box: its label, its description (shortened; whole in the tooltip) and its timers."""
        state, w, here = self.wf.states[name], self.width(name), name == self.current
        shown = self.wf.state_label(name)
        described = state.description if state.description != shown else ""
        left, y, chars = self.x[name] - w / 2, self.top(name), int((w - 20) / 5.7)
        fill, stroke, thick = ("#fef3c7", "#b45309", 3.0) if here else ("#f9fafb", _INK, 1.4)
        tip = shown + f" — {described}" * bool(described)
        tip += "".join(
            f"\néchéance « {self.wf.timer_label(t.name)} » : {self.wf.trigger_label(t.trigger)}" for t in state.timers
        )
        rect: dict[str, str | float] = {"x": left, "y": y, "width": w, "height": _H, "rx": 8}
        parts = [_el("title", _text(tip)), _el("rect", fill=fill, stroke=stroke, stroke_width=thick, **rect)]
        if state.final:
            rect.update(x=left + 4, y=y + 4, width=w - 8, height=_H - 8, rx=5)
            parts.append(_el("rect", fill="none", stroke=stroke, stroke_width=1, **rect))
        text: dict[str, str | float] = {"x": self.x[name], "text_anchor": "middle"}
        parts.append(_el("text", _text(shown), y=y + 22, font_size=13, font_weight="600", fill=_INK, **text))
        for k, line in enumerate(textwrap.wrap(described, chars, max_lines=2, placeholder=" …")):
            parts.append(_el("text", _text(line), y=y + 39 + 14 * k, font_size=11, fill=_MUTED, **text))
        if state.timers:
            labels = ", ".join(self.wf.timer_label(t.name) for t in state.timers)
            timers = "échéance" + "s" * (len(state.timers) > 1) + " : " + labels
            timers = textwrap.shorten(timers, chars, placeholder=" …")
            parts.append(_el("text", _text(timers), class_="timer", y=y + 69, font_size=10.5, fill=_TIMER, **text))
        classes = "state" + " initial" * (name == self.wf.initial) + " final" * state.final + " current" * here
        return _el(
            "g", "".join(parts), class_=classes, id=f"{self.id}-state-{name}", aria_current="true" if here else None
        )

    def _description(self) -> str:
        """The diagram in words, for screen readers: every state and decision, in French."""
        lines = [f"{self.wf.title or self.wf.name} : parcours {self.wf.name}, version {self.wf.version}."]
        current = self.wf.state_label(self.current)
        lines += [f"État actuel : {current}."] * (self.current is not None) + ["États :"]
        for name, state in self.wf.states.items():
            kind = " (initial)" if name == self.wf.initial else " (final)" if state.final else ""
            shown = self.wf.state_label(name)
            described = state.description if state.description != shown else ""
            lines.append(f"- {shown}{kind}" + f" : {described}" * bool(described))
        lines.append("Décisions (décision : de → vers, qui la prend) :")
        return "\n".join(lines + [f"- {note}" for arrow in self.arrows for note in arrow.notes])

    def svg(self) -> str:
        """The ``<svg>`` element: arrows under the boxes, their labels over both, a legend below."""
        ports, edges, labels = self._ports(), [], []
        for i, arrow in enumerate(self.arrows):
            d, spots = self._path(i, arrow, ports)
            color, timer = (_TIMER, " timer") if arrow.daemon else (_INK, "")
            path = _el("path", d=d, fill="none", **self._line(arrow.daemon))
            edges.append(_el("g", _el("title", _text("; ".join(arrow.notes))) + path, class_="edge" + timer))
            left, top, w, h = self._label(arrow.triggers, spots)
            texts = "".join(
                _el("text", _text(t), x=left + w / 2, y=top + 14 + 14 * k, text_anchor="middle")
                for k, t in enumerate(arrow.triggers)
            )
            box = _el("rect", x=left, y=top, width=w, height=h, rx=3, fill="#ffffff", fill_opacity=0.92)
            labels.append(_el("g", box + texts, class_="label" + timer, font_size=11, fill=color))
        start = self.x[self.wf.initial]
        path = _el("path", d=f"M{_n(start)},-28 V0", **self._line(False))
        self.points.append((start, -40.0))
        legend = self._legend()
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        view = f"{_n(min(xs) - 16)} {_n(min(ys) - 16)} {_n(max(xs) - min(xs) + 32)} {_n(max(ys) - min(ys) + 32)}"
        head = _el("path", d="M0,0 L10,5 L0,10 z")
        marker: dict[str, str | float] = {
            "viewBox": "0 0 10 10",
            "refX": 9,
            "refY": 5,
            "markerWidth": 7,
            "markerHeight": 7,
        }
        markers = "".join(
            _el("marker", head, id=f"{self.id}-arrow{suffix}", orient="auto-start-reverse", fill=color, **marker)
            for suffix, color in (("", _INK), ("-timer", _TIMER))
        )
        title = f"{self.wf.title or self.wf.name} ({self.wf.name}, version {self.wf.version})"
        body = "\n".join(
            [
                _el("title", _text(title), id=f"{self.id}-title"),
                _el("desc", _text(self._description()), id=f"{self.id}-desc"),
                _el("defs", markers),
                *edges,
                _el("g", _el("circle", cx=start, cy=-34, r=6, fill=_INK) + path, class_="start"),
                *(self._state(name) for name in self.wf.states),
                *labels,
                legend,
            ]
        )
        return (  # the id is sanitized and the view numbers: nothing here to quote
            f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" width="100%" viewBox="{view}"'
            f' aria-labelledby="{self.id}-title {self.id}-desc" font-family="system-ui, Segoe UI, sans-serif">\n'
            f"{body}\n</svg>\n"
        )

    def _line(self, daemon: bool) -> dict[str, str | float | None]:
        """How an arrow is stroked: the daemon's dashed and in its own colour, each with its arrowhead."""
        dashes, color, marker = (
            ("6 4", _TIMER, f"url(#{self.id}-arrow-timer)") if daemon else (None, _INK, f"url(#{self.id}-arrow)")
        )
        return {"stroke": color, "stroke_width": 1.4, "stroke_dasharray": dashes, "marker_end": marker}

    def _legend(self) -> str:
        x, y = min(p[0] for p in self.points), max(p[1] for p in self.points) + 28
        self.points += [(x, y + 10), (x + 330, y + 10)]
        items = []
        words = self.legend_words
        for k, (text, color, timer) in enumerate(((words[0], _INK, ""), (words[1], _TIMER, "-timer"))):
            items.append(
                _el("path", d=f"M{_n(x + 160 * k)},{_n(y)} h40", **self._line(bool(timer)))
                + _el("text", text, x=x + 160 * k + 48, y=y + 4, font_size=11, fill=color)
            )
        return _el("g", "".join(items), class_="legend")
