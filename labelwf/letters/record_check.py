"""The letter checker's rules of the record: what a letter of a long programme must not assert.

``letter_check`` finds what no administration could send (technical tokens, typography, missing
mentions); these rules find what a letter of 2017 or 2023 gets wrong about its own date and about
where its facts come from:

- ``valeur-brute``: a declared field's choice printed as its code (``moins_performant``, or
  ``performant`` alone as a fact's value) instead of its French wording;
- ``mot-anglais``: an English word of the data files (``later``, ``former``, ``and``, ``unknown``…);
- ``code-de-role``: a copy line listing bare roles (``Copie pour information : Préfet ; Président``);
- ``region-abolie``: a region merged away (1 January 2016) named in a letter dated after;
- ``signataire-non-nomme``: a signature without the signatory's name, nor a note that the record
  gives none;
- ``fait-suppose-non-signale`` / ``donnees-fictives-non-signalees``: a letter whose step rests on
  an assumed fact without the note « fait supposé », or on a synthetic fact without the mark
  « SPÉCIMEN ».

Pure functions over the plain-text rendering; each finding says what would be right.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from .letter_check import EXCERPT, Finding

ENGLISH = ("later", "former", "formerly", "and", "unknown", "the", "merged", "renamed", "until", "with", "into")
_ENGLISH = re.compile(r"(?<![\w’'@./-])(?:" + "|".join(ENGLISH) + r")(?![\w’'@/-])")
_ENGLISH_PAREN = re.compile(r"\((?:later|formerly|former)\b", re.IGNORECASE)
_COPIES = re.compile(r"^[ \t]*Copie pour information\s*:\s*(.+)$", re.MULTILINE)
_NOT_GIVEN = "non donné par le dossier public"
_ASSUMED_NOTE = re.compile(r"fait\s+suppos", re.IGNORECASE)
_SPECIMEN = "SPÉCIMEN"
_FRENCH = "« devenu », « ancien », « et », « non connu »…"
_FUNCTIONS = "« Préfecture de la région … », « Conseil régional de … »"
_SPACE = "[ \u00a0]+"
_REGION_WORDS = (
    rf"(?:[Rr]égion|[Rr]égional){_SPACE}(?:de{_SPACE}la{_SPACE}|de{_SPACE}l’|du{_SPACE}|des{_SPACE}|d’|de{_SPACE})?"
)
_TITLE_WORDS = ("Le", "La", "Les", "L’", "Pour", "Par", "Au", "Aux", "P/", "(")
_POLITESSE = re.compile(r"(?:[Jj]e\s+vous\s+prie\s+d’agréer|[Vv]euillez\s+agréer)[^.]*\.", re.DOTALL)

# Regions merged on 1 January 2016, when no region map is given (the names only: which region
# replaced each is in the map the programme ships, data/regions_2016.csv).
FORMER_REGIONS = (
    "Alsace",
    "Aquitaine",
    "Auvergne",
    "Basse-Normandie",
    "Bourgogne",
    "Champagne-Ardenne",
    "Franche-Comté",
    "Haute-Normandie",
    "Languedoc-Roussillon",
    "Limousin",
    "Lorraine",
    "Midi-Pyrénées",
    "Nord-Pas-de-Calais",
    "Picardie",
    "Poitou-Charentes",
    "Rhône-Alpes",
)
MERGED_ON = date(2016, 1, 1)


@dataclass(frozen=True, slots=True)
class FormerRegion:
    """A region no longer in force from ``until`` on, and the one that replaced it (empty if not known)."""

    name: str
    until: date
    successor: str = ""


def default_regions() -> tuple[FormerRegion, ...]:
    """The regions merged on 1 January 2016, without their successors."""
    return tuple(FormerRegion(name, MERGED_ON) for name in FORMER_REGIONS)


def load_regions(path: Path) -> tuple[FormerRegion, ...]:
    """The former regions of a region map (``former_region,region,valid_from,…``); rows it cannot read are
    left out, and a file it cannot read gives the default list (the checker never fails on its input)."""
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")[:1_000_000])))
    except (OSError, UnicodeDecodeError, csv.Error):
        return default_regions()
    found = []
    for row in rows:
        try:
            found.append(
                FormerRegion(
                    row["former_region"].strip(), date.fromisoformat(row["valid_from"].strip()), row["region"].strip()
                )
            )
        except (KeyError, AttributeError, ValueError):
            continue
    return tuple(f for f in found if f.name) or default_regions()


@dataclass(frozen=True)
class RecordContext:
    """What the record rules need beyond a letter's text.

    ``choices``: each declared choice code → the label of its field; ``day``: the letter's date;
    ``basis``: the kind of its step's basis (``record``, ``assumed``, ``synthetic``) or None.
    """

    choices: Mapping[str, str]
    regions: tuple[FormerRegion, ...] = ()
    day: date | None = None
    basis: str | None = None


def choice_codes(fields: Iterable[tuple[str, Iterable[object]]]) -> dict[str, str]:
    """Each text choice of the declared fields (label, choices) → its field's label."""
    return {str(c): label for label, choices in fields for c in choices if isinstance(c, str) and c}


