"""The checker's rules of the record: crafted letters break each rule once, and correct French passes."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelwf.letters.record_check import (
    FormerRegion,
    RecordContext,
    check_record,
    choice_codes,
    default_regions,
    load_regions,
)
from tests.conftest import ROOT

CHOICES = choice_codes([("Classement de l'évaluation (2012)", ["tres_performant", "performant", "moins_performant"])])
SIGNED = """Je vous prie d’agréer, Monsieur le Président, l’expression de ma considération distinguée.

Pour le Premier ministre et par délégation,
(nom non donné par le dossier public)
Le délégué interministériel à l’aménagement du territoire et à l’attractivité régionale

Copie pour information : Préfecture de la région Occitanie ; Conseil régional d’Occitanie
"""
GOOD = (
    "Objet : résultats de l’évaluation\n\nMonsieur le Président,\n\nLe pôle Agri Sud-Ouest Innovation, "
    "pôle performant et reconnu, a été classé parmi les pôles les plus actifs de la région Occitanie.\n\n"
    "Éléments de la décision :\n  - Classement : Performant\n\n" + SIGNED
)


def codes(text: str, **context: object) -> list[str]:
    ctx = RecordContext(CHOICES, default_regions(), **context)  # type: ignore[arg-type]
    return [f.code for f in check_record(text, ctx)]


def test_a_correct_french_letter_has_no_finding() -> None:
    assert codes(GOOD, day=date(2017, 3, 1), basis="record") == []


@pytest.mark.parametrize(
    ("wrong", "right", "code"),
    [
        ("  - Classement : Performant", "  - Classement : moins_performant", "valeur-brute"),
        ("  - Classement : Performant", "  - Classement : performant", "valeur-brute"),
        ("pôle performant et reconnu", "pôle performant (later Polymeris) et reconnu", "mot-anglais"),
        ("pôle performant et reconnu", "pôle performant and reconnu", "mot-anglais"),
        ("pôle performant et reconnu", "pôle au thème unknown", "mot-anglais"),
        (
            "Copie pour information : Préfecture de la région Occitanie ; Conseil régional d’Occitanie",
            "Copie pour information : Préfet ; Président",
            "code-de-role",
        ),
        ("de la région Occitanie.", "de la région Midi-Pyrénées.", "region-abolie"),
        ("(nom non donné par le dossier public)\n", "", "signataire-non-nomme"),
    ],
)
def test_each_rule_finds_its_fault_and_says_what_would_be_right(wrong: str, right: str, code: str) -> None:
    text = GOOD.replace(wrong, right)
    assert text != GOOD
    ctx = RecordContext(CHOICES, default_regions(), date(2017, 3, 1), "record")
    findings = [f for f in check_record(text, ctx) if f.code == code]
    assert findings, (code, codes(text, day=date(2017, 3, 1)))
    assert all(" : " in f.message for f in findings)  # the fault, then what would be right


def test_a_region_merged_in_2016_is_right_before_and_wrong_after() -> None:
    text = GOOD.replace("de la région Occitanie.", "du conseil régional de Midi-Pyrénées.")
    assert "region-abolie" not in codes(text, day=date(2015, 12, 31))
    assert "region-abolie" in codes(text, day=date(2016, 1, 1))


def test_a_pole_named_after_a_former_region_is_not_a_region() -> None:
    text = GOOD.replace("Agri Sud-Ouest Innovation", "Pôle Nucléaire Bourgogne").replace(
        "Occitanie.", "Alsace BioValley."
    )
    assert "region-abolie" not in codes(text.replace("région Alsace", "pôle Alsace"), day=date(2020, 1, 1))


def test_the_shipped_region_map_names_the_successor() -> None:
    regions = {r.name: r for r in load_regions(ROOT / "data" / "regions_2016.csv")}
    assert regions["Midi-Pyrénées"].until == date(2016, 1, 1) and regions["Midi-Pyrénées"].successor
    ctx = RecordContext({}, (FormerRegion("Lorraine", date(2016, 1, 1), "Grand Est"),), date(2024, 5, 1))
    found = check_record(GOOD.replace("région Occitanie", "région Lorraine"), ctx)
    assert {f.code for f in found} == {"region-abolie"} and "Grand Est" in found[0].message


def test_a_letter_resting_on_an_assumed_or_synthetic_fact_must_say_so() -> None:
    assert codes(GOOD, basis="assumed") == ["fait-suppose-non-signale"]
    assert codes(GOOD + "\nNote : cette lettre repose sur un fait supposé.\n", basis="assumed") == []
    assert codes(GOOD, basis="synthetic") == ["donnees-fictives-non-signalees"]
    assert codes("SPÉCIMEN — données fictives\n" + GOOD, basis="synthetic") == []


def test_a_signature_with_a_name_passes() -> None:
    named = GOOD.replace("(nom non donné par le dossier public)", "Jeanne Martin")
    assert codes(named) == []


@given(st.sampled_from(["et", "ancien", "devenu", "inconnu", "Thé", "anderer", "formé", "là"]))
def test_french_words_close_to_english_ones_are_not_flagged(word: str) -> None:
    assert codes(GOOD.replace("et reconnu", f"{word} reconnu")) == []
