"""The dated directory of the administration: who runs the programme, decides and signs, at each date.

A programme that lasts decades outlives its administrations: the DIACT became the DATAR, then the
CGET, then the ANCT; the DGE became the DGCIS and the DGE again; from 2019 the Prime Minister signs
the label letters, and between 16 May 2022 and 9 January 2024 she is « la Première ministre ». A
letter names the authority in force on its date, never a fixed text.

The directory is a CSV file (``directory:`` in the configuration), one row per kind of decision and
period, each with its source keys in the public record. Where the record gives no name, the row
says so in its note and leaves the name empty; where the row rests on an assumption (who signed a
letter the record only mentions), its ``assumed`` text says which. The file is checked as a whole
when it is loaded: a bad row refuses the file, naming the line, the value and what is right.

Pure data and lookups: no I/O but ``load_directory``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

from ..errors import ImportRejected, Problem

# The kinds of decision a letter may rest on, with what a person reads for each.
KINDS: Mapping[str, str] = {
    "pilotage": "conduite du programme",
    "labellisation": "labellisation",
    "renouvellement": "renouvellement du label",
    "delabellisation": "retrait du label",
    "refus": "refus de labellisation",
    "confirmation": "confirmation du label",
    "classement": "classement d'une évaluation",
    "contrat": "contrat de performance",
    "revue": "examen d'un contrat",
    "information": "avis sans décision",
}
PROGRAMME = "pilotage"  # several rows may be in force at once: the services that run the programme together

# The kind of decision of a step, by its trigger, when its letter does not declare one.
TRIGGER_KINDS: Mapping[str, str] = {
    "label": "labellisation",
    "label_to_phase_end": "labellisation",
    "label_one_year": "labellisation",
    "label_two_years": "labellisation",
    "renew": "renouvellement",
    "delabel": "delabellisation",
    "refuse": "refus",
    "confirm": "confirmation",
    "classify": "classement",
    "classify_2012": "classement",
    "sign_contract": "contrat",
    "open_review": "revue",
    "review_satisfactory": "revue",
    "review_unsatisfactory": "revue",
    "open_mid_term_review": "revue",
    "close_mid_term_review": "revue",
    "end_label_term": "information",
    "end_contract": "information",
    "end_phase": "information",
}

COLUMNS = (
    "kind",
    "valid_from",
    "valid_to",
    "decides",
    "signatory",
    "gender",
    "signatory_name",
    "delegation",
    "source",
    "assumed",
    "note",
    "post",
)
LEGACY_COLUMNS = COLUMNS[:-1]  # a directory without posts: every letter goes to the default post
DEFAULT_POST = "service"  # the post that signs where the directory names none
NO_NAME = "nom non donné par le dossier public"
GENDERS = {"m": "masculin", "f": "féminin", "": "non précisé"}
MAX_BYTES = 1_000_000
MAX_ROWS = 5_000
MAX_TEXT = 400
_SOURCE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")
POST_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_FEMININE = re.compile(r"^la\s", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Authority:
    """One row of the directory: for a kind of decision and a period, who decides and who signs.

    ``signatory`` is the signature's title in its gender-correct form ("la Première ministre");
    ``signatory_name`` is empty when the record gives no name (``note`` then says so).
    """

    kind: str
    valid_from: date
    valid_to: date | None  # the last day in force; None: still in force
    decides: str
    signatory: str
    gender: str
    signatory_name: str
    delegation: str
    source: str
    assumed: str = ""
    note: str = ""
    post: str = ""  # the key of the post that signs (a signatory account is bound to it); empty: DEFAULT_POST

    @property
    def post_key(self) -> str:
        """The post that signs this row's decisions: its own key, or ``DEFAULT_POST``."""
        return self.post or DEFAULT_POST

    def in_force(self, day: date) -> bool:
        """Whether the row applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def namespace(self) -> SimpleNamespace:
        """What a letter template reads of it (plain data, so the sandbox's fast path applies)."""
        return SimpleNamespace(
            kind=self.kind,
            kind_label=KINDS[self.kind],
            decides=self.decides,
            signatory=self.signatory,
            gender=self.gender,
            signatory_name=self.signatory_name,
            delegation=self.delegation,
            source=self.source,
            assumed=self.assumed,
            note=self.note,
            post=self.post_key,
        )


@dataclass(frozen=True)
class Directory:
    """The rows of a directory file, and lookups by kind and date."""

    rows: tuple[Authority, ...]
    file: str = ""

    def at(self, kind: str, day: date) -> Authority | None:
        """The row in force on ``day`` for ``kind`` (the latest starting one), or None if the record gives none."""
        found = None
        for row in self.rows:
            if row.kind == kind and row.in_force(day) and (found is None or row.valid_from > found.valid_from):
                found = row
        return found

    def in_force(self, day: date) -> list[Authority]:
        """Every row in force on ``day``, the programme's services first, then by kind as ``KINDS`` lists them."""
        order = {kind: n for n, kind in enumerate(KINDS)}
        return sorted((r for r in self.rows if r.in_force(day)), key=lambda r: (order[r.kind], r.valid_from))


def kind_of(trigger: str, declared: str = "") -> str | None:
    """The kind of decision of a step: its letter's declared ``decision``, else its trigger's, else None."""
    return declared or TRIGGER_KINDS.get(trigger)


def load_directory(path: Path) -> Directory:
    """Read and check a directory file; raise ``ImportRejected`` naming every bad row (nothing is kept)."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportRejected([Problem(name, None, f"cannot be read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_BYTES:
        raise ImportRejected([Problem(name, None, f"is {len(raw)} bytes; a directory file is at most {MAX_BYTES}")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected([Problem(name, None, f"is not UTF-8 (byte {exc.start}): save it as UTF-8")]) from None
    return parse_directory(text, name)


def parse_directory(text: str, file: str = "<directory>") -> Directory:
    """The directory of a CSV text; raise ``ImportRejected`` naming every bad row."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    columns = tuple(h.strip() for h in header or ())
    if header is None or columns not in (COLUMNS, LEGACY_COLUMNS):
        got = ",".join(header or [])
        raise ImportRejected([Problem(file, 1, f"header {got!r} is not the expected {','.join(COLUMNS)!r}")])
    problems: list[Problem] = []
    rows: list[Authority] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            problems.append(Problem(file, line, f"more than {MAX_ROWS} rows: split the file"))
            break
        if columns == LEGACY_COLUMNS and len(cells) == len(LEGACY_COLUMNS):
            cells = [*cells, ""]  # no post: the default post signs
        row = _row(cells, file, line, problems, columns)
        if row is not None:
            rows.append(row)
    problems += _overlaps(rows, file)
    if problems:
        raise ImportRejected(problems)
    return Directory(tuple(rows), file)


def _row(
    cells: list[str], file: str, line: int, problems: list[Problem], columns: tuple[str, ...] = COLUMNS
) -> Authority | None:
    """One row, or None after recording what is wrong with it (``columns``: the file's header)."""
    if len(cells) != len(COLUMNS):
        problems.append(Problem(file, line, f"has {len(cells)} columns; expected {len(columns)}: {','.join(columns)}"))
        return None
    values = dict(zip(COLUMNS, (" ".join(c.split()) for c in cells), strict=True))
    before = len(problems)

    def bad(column: str, expected: str) -> None:
        problems.append(Problem(file, line, f"{column} {values[column]!r} is invalid: expected {expected}"))

    for column, value in values.items():
        if len(value) > MAX_TEXT or not value.isprintable():
            bad(column, f"printable text of at most {MAX_TEXT} characters")
    if values["kind"] not in KINDS:
        bad("kind", "one of " + ", ".join(KINDS))
    start, end = _day(values["valid_from"]), _day(values["valid_to"]) if values["valid_to"] else None
    if start is None:
        bad("valid_from", "a date YYYY-MM-DD")
    if values["valid_to"] and end is None:
        bad("valid_to", "a date YYYY-MM-DD, or empty while the row is still in force")
    if start and end and end < start:
        bad("valid_to", f"a date on or after valid_from ({start.isoformat()})")
    for column in ("decides", "signatory"):
        if not values[column]:
            bad(column, "a text (who decides; the signature's title, with its article)")
    if values["gender"] not in GENDERS:
        bad("gender", "m, f or empty")
    elif values["gender"] == "m" and _FEMININE.match(values["signatory"]):
        bad("gender", f"f for a feminine title such as {values['signatory']!r}")
    keys = [k.strip() for k in values["source"].split(",")]
    if not values["source"] or not all(_SOURCE_KEY.fullmatch(k) for k in keys):
        bad("source", "the record's source keys, separated by ', ' (e.g. VIP-23, WTM-1213)")
    if values["post"] and not POST_KEY.fullmatch(values["post"]):
        bad("post", "a post key: lower-case letters, digits and '-', at most 64 (e.g. datar, premier-ministre)")
    if not values["signatory_name"] and NO_NAME not in values["note"]:
        bad("note", f"a note saying {NO_NAME!r} when signatory_name is empty (never an invented person)")
    if len(problems) > before or start is None:
        return None
    return Authority(
        values["kind"],
        start,
        end,
        values["decides"],
        values["signatory"],
        values["gender"],
        values["signatory_name"],
        values["delegation"],
        ", ".join(keys),
        values["assumed"],
        values["note"],
        values["post"],
    )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def _overlaps(rows: Iterable[Authority], file: str) -> list[Problem]:
    """Two rows of one decision kind in force on the same day: a letter could not tell who signs."""
    problems = []
    by_kind: dict[str, list[Authority]] = {}
    for row in rows:
        if row.kind != PROGRAMME:
            by_kind.setdefault(row.kind, []).append(row)
    for kind, listed in by_kind.items():
        listed.sort(key=lambda r: r.valid_from)
        for earlier, later in pairwise(listed):
            if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
                ends = earlier.valid_to.isoformat() if earlier.valid_to else "(open)"
                message = (
                    f"kind {kind!r}: the row from {later.valid_from.isoformat()} overlaps the row from "
                    f"{earlier.valid_from.isoformat()} to {ends}; end the earlier row the day before"
                )
                problems.append(Problem(file, None, message))
    return problems
