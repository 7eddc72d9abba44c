"""Diagrams of a workflow (Mermaid or Graphviz dot), optionally with live counts per state."""

from __future__ import annotations

from collections.abc import Mapping

from .definition import Workflow

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
