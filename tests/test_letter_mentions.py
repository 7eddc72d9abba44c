"""The mentions the law asks of a decision letter: its legal basis, its reasons in law and in fact, the
means of appeal (with Télérecours citoyens from its opening), the addressee's address or the record's
note, a contract's duration from its dates; the checker finds each one missing; and the printed letter
never leaves the copies line alone on a page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from labelwf.engine.pdf import pdf_unavailable
from labelwf.letters.letter_check import Finding
from labelwf.letters.mention_check import NO_ADDRESS, LetterKind, check_mentions, mention_kinds
from labelwf.letters.mentions import duration_fr, last_day_fr, legal_bases, online_recourse
from labelwf.letters.render import LetterRenderer
from labelwf.workflow.definition import Workflow
from labelwf.workflow.loader import load_workflow
from tests.conftest import ROOT
from tests.test_letters import POLES_CSV, context_for, read_entities

PROGRAMME_2023 = ROOT / "programme" / "workflows" / "poles-2023.yaml"
ADDRESS = "12 rue de la Paix\n84000 Avignon"


def render(
    workflow: Workflow, name: str, when: datetime, contacts: tuple[dict[str, str], ...] = (), **data: Any
) -> list[Any]:
    row = next(r for r in read_entities(POLES_CSV, workflow) if r.id == "enfant")
    renderer = LetterRenderer(workflow.templates, workflow)
    spec = workflow.letters[name]
    context = context_for(workflow, row, name, when, contacts)
    context["data"] = {**context["data"], **data}
    to = {role: workflow.recipients[role] for role in spec.to}
    return renderer.render(name, spec.template.name, spec.subject, to, list(contacts), context)


def words(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def test_a_delabelling_letter_cites_its_basis_states_its_reasons_and_the_means_of_appeal(workflow: Workflow) -> None:
    [letter, *_] = render(workflow, "delabellisation", datetime(2010, 5, 11, 8, tzinfo=UTC))
    text = words(letter.text)
    assert "Références : l’article 24 de la loi n° 2004-1484 du 30 décembre 2004 de finances pour 2005" in text
    # the rule, then the facts: never the decision as its own reason
    assert "En droit : « la désignation des pôles de compétitivité est effectuée par un comité interministériel" in text
    assert "En fait : " in text and text.index("En droit") < text.index("En fait")
    assert "Voies et délais de recours" in text and "tribunal administratif de Paris" in text
    assert "Télérecours" not in text  # not open in 2010
    assert "Décision : CIADT du 11 mai 2010" in text and "prend effet le 11 mai 2010" in text
    assert check_mentions(letter.text, LetterKind(True, True, date(2018, 11, 30)), date(2010, 5, 11)) == []
    html = words(letter.html)
    assert "Références : l’article 24" in html and "En droit : " in html and 'id="signature-field"' in html


def test_a_decision_after_the_opening_of_telerecours_citoyens_names_it() -> None:
    workflow = load_workflow(PROGRAMME_2023, ROOT / "templates")
    when = datetime(2023, 3, 27, 8, tzinfo=UTC)
    [letter, *_] = render(workflow, "refus", when, motif="Le dossier ne présente pas de feuille de route.")
    text = words(letter.text)
    assert "Télérecours citoyens" in text and "www.telerecours.fr" in text
    assert "En droit : " in text and "En fait : Le dossier ne présente pas de feuille de route." in text
    kind = mention_kinds(
        [(workflow.letters, workflow.letterhead, [(t.trigger, t.letters) for t in workflow.transitions])]
    )
    assert kind["refus"] == LetterKind(True, True, date(2018, 11, 30)) and not kind["fin_phase"].decision
    assert check_mentions(letter.text, kind["refus"], when.date()) == []
    dropped = letter.text.replace("Télérecours", "Telerecours")
    assert [f.code for f in check_mentions(dropped, kind["refus"], when.date())] == ["telerecours-absent"]


def test_the_addressee_block_gives_the_contact_s_address_or_says_the_record_has_none(workflow: Workflow) -> None:
    when = datetime(2010, 5, 11, 8, tzinfo=UTC)
    contact = {"role": "governance", "name": "Mme Anne Martin", "civility": "Madame", "address": ADDRESS}
    [addressed, *_] = render(workflow, "delabellisation", when, (contact,))
    assert "12 rue de la Paix\n84000 Avignon\n" in addressed.text and NO_ADDRESS not in addressed.text
    [bare, *_] = render(workflow, "delabellisation", when)
    assert f"({NO_ADDRESS})" in bare.text and f"({NO_ADDRESS})" in bare.html
    kind = LetterKind(True, True)
    assert check_mentions(addressed.text, kind, when.date()) == check_mentions(bare.text, kind, when.date()) == []
    silent = bare.text.replace(f"({NO_ADDRESS})\n", "")
    assert [f.code for f in check_mentions(silent, kind, when.date())] == ["adresse-absente"]


def test_the_checker_flags_a_decision_without_basis_recourse_or_reasons(workflow: Workflow) -> None:
    when = datetime(2010, 5, 11, 8, tzinfo=UTC)
    [letter, *_] = render(workflow, "delabellisation", when)
    kind = LetterKind(True, True)

    def codes(text: str) -> list[str]:
        found: list[Finding] = check_mentions(text, kind, when.date())
        assert all(f.message for f in found)
        return [f.code for f in found]

    assert codes(re.sub("Références.:", "Voir", letter.text)) == ["base-legale-absente"]
    assert codes(letter.text.replace("Voies et délais de recours", "Recours")) == ["recours-absent"]
    assert codes(re.sub("En droit.:", "Rappel", letter.text)) == ["motifs-incomplets"]
    # an information letter (no decision) needs none of them
    assert check_mentions(re.sub("Références.:", "Voir", letter.text), LetterKind(False), when.date()) == []


def test_a_contract_s_duration_comes_from_its_dates(workflow: Workflow) -> None:
    assert duration_fr("2009-01-01", "2012-01-01T00:00") == "trois ans"
    assert duration_fr("2011-01-01", "2013-01-01T00:00") == "deux ans"
    assert duration_fr("2013-01-01", "2014-07-01") == "un an et six mois"
    assert last_day_fr("2013-01-01T00:00") == "31 décembre 2012" and last_day_fr("2013-01-01") == "1er janvier 2013"
    when = datetime(2011, 2, 1, 8, tzinfo=UTC)
    [letter, *_] = render(workflow, "contrat_signe", when, contract_start="2011-01-01", contract_end="2013-01-01T00:00")
    text = words(letter.text)
    assert "jusqu’au 31 décembre 2012" in text and "visibilité de deux ans" in text and "trois ans" not in text


class Problems:
    def __init__(self) -> None:
        self.said: list[str] = []

    def problem(self, line: int | None, message: str) -> None:
        self.said.append(message)


def test_the_loader_refuses_a_legal_basis_or_an_online_recourse_it_cannot_read() -> None:
    b = Problems()
    assert legal_bases(b, [{"text": "l’article 24"}], 3, "delabellisation") == ()
    assert b.said and "needs source" in b.said[0] and "LF05-24" in b.said[0]
    b = Problems()
    assert online_recourse(b, {"since": "30/11/2018", "name": "Télérecours", "address": "x"}, 5) is None
    assert "is not a date YYYY-MM-DD" in b.said[0] and "source (the record's keys) or assumed" in b.said[0]
    b = Problems()
    found = online_recourse(b, {"since": "2018-11-30", "name": "T", "address": "x", "assumed": "supposé"}, 5)
    assert b.said == [] and found is not None and found.since == date(2018, 11, 30)
    # the shipped workflows declare both, and say where the date of Télérecours comes from
    for path in (ROOT / "workflows" / "poles-2008.yaml", PROGRAMME_2023):
        head = load_workflow(path, ROOT / "templates").letterhead
        assert head.legal_basis and head.legal_basis[0].source == "LF05-24"
        assert head.online_recourse is not None and head.online_recourse.assumed


def _pages_text(html: str) -> list[str]:
    """The text of each page of the letter's PDF layout (WeasyPrint's page boxes)."""
    from weasyprint import HTML
    from weasyprint.formatting_structure import boxes

    document = HTML(string=html).render()
    pages = []
    for page in document.pages:
        texts = [box.text for box in page._page_box.descendants() if isinstance(box, boxes.TextBox)]
        pages.append(" ".join(" ".join(texts).split()))
    return pages


@pytest.mark.skipif(pdf_unavailable() is not None, reason=str(pdf_unavailable()))
@pytest.mark.parametrize("sentences", [0, 6, 9, 12, 15, 18, 24])
def test_no_page_holds_only_the_copies_line(workflow: Workflow, sentences: int) -> None:
    # motifs of growing length move the end of the letter across the page break
    motif = " ".join(["La nouvelle évaluation a relevé l’insuffisance des projets collaboratifs du pôle."] * sentences)
    assert workflow.letters["delabellisation"].copies
    [letter, *_] = render(workflow, "delabellisation", datetime(2010, 5, 11, 8, tzinfo=UTC), motif=motif or "x.")
    pages = _pages_text(letter.html)
    [with_copies] = [page for page in pages if "Copie pour information" in page]
    assert "Je vous prie d’agréer" in with_copies.replace("\u00a0", " ")
    assert "délégué interministériel" in with_copies  # the signature block stays with its copies line
