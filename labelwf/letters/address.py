"""Forms of address of French administrative letters: how a recipient is named, called and taken leave of.

A recipient's *rank* (declared per role in the workflow) gives the function, the formule d'appel
and the formule de politesse suited to it; its *civility* (Madame or Monsieur, from the contact)
gives their gender. When no contact says which, both forms are written ("Madame la Préfète,
Monsieur le Préfet,"), as the administration does for a function whose holder it does not name.

Region names take their article and preposition from ``REGIONS`` ("d'Aquitaine", "du Centre",
"de La Réunion"; "de la région Réunion"), which a workflow may extend.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

CIVILITIES = ("Madame", "Monsieur")
_CIVILITY_ALIASES = {"madame": "Madame", "mme": "Madame", "monsieur": "Monsieur", "m.": "Monsieur", "m": "Monsieur"}

# Each region of the public record (2008-2015 regions, those of 2016, and the overseas ones): how "of the region" is
# written after a noun ("le conseil régional d'Aquitaine") and its bare name after "la région".
REGIONS: Mapping[str, tuple[str, str]] = {
    "Alsace": ("d’Alsace", "Alsace"),
    "Aquitaine": ("d’Aquitaine", "Aquitaine"),
    "Auvergne": ("d’Auvergne", "Auvergne"),
    "Basse-Normandie": ("de Basse-Normandie", "Basse-Normandie"),
    "Bourgogne": ("de Bourgogne", "Bourgogne"),
    "Bretagne": ("de Bretagne", "Bretagne"),
    "Centre": ("du Centre", "Centre"),
    "Champagne-Ardenne": ("de Champagne-Ardenne", "Champagne-Ardenne"),
    "Corse": ("de Corse", "Corse"),
    "Franche-Comté": ("de Franche-Comté", "Franche-Comté"),
    "Guadeloupe": ("de la Guadeloupe", "Guadeloupe"),
    "Guyane": ("de la Guyane", "Guyane"),
    "Haute-Normandie": ("de Haute-Normandie", "Haute-Normandie"),
    "Île-de-France": ("d’Île-de-France", "Île-de-France"),
    "La Réunion": ("de La Réunion", "Réunion"),
    "Réunion": ("de La Réunion", "Réunion"),
    "Languedoc-Roussillon": ("du Languedoc-Roussillon", "Languedoc-Roussillon"),
    "Limousin": ("du Limousin", "Limousin"),
    "Lorraine": ("de Lorraine", "Lorraine"),
    "Martinique": ("de la Martinique", "Martinique"),
    "Midi-Pyrénées": ("de Midi-Pyrénées", "Midi-Pyrénées"),
    "Nord-Pas-de-Calais": ("du Nord-Pas-de-Calais", "Nord-Pas-de-Calais"),
    "Pays de la Loire": ("des Pays de la Loire", "Pays de la Loire"),
    "Picardie": ("de Picardie", "Picardie"),
    "Poitou-Charentes": ("de Poitou-Charentes", "Poitou-Charentes"),
    "Provence-Alpes-Côte d'Azur": ("de Provence-Alpes-Côte d’Azur", "Provence-Alpes-Côte d’Azur"),
    "Provence-Alpes-Côte d’Azur": ("de Provence-Alpes-Côte d’Azur", "Provence-Alpes-Côte d’Azur"),
    "Rhône-Alpes": ("de Rhône-Alpes", "Rhône-Alpes"),
    # The regions of 2016 (``data/regions_2016.csv``).
    "Auvergne-Rhône-Alpes": ("d’Auvergne-Rhône-Alpes", "Auvergne-Rhône-Alpes"),
    "Bourgogne-Franche-Comté": ("de Bourgogne-Franche-Comté", "Bourgogne-Franche-Comté"),
    "Centre-Val de Loire": ("du Centre-Val de Loire", "Centre-Val de Loire"),
    "Grand Est": ("du Grand Est", "Grand Est"),
    "Hauts-de-France": ("des Hauts-de-France", "Hauts-de-France"),
    "Normandie": ("de Normandie", "Normandie"),
    "Nouvelle-Aquitaine": ("de Nouvelle-Aquitaine", "Nouvelle-Aquitaine"),
    "Occitanie": ("d’Occitanie", "Occitanie"),
}


@dataclass(frozen=True)
class Rank:
    """A function addressed: its title for each civility, what it is of, and the courtesy it is owed."""

    masculine: str  # "le Préfet"
    feminine: str  # "la Préfète"
    of: str  # "de la région {region}", "du conseil régional {region_de}", "du {pole}"
    courtesy: str  # "haute considération" or "considération distinguée"
    institution: str  # who is written to when the holder is not known: "Préfecture de la région {region}"


RANKS: Mapping[str, Rank] = {
    "prefet_region": Rank(
        "le Préfet", "la Préfète", "de la région {region}", "haute considération", "Préfecture de la région {region}"
    ),
    "regional_council_president": Rank(
        "le Président",
        "la Présidente",
        "du conseil régional {region_de}",
        "haute considération",
        "Conseil régional {region_de}",
    ),
    "pole_president": Rank(
        "le Président",
        "la Présidente",
        "du {pole}",
        "considération distinguée",
        "{Pole}",
    ),
}


@dataclass(frozen=True)
class Address:
    """How a letter names its recipient (``label``), calls it (``appel``) and takes leave (``politesse``)."""

    label: str
    appel: str
    politesse: str
    civility: str  # Madame, Monsieur, or "" when the contact does not say


def civility_of(value: str | None) -> str | None:
    """``Madame`` or ``Monsieur`` for a contact's civility (Mme, M. and any case accepted); "" for none;
    None when the value is not a civility."""
    text = (value or "").strip()
    if not text:
        return ""
    return _CIVILITY_ALIASES.get(text.casefold())


def region_forms(region: str, extra: Mapping[str, tuple[str, str]] | None = None) -> tuple[str, str]:
    """("d’Aquitaine", "Aquitaine") for a region's name; an unknown name is written "de X" / "X"."""
    table = {**REGIONS, **(extra or {})}
    found = table.get(region.strip())
    return found if found is not None else (f"de {region.strip()}", region.strip())


def address(
    rank: Rank, civility: str, *, entity: str, region: str | None, regions: Mapping[str, tuple[str, str]] | None = None
) -> Address:
    """The forms of address of ``rank`` for a holder of ``civility`` ("" when unknown)."""
    region_de, region_name = region_forms(region, regions) if region else ("", "")
    pole = entity if re.match(r"(?i)p[ôo]le\b", entity) else f"pôle de compétitivité {entity}"
    names = {"entity": entity, "region": region_name, "region_de": region_de, "pole": pole}
    names["Pole"] = pole[:1].upper() + pole[1:]
    of = rank.of.format(**names).strip()
    if not region and "{region" in rank.of:  # the function alone, when the record gives no region
        of = ""
    called = {
        "Madame": f"Madame {rank.feminine}",
        "Monsieur": f"Monsieur {rank.masculine}",
    }
    if civility in called:
        appel = called[civility]
        label = f"{appel} {of}".strip()
    else:
        appel = f"{called['Madame']}, {called['Monsieur']}"
        institution = rank.institution.format(**names)
        label = institution if of else rank.masculine.split(" ", 1)[1]
    politesse = f"Je vous prie d’agréer, {appel}, l’expression de ma {rank.courtesy}."
    return Address(label, appel, politesse, civility if civility in called else "")
