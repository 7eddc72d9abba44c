"""Which loaded version of a workflow says a recorded step in its own words.

An instance migrated from one version to the next keeps the events of the old one: « classify »
from « evaluated » to « group_1 » is declared by version 1 only, and « sign_contract » may carry a
label in each version (« contrat de performance » then « contrat 2013-2018 »). Each event is said
by the newest version that declares its very step (its trigger from its source to its dest), else
by the newest that knows its states, else by the newest: never by a version that did not exist
for it when a version that did is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

from .definition import Workflow


def step_version(versions: Sequence[Workflow], trigger: str | None, source: str | None, dest: str | None) -> Workflow:
    """Of ``versions`` (a workflow's loaded versions, any order, at least one), the one whose words say the
    step ``trigger`` from ``source`` to ``dest``."""
    newest_first = sorted(versions, key=lambda w: w.version, reverse=True)
    for wf in newest_first:
        if trigger and source and any(t.dest == dest for t in wf.candidates(source, trigger)):
            return wf
    for wf in newest_first:
        if (dest is None or dest in wf.states) and (source is None or source in wf.states):
            return wf
    return newest_first[0]
