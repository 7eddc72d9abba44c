"""The checker's rules on the mentions the law asks of a decision letter (``letters.mentions``).

- ``base-legale-absente``: a decision without the texts it rests on (the line « Références : … »);
- ``recours-absent``: a decision without its voies et délais de recours;
- ``telerecours-absent``: a decision dated from the opening of Télérecours citoyens that does not say
  the tribunal may be seized through it;
- ``motifs-incomplets``: an unfavourable decision whose reasons do not state both the rule (« En
  droit ») and the facts (« En fait »);
- ``adresse-absente``: an addressee block with neither a postal address nor the note that the record
  gives none.

``mention_kinds`` tells, from the workflows, which letters notify a decision and from when the
online recourse is open. Pure functions over the plain-text rendering; each finding says what is right.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from .directory import kind_of
from .letter_check import Finding
from .spec import LetterDef, Letterhead

NOT_DECISIONS = (None, "information", "pilotage")  # kinds of letter that notify no decision
NO_ADDRESS = "adresse postale non donnée par le dossier public"
_SPACE = "[ \u00a0\u202f]*"
_REFERENCES = re.compile(rf"^[ \t]*Références{_SPACE}:{_SPACE}\S", re.MULTILINE)
_RECOURSE = re.compile(r"Voies\s+et\s+délais\s+de\s+recours")
_ONLINE = re.compile(r"Télérecours")
_IN_LAW = re.compile(rf"En{_SPACE}droit{_SPACE}:")
_IN_FACT = re.compile(rf"En{_SPACE}fait{_SPACE}:")
_OBJECT = re.compile(r"^[ \t]*Objet\b", re.MULTILINE)
_HEAD_END = re.compile(r"^[ \t]*(?:N/)?Réf\.", re.MULTILINE)
_POSTCODE = re.compile(r"(?<!\d)\d{5}(?!\d)|\bCS\s*\d+|\bBP\s*\d+|\bCEDEX\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LetterKind:
    """What the rules need to know of a kind of letter: whether it notifies a decision, whether it is
    unfavourable, and from which day the online recourse must be mentioned (None: never)."""

    decision: bool
    unfavourable: bool = False
    online_since: date | None = None


def mention_kinds(
    workflows: Iterable[tuple[Mapping[str, LetterDef], Letterhead, Iterable[tuple[str, Iterable[str]]]]],
) -> dict[str, LetterKind]:
    """Each letter name → its ``LetterKind``, from each workflow's letters, letterhead and transitions
    ((trigger, letters) pairs). A name several workflows share is a decision when one of them says so."""
    found: dict[str, LetterKind] = {}
    for letters, head, transitions in workflows:
        kinds: dict[str, set[str | None]] = {name: set() for name in letters}
        for trigger, sent in transitions:
            for name in sent:
                if name in letters:
                    kinds[name].add(kind_of(trigger, letters[name].decision))
        for name, spec in letters.items():
            declared = kinds[name] or {kind_of("", spec.decision)}
            decision = spec.unfavourable or any(k not in NOT_DECISIONS for k in declared)
            since = head.online_recourse.since if head.online_recourse is not None else None
            before = found.get(name)
            if before is not None:
                decision = decision or before.decision
                since = min((d for d in (since, before.online_since) if d is not None), default=None)
            found[name] = LetterKind(decision, spec.unfavourable or bool(before and before.unfavourable), since)
    return found


def check_mentions(text: str, kind: LetterKind | None, day: date | None) -> list[Finding]:
    """The mentions missing from a letter's plain text, one finding each (none for a letter of no kind)."""
    if kind is None:
        return []
    found = _address(text)
    if kind.decision or kind.unfavourable:
        if _REFERENCES.search(text) is None:
            found.append(
                Finding(
                    "base-legale-absente",
                    "décision sans base légale : la ligne « Références : » cite les textes sur lesquels elle repose "
                    "(legal_basis de la lettre ou de l’en-tête du workflow)",
                    "",
                )
            )
        if _RECOURSE.search(text) is None:
            found.append(
                Finding(
                    "recours-absent",
                    "décision sans voies et délais de recours : le recours gracieux et le recours contentieux "
                    "devant le tribunal administratif, dans les deux mois (CJA R. 421-5)",
                    "",
                )
            )
        elif (
            kind.online_since is not None and day is not None and day >= kind.online_since and not _ONLINE.search(text)
        ):
            shown = kind.online_since.strftime("%d/%m/%Y")
            found.append(
                Finding(
                    "telerecours-absent",
                    f"décision du {day.strftime('%d/%m/%Y')} sans la mention de Télérecours citoyens, ouvert le "
                    f"{shown} : dire que le tribunal peut être saisi par cette application",
                    "",
                )
            )
    if kind.unfavourable:
        missing = [
            what
            for pattern, what in ((_IN_LAW, "« En droit : »"), (_IN_FACT, "« En fait : »"))
            if not pattern.search(text)
        ]
        if missing:
            found.append(
                Finding(
                    "motifs-incomplets",
                    f"décision défavorable dont les motifs n’ont pas {' ni '.join(missing)} : ils énoncent la règle "
                    "appliquée et les faits qui la fondent (CRPA L. 211-5)",
                    "",
                )
            )
    return found


def _address(text: str) -> list[Finding]:
    """The addressee block (between the references of the head and the object) without an address or the note."""
    head, obj = _HEAD_END.search(text), _OBJECT.search(text)
    if head is None or obj is None or obj.start() < head.end():
        return []
    block = text[head.end() : obj.start()]
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", block) if p.strip()]
    addressee = paragraphs[-1] if len(paragraphs) > 1 else ""
    if not addressee or NO_ADDRESS in addressee or _POSTCODE.search(addressee):
        return []
    excerpt = " ".join(addressee.split())[:60]
    message = (
        f"destinataire sans adresse postale : donner celle du contact en vigueur à la date, ou dire « {NO_ADDRESS} »"
    )
    return [Finding("adresse-absente", message, excerpt)]