def check_record(text: str, context: RecordContext) -> list[Finding]:
    """The record rules' findings for a letter's plain text, in the order they appear."""
    found = _raw_values(text, context.choices) + _english(text) + _role_codes(text)
    if context.day is not None:
        found += _regions(text, context.regions or default_regions(), context.day)
    found += _signatory(text)
    found.sort(key=lambda item: item[0])
    findings = [f for _, f in found]
    if context.basis == "assumed" and not _ASSUMED_NOTE.search(text):
        findings.append(
            Finding(
                "fait-suppose-non-signale",
                "la lettre repose sur un fait supposé mais ne le dit pas : "
                "ajouter la note « fait supposé » et ce qui est supposé",
                "",
            )
        )
    if context.basis == "synthetic" and _SPECIMEN not in text:
        findings.append(
            Finding(
                "donnees-fictives-non-signalees",
                "la lettre repose sur des données fictives sans la marque « SPÉCIMEN — données fictives »",
                "",
            )
        )
    return findings


def _raw_values(text: str, choices: Mapping[str, str]) -> list[tuple[int, Finding]]:
    found = []
    for code, label in choices.items():
        if "_" in code:
            pattern = re.compile(rf"(?<![\w-]){re.escape(code)}(?![\w-])")
        else:  # a plain word is French too: only as a fact's whole value, or quoted
            pattern = re.compile(
                rf":[ \u00a0\u202f]*{re.escape(code)}[ \t]*$|«[ \u00a0\u202f]*{re.escape(code)}[ \u00a0\u202f]*»",
                re.MULTILINE,
            )
        for m in pattern.finditer(text):
            message = f"valeur brute « {code} » du champ « {label} » : écrire sa forme française, pas son code"
            found.append((m.start(), Finding("valeur-brute", message, _excerpt(text, m.start(), m.end()))))
    return found


def _english(text: str) -> list[tuple[int, Finding]]:
    found = []
    for pattern in (_ENGLISH_PAREN, _ENGLISH):
        for m in pattern.finditer(text):
            word = m.group().lstrip("(")
            message = f"mot anglais « {word} » dans une lettre en français : l’écrire en français ({_FRENCH})"
            found.append((m.start(), Finding("mot-anglais", message, _excerpt(text, m.start(), m.end()))))
    return found


def _role_codes(text: str) -> list[tuple[int, Finding]]:
    found = []
    for m in _COPIES.finditer(text):
        for item in re.split(r"[;\u202f]+", m.group(1)):
            role = item.strip(" \u00a0\u202f")
            if role and len(role.split()) == 1:
                message = f"« {role} » est un code de rôle : nommer la fonction ({_FUNCTIONS})"
                found.append((m.start(1), Finding("code-de-role", message, _excerpt(text, m.start(), m.end()))))
    return found


def _regions(text: str, regions: Iterable[FormerRegion], day: date) -> list[tuple[int, Finding]]:
    found = []
    for region in regions:
        if day < region.until or region.name not in text:
            continue
        pattern = _REGION_WORDS + re.escape(region.name) + r"(?![\w-])"
        for m in re.finditer(pattern, text):
            right = f"la région {region.successor}" if region.successor else "la région en vigueur à cette date"
            last = (region.until - timedelta(days=1)).strftime("%d/%m/%Y")
            shown = day.strftime("%d/%m/%Y")
            message = f"région {region.name} nommée le {shown}, disparue après le {last} : écrire {right}"
            found.append((m.start(), Finding("region-abolie", message, _excerpt(text, m.start(), m.end()))))
    return found


def _signatory(text: str) -> list[tuple[int, Finding]]:
    """A signature block (the lines after the formule de politesse, before the copies) without a name."""
    politesse = None
    for politesse in _POLITESSE.finditer(text):  # noqa: B007  (the last one is kept)
        continue
    if politesse is None:
        return []  # letter_check reports the missing formule and signature
    block = text[politesse.end() :].split("Copie pour information", 1)[0]
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    if not lines or _NOT_GIVEN in block:
        return []
    if any(not line.startswith(_TITLE_WORDS) for line in lines):
        return []
    message = (
        "signataire non nommé : la signature d’une décision donne le prénom, le nom et la qualité "
        "(CRPA L. 212-1), ou dit que le dossier public ne donne pas le nom"
    )
    at = politesse.end()
    return [(at, Finding("signataire-non-nomme", message, _excerpt(text, at, at + len(block.rstrip()))))]


def _excerpt(text: str, start: int, end: int) -> str:
    room = max(0, (EXCERPT - (end - start)) // 2)
    piece = text[max(0, start - room) : min(len(text), end + room)]
    return " ".join(piece.split())[:EXCERPT]
