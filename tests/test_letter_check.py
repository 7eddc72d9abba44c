"""The letter checker: each check on small letters, then `labelwf letters check` over a database's outbox."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from labelwf import Engine, load_workflow
from labelwf.cli import letters as letters_cli
from labelwf.cli import main
from labelwf.letters.letter_check import EXCERPT, Finding, check_letter
from tests.conftest import CONFIG_FILE, WORKFLOW_FILE

NB, NN = "\u00a0", "\u202f"  # no-break space, narrow no-break space
SUBJECT = f"Pôle Enfant{NB}: renouvellement du label"
BODY = f"""RÉPUBLIQUE FRANÇAISE
Préfecture de la région Pays de la Loire

Affaire suivie par{NB}: Mme Claire Martin
Courriel{NB}: claire_martin@pays-de-la-loire.gouv.fr
Dossier en ligne{NB}: https://www.poles.gouv.fr/dossier_2010?id=3&page_size=10:a;b

Nantes, le 1er juillet 2010

Objet{NB}: Renouvellement du label «{NB}pôle de compétitivité{NB}»

Madame la Présidente, Monsieur le Président,

Le comité se réunira le 15 mars 2010 à 10:30{NN}; votre présence est attendue{NN}!
Pourrez-vous confirmer{NN}?!
"""
COURTESY = """
Je vous prie d’agréer, Madame la Présidente, Monsieur le Président, l’expression de ma
considération distinguée.

