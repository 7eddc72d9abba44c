"""The French words people read for the engine's own ids, in one place for the command line and the
console: the statuses of letters, plans and plan items, the kinds of plans, the roles, what is done
with a deadline passed while none ran, and the keys of the data the engine itself records (a moved
deadline, a merger, a migration). What a workflow declares (states, decisions, fields, recipients)
has its label in the workflow file; an id that has no word here is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LETTER_STATUSES: Mapping[str, str] = {
    "pending": "à envoyer",
    "sending": "envoi en cours",
    "retry": "nouvel essai prévu",
    "delivered": "envoyé",
    "failed": "échec de l'envoi",
    "uncertain": "envoi à vérifier",
    "to_sign": "à signer",
    "returned": "renvoyée par le signataire",
}
PLAN_STATUSES: Mapping[str, str] = {
    "planned": "planifié",
    "running": "en cours",
    "done": "terminé",
    "cancelled": "annulé",
}
ITEM_STATUSES: Mapping[str, str] = {
    "pending": "à exécuter",
    "done": "fait",
    "refused": "refusé",
    "changed": "modifié depuis le plan",
    "failed": "en échec",
    "cancelled": "annulé",
}
PLAN_KINDS: Mapping[str, str] = {
    "decision": "décision",
    "timer_move": "déplacement d'échéances",
    "migration": "migration",
}
ROLES: Mapping[str, str] = {
    "viewer": "lecteur",
    "operator": "agent",
    "supervisor": "superviseur",
    "admin": "administrateur",
    "stakeholder": "partie prenante",
    "signatory": "signataire",
    "system": "système",
}
FIELD_TYPES: Mapping[str, str] = {  # a workflow field's type (workflow.definition.FIELD_TYPES)
    "string": "texte",
    "integer": "nombre entier",
    "date": "date",
    "datetime": "date et heure",
}
CATCH_UP: Mapping[str, str] = {"fire": "déclenchée", "skip": "ignorée"}  # a deadline passed while none ran
TIMER_CLOSED: Mapping[str, str] = {"skipped": "ignorée", "cancelled": "annulée", "obsolete": "devenue sans objet"}
DATA_KEYS: Mapping[str, str] = {
    "timer": "échéance",
    "timer_trigger": "décision de l'échéance",
    "due_at": "date de l'échéance",
    "from": "ancienne date",
    "to": "nouvelle date",
    "letter": "courrier n°",
    "template": "modèle de courrier",
    "recipient": "destinataire",
    "successor": "successeur",
    "successor_of": "à la suite de",
    "absorbed": "pôles absorbés",
    "migration": "migration",
    "from_version": "version d'origine",
    "to_version": "nouvelle version",
    "timers": "échéances",
}
ADMIN_ACTIONS: Mapping[str, str] = {
    "account.create": "compte créé",
    "account.roles": "rôles changés",
    "account.disable": "compte désactivé",
    "account.enable": "compte réactivé",
    "account.password": "mot de passe changé",
    "account.identity": "identité OIDC liée",
    "account.contact": "coordonnées changées",
    "token.issue": "jeton d'API créé",
    "token.revoke": "jeton d'API révoqué",
    "plan.execute": "plan exécuté",
}
BASIS_KINDS: Mapping[str, str] = {"record": "dossier public", "assumed": "supposé", "synthetic": "fictif"}
DATED_KEYS = frozenset({"due_at", "from", "to"})  # engine keys whose value is an ISO instant


def said(table: Mapping[str, str], value: Any) -> str:
    """A status, kind or role in French (its value as it is when ``table`` has no word for it)."""
    text = str(getattr(value, "value", value) or "")
    return table.get(text, text)


def counts_said(counts: Mapping[str, int]) -> str:
    """A plan's items counted by status, in the order of ``ITEM_STATUSES``: ``fait : 12, refusé : 1``."""
    order = [*ITEM_STATUSES, *(s for s in counts if s not in ITEM_STATUSES)]
    return ", ".join(f"{said(ITEM_STATUSES, s)} : {counts[s]}" for s in order if counts.get(s))
