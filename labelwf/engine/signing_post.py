"""Which post must sign a step's letter: the dated directory's signatory for its kind of decision.

A letter waits for a signature when the service requires one (``signature: required``) and its
workflow does not declare it a notice under the service's seal (``signature: seal``). Its post is
the one the directory names for the letter's kind of decision on the decision's date (a decision
of 15 December 2010 is signed by the post of 2010, whoever signs it today); where the directory
names none (no directory, a kind it does not cover, a date before its rows), ``DEFAULT_POST``.

A signatory account is bound to one of those posts (``signatory_posts``): whoever adds one, in the
command line or the console, refuses any other (``check_signatory_post``), as no letter would ever
wait for it.
"""

from __future__ import annotations

from ..errors import AccountError
from ..letters.directory import DEFAULT_POST, Directory, kind_of
from ..letters.render import Signers
from ..letters.spec import LetterDef
from ..message import N_, Quoted, listed
from ..store.records import SEAL_POST as SEAL_POST  # a notice's post: signed at delivery, never queued
from ..store.records import Event
from ..workflow.definition import Workflow

_NO_POST = N_("none")  # no directory: marked apart, as pybabel extract misses a message marked inside another's call


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


def signatory_posts(directory: Directory | None) -> list[str]:
    """The posts a signatory may be bound to: those of ``directory``'s rows, in order of first appearance,
    then ``DEFAULT_POST`` (the letters the directory gives to no post wait for it)."""
    rows = directory.rows if directory is not None else ()
    return list(dict.fromkeys([*(row.post_key for row in rows), DEFAULT_POST]))


def check_signatory_post(post: str | None, directory: Directory | None) -> None:
    """Refuse ``post`` (``AccountError``, listing the known posts) unless it is one of ``signatory_posts``."""
    known = signatory_posts(directory)
    if post is not None and post not in known:
        others = [key for key in known if key != DEFAULT_POST]
        expected = N_(
            "a post of the directory (%(posts)s) or the default post %(default)s",
            posts=listed(others, empty=_NO_POST),
            default=Quoted(DEFAULT_POST),
        )
        raise AccountError("post", post, expected)