Le préfet de région,
Jean Dupont
"""
DECISION = f"""
Motifs{NB}: l’évaluation de 2010 n’a pas confirmé les résultats attendus.
La présente décision prend effet le 1er septembre 2010.
RECOURS
"""
RECOURSE = (
    "Elle peut faire l’objet d’un recours gracieux auprès de mes services, ou d’un recours\n"
    "contentieux devant le tribunal administratif de Nantes, dans un délai de deux mois."
)
CLEAN = BODY + COURTESY
UNFAVOURABLE = BODY + DECISION.replace("RECOURS", RECOURSE) + COURTESY


def codes(subject: str, text: str, *, unfavourable: bool = False) -> list[str]:
    return [f.code for f in check_letter(subject, text, unfavourable=unfavourable)]


def with_sentence(sentence: str) -> str:
    """The clean letter with one more sentence in its body."""
    return CLEAN.replace("Pourrez-vous", f"{sentence}\nPourrez-vous")


def test_a_clean_letter_has_no_finding() -> None:
    assert check_letter(SUBJECT, CLEAN) == []
    assert check_letter(SUBJECT, UNFAVOURABLE, unfavourable=True) == []


def test_a_finding_is_a_code_a_message_and_an_excerpt() -> None:
    [finding] = check_letter(SUBJECT, with_sentence("Le dossier review_18_months est complet."))
    assert finding.code == "technical-token"
    assert finding.message == "a snake_case identifier 'review_18_months': a reader cannot make sense of it"
    assert finding.excerpt == "…ttendue\u202f!⏎Le dossier review_18_months est complet.⏎Pourrez…"


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        ("review_18_months", "review_18_months"),
        ("2010-06-30", "2010-06-30"),
        ("2010-06-30T22:00:00+00:00", "2010-06-30T22:00:00+00:00"),
        ("2010-06-30T22:00", "2010-06-30T22:00"),
        ("timer", "timer"),
        ("trigger", "trigger"),
        ("None", "None"),
        ("null", "null"),
        ("True", "True"),
        ("False", "False"),
        ("undefined", "undefined"),
        ("{{ entity.name }}", "{{"),
        ("{% if group %}", "{%"),
    ],
)
def test_technical_tokens_are_flagged(token: str, shown: str) -> None:
    findings = check_letter(SUBJECT, with_sentence(f"Motif enregistré{NB}: {token} du dossier."))
    assert {f.code for f in findings} == {"technical-token"}
    assert any(shown in f.message and shown in f.excerpt for f in findings)


def test_technical_words_only_as_whole_words_and_tokens_in_the_subject_too() -> None:
    assert codes(SUBJECT, with_sentence("Les timers et les triggers ne sont pas des mots, Nonobstant.")) == []
    assert codes(SUBJECT, with_sentence("Le label de 2008-2011 est maintenu.")) == []
    [finding] = check_letter(f"Pôle Enfant{NB}: classement_groupe_1", CLEAN)
    assert finding.code == "technical-token" and "in the subject" in finding.message


def test_e_mails_and_urls_with_underscores_colons_or_question_marks_are_not_flagged() -> None:
    sentence = "Écrire à jean_dupont@region.fr ou voir https://x.fr/a_b?c=d:e;f=g_h!i, ou mailto:a_b@c.fr."
    assert codes(SUBJECT, with_sentence(sentence)) == []


def test_straight_quotes_are_flagged_one_per_occurrence() -> None:
    findings = check_letter('Pôle Enfant : "label"', with_sentence("Suites de l'évaluation."))
    quotes = [f for f in findings if f.code == "straight-quote"]
    assert len(quotes) == 3
    assert "in the subject" in quotes[0].message and "double quote" in quotes[0].message
    assert "apostrophe" in quotes[2].message and "l'évaluation" in quotes[2].excerpt


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Délai : un mois.", ["a plain space before ':'"]),
        ("Délai: un mois.", ["no space before ':'"]),
        ("Est-ce complet ?", ["a plain space before '?'"]),
        ("Est-ce complet?", ["no space before '?'"]),
        ("Attention !", ["a plain space before '!'"]),
        ("Un point ; un autre.", ["a plain space before ';'"]),
        ("Le label « pôle ».", ["a plain space after '«'", "a plain space before '»'"]),
        ("Le label «pôle».", ["no space after '«'", "no space before '»'"]),
        (f"Le label «{NN}pôle{NN}»{NN}: à {NB}10:30 et 8:05{NN}?!", []),
    ],
)
def test_french_spaces_before_and_after_punctuation(sentence: str, expected: list[str]) -> None:
    findings = check_letter(SUBJECT, with_sentence(sentence))
    assert [f.message.split(": French typography")[0] for f in findings] == expected
    assert all(f.code == "missing-space" for f in findings)


def test_the_first_of_the_month_is_written_1er() -> None:
    findings = check_letter(SUBJECT, with_sentence("Entrée en vigueur le 1 janvier 2009, revue le 1 Mai."))
    assert [f.code for f in findings] == ["ordinal", "ordinal"]
    assert "'1 janvier'" in findings[0].message
    assert codes(SUBJECT, with_sentence("Le 11 janvier, le 21 mai, le 1er août et le 2010 1 a.")) == []


@pytest.mark.parametrize(
    ("old", "new", "mention"),
    [
        ("Affaire suivie par", "Dossier suivi par", "Affaire suivie par"),
        ("Objet", "Sujet", "Objet"),
        ("Madame la Présidente, Monsieur le Président,\n", "Madame la Présidente\n", "formule d'appel"),
        ("Je vous prie d’agréer", "Je vous adresse", "formule de politesse"),
        ("\nLe préfet de région,\nJean Dupont\n", "\n", "signature"),
    ],
)
def test_each_missing_mention_is_its_own_finding(old: str, new: str, mention: str) -> None:
    findings = check_letter(SUBJECT, CLEAN.replace(old, new))
    assert [f.code for f in findings] == ["missing-mention"]
    assert mention in findings[0].message and findings[0].excerpt == ""


def test_veuillez_agreer_is_a_formule_de_politesse_and_a_straight_one_is_not() -> None:
    assert codes(SUBJECT, CLEAN.replace("Je vous prie d’agréer", "Veuillez agréer")) == []
    findings = check_letter(SUBJECT, CLEAN.replace("d’agréer", "d'agréer"))
    assert [f.code for f in findings] == ["straight-quote", "missing-mention"]
    assert "straight apostrophe" in findings[1].message


def test_an_unfavourable_letter_without_the_means_of_appeal_has_three_findings() -> None:
    findings = check_letter(SUBJECT, BODY + DECISION.replace("RECOURS", "") + COURTESY, unfavourable=True)
    assert [f.code for f in findings] == ["missing-mention"] * 3
    assert ["recours gracieux" in findings[0].message, "tribunal administratif" in findings[1].message] == [True] * 2
    assert "deux mois" in findings[2].message
    assert codes(SUBJECT, BODY + DECISION.replace("RECOURS", "") + COURTESY) == []  # a favourable one needs none


def test_an_unfavourable_letter_needs_its_reasons_and_effective_date() -> None:
    findings = check_letter(SUBJECT, CLEAN, unfavourable=True)
    messages = [f.message for f in findings]
    assert len(messages) == 5 and "'Motifs'" in messages[0] and "prend effet le" in messages[1]
    future = UNFAVOURABLE.replace("prend effet", "prendra effet").replace("Motifs", "Les motifs")
    assert codes(SUBJECT, future, unfavourable=True) == []


@pytest.mark.parametrize(
    ("old", "new", "extra"),
    [
        ("Mme Claire Martin", "M./Mme Claire Martin", []),
        ("Madame la Présidente, Monsieur le Président,", "Madame/Monsieur le Président,", []),
        ("Madame la Présidente, Monsieur le Président,", "Monsieur/Madame,", []),
        ("Mme Claire Martin", "[civilité] Claire Martin", []),
        ("Madame la Présidente, Monsieur le Président,", "Monsieur None,", ["technical-token"]),
        ("Madame la Présidente, Monsieur le Président,", ",", ["missing-mention"]),
    ],
)
def test_unresolved_forms_of_address(old: str, new: str, extra: list[str]) -> None:
    found = codes(SUBJECT, CLEAN.replace(old, new, 1))
    assert sorted(found) == sorted(["unresolved-civility", *extra])


def test_findings_come_in_the_order_of_the_text_subject_first() -> None:
    text = CLEAN.replace("Nantes, le 1er", "Nantes, le 1").replace("Mme Claire", "M./Mme Claire")
    text = text.replace("Pourrez-vous", "Voir review_ref. Pourrez-vous").replace("Objet", "Sujet")
    found = codes(f"Pôle : {SUBJECT}", text)
    assert found == ["missing-space", "unresolved-civility", "ordinal", "technical-token", "missing-mention"]


snake_case = st.from_regex(re.compile(r"[a-z0-9]{1,8}(?:_[a-z0-9]{1,8}){1,3}"), fullmatch=True)


@given(token=snake_case, where=st.sampled_from(["Le comité", "Affaire suivie par\u00a0:", "Objet", "Jean Dupont"]))
def test_any_snake_case_token_in_a_clean_letter_is_a_technical_token(token: str, where: str) -> None:
    findings = check_letter(SUBJECT, CLEAN.replace(where, f"{where} {token}", 1))
    assert {f.code for f in findings} == {"technical-token"}
    assert any(f"'{token}'" in f.message for f in findings)


@given(st.text(alphabet="ab1_ \n\u00a0-éX.'", max_size=120))
def test_the_snake_case_tokens_found_are_those_of_the_rule(text: str) -> None:
    found = [f.message.split("'")[1] for f in check_letter("", text) if f.message.startswith("a snake_case")]
    assert found == re.findall(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", text)


@given(st.text(max_size=400), st.text(max_size=80), st.booleans())
def test_any_text_is_checked_with_short_one_line_excerpts(text: str, subject: str, unfavourable: bool) -> None:
    for finding in check_letter(subject, text, unfavourable=unfavourable):
        assert re.fullmatch(r"[a-z]+(?:-[a-z]+)*", finding.code)
        assert len(finding.excerpt) <= EXCERPT and "\n" not in finding.excerpt


def letters_check(runner: CliRunner, base: list[str], *args: str) -> tuple[int, int, Result]:
    """Run `letters check`: its counts (checked, with findings) from the summary line, and the result."""
    result = runner.invoke(main, [*base, "letters", "check", *args])
    summary = re.fullmatch(r"(\d+) letter\(s\) checked, (\d+) with findings", result.stdout.splitlines()[-1])
    assert summary is not None, result.output
    return int(summary[1]), int(summary[2]), result


POLES = """id,name,region
enfant,Enfant,Pays de la Loire
aerospace-valley,Aerospace Valley,Midi-Pyrénées; Aquitaine
geodata,geo_data,Bretagne
"""  # the last one's name is a snake_case token: its letters have a finding whatever the templates


@pytest.fixture
def outbox(tmp_path: Path) -> tuple[CliRunner, list[str]]:
    """A database whose outbox holds the letters of three classifications."""
    runner = CliRunner()
    base = ["--config", str(CONFIG_FILE), "--db", f"sqlite:///{tmp_path / 'labelwf.db'}"]
    (tmp_path / "poles.csv").write_text(POLES, encoding="utf-8")
    for args in (["init"], ["import", str(tmp_path / "poles.csv"), "--at", "2008-06-18"]):
        result = runner.invoke(main, [*base, *args])
        assert result.exit_code == 0, result.output
    for entity, group in (("enfant", 3), ("aerospace-valley", 1), ("geodata", 2)):
        fired = runner.invoke(
            main,
            [*base, "fire", entity, "classify", "--set", f"group={group}", "--actor", "DGCIS", "--reason", "CIADT"],
        )
        assert fired.exit_code == 0, fired.output
    return runner, base


def test_letters_check_reports_counts_and_exits_1_when_a_letter_has_findings(
    outbox: tuple[CliRunner, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, base = outbox
    monkeypatch.setattr(letters_cli, "CHECK_PAGE", 2)  # several pages
    stored = json.loads(runner.invoke(main, [*base, "letters", "--json"]).stdout)["items"]
    checked, flagged, shown = letters_check(runner, base)
    assert checked == len(stored) > 0 and flagged > 0 and shown.exit_code == (1 if flagged else 0)
    assert "technical-token: a snake_case identifier 'geo_data'" in shown.stdout
    assert shown.stderr == ""  # no progress bar when stderr is not a terminal

    as_json = runner.invoke(main, [*base, "letters", "check", "--json"])
    report = json.loads(as_json.stdout)
    assert report["checked"] == checked and len(report["letters"]) == flagged
    assert as_json.exit_code == shown.exit_code
    for letter in report["letters"]:
        assert set(letter) == {"id", "entity", "template", "recipient", "findings"} and letter["findings"]
        assert all(set(f) == {"code", "message", "excerpt"} for f in letter["findings"])
        assert (
            f"letter {letter['id']}: {letter['entity']}, {letter['template']} to {letter['recipient']}" in shown.stdout
        )
        for finding in letter["findings"]:
            assert f"  {finding['code']}: {finding['message']}" in shown.stdout

    one, _, _ = letters_check(runner, base, "--pole", "enfant")
    assert one == len([m for m in stored if m["entity"] == "enfant"]) and 0 < one < checked
    assert "labelwf letters check --pole enfant --json" in runner.invoke(main, ["letters", "check", "--help"]).stdout


def test_letters_check_holds_a_letter_unfavourable_when_any_workflow_says_so(
    outbox: tuple[CliRunner, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, base = outbox
    loaded = load_workflow(WORKFLOW_FILE)
    stricter = replace(
        loaded,
        version=loaded.version + 1,
        letters={name: replace(d, unfavourable=name == "classement_groupe_3") for name, d in loaded.letters.items()},
    )
    monkeypatch.setattr(Engine, "workflows", property(lambda self: (loaded, stricter)))
    flags: list[bool] = []

    def recording(subject: str, text: str, *, unfavourable: bool = False) -> list[Finding]:
        flags.append(unfavourable)
        return []

    monkeypatch.setattr(letters_cli, "check_letter", recording)
    # (the checks against the record read the letters' dates, regions and signatures: not this test's subject)
    monkeypatch.setattr(letters_cli, "check_record", lambda text, context: [])
    monkeypatch.setattr(letters_cli, "check_mentions", lambda text, kind, day: [])
    checked, flagged, shown = letters_check(runner, base)
    assert (checked, flagged, shown.exit_code) == (len(flags), 0, 0)
    expected = {name for name, d in loaded.letters.items() if d.unfavourable} | {"classement_groupe_3"}
    stored = json.loads(runner.invoke(main, [*base, "letters", "--json"]).stdout)["items"]  # the same order
    assert flags == [m["template"] in expected for m in stored] and any(flags) and not all(flags)
