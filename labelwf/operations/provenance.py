"""The basis of a data file's row: what a ``basis`` column says of where the row comes from.

The shipped outcomes files mark each row ``record``, ``inferred`` or ``synthetic``, optionally
followed by ``: detail`` (``synthetic: the record counts 48 labels without naming them``). A
``record`` row rests on what the record gives of it (its detail, beside the step's ``source:``
keys), never on the step's assumptions about other rows; an ``inferred`` row is an
assumption deduced from the record; a ``synthetic`` row stands for an entity the record counts
without naming it. Nothing else is accepted: a misspelt kind would silently pass for the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..store.basis import MAX_BASIS_SOURCE, Basis, BasisKind

BASIS_COLUMNS = ("basis",)  # the column an outcomes or entity file may give its rows' basis in
ROW_KINDS = ("record", "inferred", "synthetic")


def row_basis(record: Mapping[str, str], file: str, line: int | None) -> Basis | None:
    """The basis a row's ``basis`` cell gives (None: the row rests on its act's own basis), or
    ``ValueError`` naming the cell and the kinds allowed."""
    cell = (record.get("basis") or "").strip()
    if not cell:
        return None
    kind, _, detail = cell.partition(":")
    kind, detail = kind.strip().lower(), detail.strip()
    if kind not in ROW_KINDS:
        raise ValueError(
            f"basis {cell[:80]!r} is not one of {', '.join(ROW_KINDS)} (optionally followed by ': detail')"
        )
    where = _where(file, line)
    if kind == "synthetic":
        said = f" ({detail})" if detail else ""
        return Basis.synthetic(f"ligne fictive ({where}) : le dossier public donne un nombre, pas les noms{said}")
    if kind == "inferred":
        found = [v for v in (detail, record.get("source", ""), record.get("confidence", "")) if v and v.strip()]
        said = f" : {' ; '.join(v.strip() for v in found)}" if found else ""
        return Basis.assumed(f"déduit du dossier public ({where}){said}")
    # A record row says what the record gives of this entity: its own basis, not the act's
    # assumptions about other rows (see ``with_act_basis``).
    return Basis.record(detail[:MAX_BASIS_SOURCE]) if detail else None


def with_act_basis(row: Basis | None, act: Basis | None) -> Basis | None:
    """A row's basis within its act: the act's own where the row says nothing; a record row keeps
    its detail, with the act's source keys in front when the act names any."""
    if row is None:
        return act
    if row.kind is BasisKind.RECORD and act is not None and act.source and row.source and act.source not in row.source:
        return Basis.record(f"{act.source} : {row.source}"[:MAX_BASIS_SOURCE])
    return row


def _where(file: str, line: int | None) -> str:
    """The row's place as a letter may print it: ``ligne 54 des données « phase 5 2023 »`` (a file
    name such as ``phase_5_2023.csv`` is a technical token to a reader, so its stem is spelt with spaces)."""
    data = f"données « {Path(file).stem.replace('_', ' ').strip()} »"
    return f"ligne {line} des {data}" if line is not None else data
