"""What a workflow file declares of its letters: each letter (``LetterDef``) and the letterhead
(``Letterhead``: the issuers by date, the place, the court of appeal).

They sit with the letters, not with the workflow: rendering needs them and nothing of the rest of a
workflow, and the workflow's definition holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .mentions import LegalBasis, OnlineRecourse


@dataclass(frozen=True)
class LetterDef:
    """A letter sent at a step: its template, subject template and the recipient roles.

    ``unfavourable``: it notifies a decision against its recipient (a withdrawal, a refusal, a
    support revised), which must state its reasons, its effective date and the means of appeal.
    """

    name: str
    subject: str
    to: tuple[str, ...]
    template: Path
    unfavourable: bool = False
    attachments: tuple[str, ...] = ()  # the pièces jointes it lists (P.J.)
    copies: bool = False  # the first role is the addressee; the others receive copies of that letter
    decision: str = ""  # the kind of decision it notifies (letters.directory.KINDS); empty: its trigger's
    signature: str = "person"  # SIGNATURES: signed by its post's signatory, or a notice under the service's seal
    legal_basis: tuple[LegalBasis, ...] = ()  # the texts the decision rests on, cited by the letter


SIGNATURES = ("person", "seal")  # who signs a letter: a person of its post, or the service's seal (a notice)


@dataclass(frozen=True)
class Issuer:
    """The service letters are issued by from ``since`` on (the timbre), who signs, and by what delegation."""

    since: date
    service: str
    signatory: str  # the signatory's title: "le délégué interministériel à …"
    delegation: str = ""  # "Pour le Premier ministre et par délégation", when the signatory has one


@dataclass(frozen=True)
class Letterhead:
    """What heads and closes a workflow's letters: its issuers by date, its place, the court of appeal."""

    issuers: tuple[Issuer, ...] = ()
    place: str = "Paris"
    recourse_court: str = "le tribunal administratif"
    regions: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # extends labelwf.letters.address.REGIONS
    online_recourse: OnlineRecourse | None = None  # Télérecours citoyens, from its opening day
    legal_basis: tuple[LegalBasis, ...] = ()  # what every letter cites, unless it declares its own

    def issuer_at(self, day: date) -> Issuer | None:
        """The issuer in force on ``day`` (the latest whose ``since`` is not after it), or None."""
        found = None
        for issuer in self.issuers:
            if issuer.since <= day:
                found = issuer
        return found
