"""« Affaire suivie par » : the agent who took a decision, as its letters name them.

A decision taken by a person signed in (the console, the API) names that person's account: its
display name, e-mail and telephone, as they were when the decision was taken. The letters are
rendered and frozen inside the fire, so the agent is written into them then and never read again:
a telephone changed later leaves the letters already written as they were. A decision of the
daemon (a deadline), of a replay or of the command line has no account behind it: its letters
name the service's desk (``letters_agent`` in the configuration, and the issuer's service).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace

from ..message import N_, Message

# What a person types for a telephone: digits grouped by spaces, dots or hyphens, a leading + for
# an international number (« 01 44 87 17 17 », « +33 1 44 87 17 17 »).
_TELEPHONE = re.compile(r"\+?[0-9](?:[ .-]?[0-9]){5,19}")
MAX_DIGITS = 15  # E.164: at most fifteen digits, country code included


@dataclass(frozen=True, slots=True)
class Agent:
    """The person who took a decision, as its letters name them."""

    name: str
    email: str = ""
    telephone: str = ""

    def namespace(self) -> SimpleNamespace:
        """What a letter template sees of the agent (``agent.name``, ``agent.email``, ``agent.telephone``)."""
        return SimpleNamespace(name=self.name, email=self.email, telephone=self.telephone)


def telephone_problem(value: str) -> Message | None:
    """Why ``value`` cannot be a telephone number written in a letter, or None when it can."""
    digits = sum(character.isdigit() for character in value)
    if not _TELEPHONE.fullmatch(value) or digits > MAX_DIGITS:
        return N_(
            "a telephone number of 6 to 15 digits, grouped by spaces, dots or hyphens, with a leading + for an "
            "international one, such as 01 44 87 17 17 or +33 1 44 87 17 17"
        )
    return None
