"""Words the console's layout says for the engine's ids that no workflow file labels: the roles of
accounts (and the letters' statuses, from ``console_reading``), so a person reads « opérateur »
where the engine says operator."""

from __future__ import annotations

from collections.abc import Mapping

ROLE_LABELS: Mapping[str, str] = {
    "admin": "administrateur",
    "supervisor": "superviseur",
    "operator": "opérateur",
    "viewer": "lecteur",
    "stakeholder": "partie prenante",
}
