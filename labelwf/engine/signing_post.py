"""Which post must sign a step's letter: the dated directory's signatory for its kind of decision.

A letter waits for a signature when the service requires one (``signature: required``) and its
workflow does not declare it a notice under the service's seal (``signature: seal``). Its post is
the one the directory names for the letter's kind of decision on the decision's date (a decision
of 15 December 2010 is signed by the post of 2010, whoever signs it today); where the directory
names none (no directory, a kind it does not cover, a date before its rows), ``DEFAULT_POST``.
"""

from __future__ import annotations

from ..letters.directory import DEFAULT_POST, kind_of
from ..letters.render import Signers
from ..letters.spec import LetterDef
from ..store.records import SEAL_POST as SEAL_POST  # a notice's post: signed at delivery, never queued
from ..store.records import Event
from ..workflow.definition import Workflow


def signing_post(signers: Signers, wf: Workflow, spec: LetterDef, event: Event) -> str | None:
    """The post that must sign ``spec``'s letter of ``event``: ``SEAL_POST`` for a notice, None when
    signatures are off (the letter goes out as written)."""
    if not signers.signature:
        return None
    if spec.signature == "seal":
        return SEAL_POST
    directory = signers.directory
    kind = kind_of(str(event.trigger or ""), spec.decision)
    if directory is None or kind is None:
        return DEFAULT_POST
    row = directory.at(kind, event.occurred_at.astimezone(wf.timezone).date())
    return row.post_key if row is not None else DEFAULT_POST
