"""A contact given by an operator (``role=president,name=Jeanne Martin``) and the contacts of the
new version it makes: the contact of that role replaced, the others kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CONTACT_KEYS = ("role", "name", "address", "email", "civility")


def parse_contact(text: str) -> dict[str, str]:
    """``role=…,name=…[,email=…]`` as a contact; ``ValueError`` (in French) saying what is wrong."""
    contact: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(
                f"« {text} » : attendu clé=valeur séparées par des virgules, "
                "par exemple role=president,name=Jeanne Martin"
            )
        if key not in CONTACT_KEYS:
            raise ValueError(f"« {key} » n'est pas une clé de contact : les clés sont {', '.join(CONTACT_KEYS)}")
        if key in contact:
            raise ValueError(f"« {key} » est donné deux fois dans « {text} » : donnez chaque clé une fois")
        contact[key] = value.strip()
    return contact


def contact_changes(
    current: Sequence[Mapping[str, Any]], given: Sequence[str | Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """``current`` contacts with each ``given`` one replacing the contact of its role (or added)."""
    contacts = [dict(c) for c in current]
    for item in given:
        contact = parse_contact(item) if isinstance(item, str) else {str(k): v for k, v in item.items()}
        role = str(contact.get("role") or "").strip()
        if not role:
            raise ValueError(f"le contact {contact!r} n'a pas de rôle : donnez role=… (par exemple role=president)")
        if not str(contact.get("name") or "").strip():
            raise ValueError(f"le contact de rôle « {role} » n'a pas de nom : donnez name=…")
        contacts = [c for c in contacts if c.get("role") != role] + [contact]
    return contacts
