"""Words the console's layout says for the engine's ids that no workflow file labels: the roles of
accounts (and the letters' statuses, from ``console_reading``), so a person reads « agent » where the
engine says operator. They are ``engine.wording``'s, which the command line says too."""

from __future__ import annotations

from collections.abc import Mapping

from ..engine.wording import ROLES

ROLE_LABELS: Mapping[str, str] = ROLES
