"""What the instance page says, in words people read: labels instead of ids, history lines as
sentences, and what a stakeholder may see of its own pole.

The workflow file declares the labels (``label`` of a state, a transition, a field, a recipient);
an id without one is shown as it is. A stakeholder (an account bound to its entity) reads the
decisions, their dates and the deciding authority as recorded ("Gouvernement", "CIADT"), never
who of the staff acted (an agent's account, the machine's principal, the request), nor the
staff's reasons, and only the letters addressed or copied to the roles that stand for the entity
(``recipients: {…, entity: true}``): the préfet's and the région's are not theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from .. import accounts
from ..engine import queries
from ..engine.wording import LETTER_STATUSES
from ..errors import NotFound
from ..store import Database
from ..store.records import Event, Letter, LetterStatus
from ..workflow.definition import DAEMON_ACTOR, SYSTEM, Workflow
from ..workflow.step_version import step_version
from .api import runtime_of
from .auth import Caller
from .console_history import Reader, detail, sentence

UNSIGNED = (LetterStatus.TO_SIGN, LetterStatus.RETURNED)  # a stakeholder never sees these (the service's own)


@dataclass(frozen=True)
class HistoryLine:
    """One event as a sentence, and what staff see beside it (empty for a stakeholder)."""

    sentence: str
    principal: str = ""  # the staff's detail of who acted on the machine, in French
    batch: int | None = None
    basis: Any = None


def is_stakeholder(who: Caller) -> bool:
    """Whether ``who`` is bound to one entity (a stakeholder's account)."""
    return who.account.entity is not None


def letters_for(who: Caller, workflow: Workflow, letters: Iterable[Letter]) -> list[Letter]:
    """The letters ``who`` may read: all for staff; for a stakeholder, those to its entity's roles."""
    if not is_stakeholder(who):
        return list(letters)
    return [m for m in letters if m.recipient.role in workflow.entity_roles and m.status not in UNSIGNED]


def letter_readable(who: Caller, workflow: Workflow, letter: Letter) -> bool:
    """Whether ``who`` may read ``letter`` (its entity, and for a stakeholder one of its entity's roles,
    signed or needing no signature: a letter waiting for its signatory or sent back is the service's)."""
    if not who.sees(letter.entity):
        return False
    return not is_stakeholder(who) or (letter.recipient.role in workflow.entity_roles and letter.status not in UNSIGNED)


def theirs(request: Any, who: Caller, letter_id: int) -> None:
    """Raise ``NotFound`` (as for a letter that does not exist) unless ``who`` may read the letter: a
    stakeholder reads its entity's letters to the roles that stand for it, nobody's else."""
    if not is_stakeholder(who):
        return
    runtime = runtime_of(request)
    letter = queries.get_letter(runtime.db, letter_id)
    workflow = queries.describe(runtime.engine, letter.entity).workflow if who.sees(letter.entity) else None
    if workflow is None or not letter_readable(who, workflow, letter):
        raise NotFound("letter", letter_id, "")


def history_lines(
    db: Database,
    who: Caller,
    workflow: Workflow,
    events: Sequence[Event],
    zone: ZoneInfo,
    versions: Sequence[Workflow] = (),
) -> list[HistoryLine]:
    """The history as people read it (``console_history``); a stakeholder's without the staff's names,
    the machine's principals and the staff's reasons. Each event is said in the words of the version
    of ``versions`` (the workflow's loaded versions; default ``workflow`` alone) that declares its step."""
    known = versions or (workflow,)

    def said(e: Event, reader: Reader) -> str:
        return sentence(e, step_version(known, e.trigger, e.source, e.dest), zone, reader)

    if not is_stakeholder(who):
        reader = Reader(staff=True)
        return [
            HistoryLine(said(e, reader), principal=detail(e.principal), batch=e.batch, basis=e.basis) for e in events
        ]
    staff = Reader(staff=False, hidden=frozenset({a.name for a in accounts.accounts(db)} | {DAEMON_ACTOR, SYSTEM}))
    return [HistoryLine(said(e, staff), basis=e.basis) for e in events]


def reading_context(
    db: Database,
    who: Caller,
    workflow: Workflow,
    view: Any,
    events: Sequence[Event],
    zone: ZoneInfo,
    versions: Sequence[Workflow] = (),
) -> dict[str, Any]:
    """What the instance page needs to speak in labels, for ``who`` (``versions``: see ``history_lines``)."""
    return {
        "wf": workflow,
        "lines": history_lines(db, who, workflow, events, zone, versions),
        "shown_letters": letters_for(who, workflow, view.letters),
        "letter_statuses": LETTER_STATUSES,
        "stakeholder": is_stakeholder(who),
    }
