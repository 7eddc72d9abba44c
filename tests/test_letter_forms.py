"""What a préfecture would sign: forms of address, region names, French typography, the issuer by date,
and the mentions of an unfavourable decision — in every letter of the replayed campaign."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from labelwf import Engine, EntityRow, Workflow, load_scenario, replay, store
from labelwf.errors import InvalidData, MissingData, WorkflowError
from labelwf.letters.address import RANKS, address, region_forms
from labelwf.letters.letter_check import check_letter
from labelwf.letters.typography import NBSP, NNBSP, french, french_html
from labelwf.workflow.loader import load_workflow
from tests.conftest import ROOT

CAMPAIGN = ROOT / "scenarios" / "campaign-2008-2010.yaml"


@pytest.mark.parametrize(
    ("region", "of_region", "bare"),
    [
        ("Aquitaine", "d’Aquitaine", "Aquitaine"),
        ("Centre", "du Centre", "Centre"),
        ("La Réunion", "de La Réunion", "Réunion"),
        ("Provence-Alpes-Côte d'Azur", "de Provence-Alpes-Côte d’Azur", "Provence-Alpes-Côte d’Azur"),
        ("Pays de la Loire", "des Pays de la Loire", "Pays de la Loire"),
        ("Atlantide", "de Atlantide", "Atlantide"),  # unknown to the table: plain, and the workflow may extend it
    ],
)
def test_region_names_take_their_article_and_preposition(region: str, of_region: str, bare: str) -> None:
    assert region_forms(region) == (of_region, bare)


def test_the_forms_of_address_follow_the_rank_and_the_civility() -> None:
    prefete = address(RANKS["prefet_region"], "Madame", entity="Enfant", region="La Réunion")
    assert prefete.label == "Madame la Préfète de la région Réunion" and prefete.appel == "Madame la Préfète"
    assert prefete.politesse == "Je vous prie d’agréer, Madame la Préfète, l’expression de ma haute considération."
    council = address(RANKS["regional_council_president"], "Monsieur", entity="Enfant", region="Centre")
    assert council.label == "Monsieur le Président du conseil régional du Centre"
    pole = address(RANKS["pole_president"], "", entity="Enfant", region=None)
    assert pole.label == "Pôle de compétitivité Enfant" and pole.appel == "Madame la Présidente, Monsieur le Président"
    assert pole.politesse.endswith("l’expression de ma considération distinguée.")


def test_french_typography_quotes_and_spaces_but_leaves_addresses_and_times() -> None:
    text = 'Objet : l\'avis "favorable" ; écrire à a_b@x.fr ou https://x.fr/a?b=c avant 10:30 le 1 janvier 2010 !'
    assert french(text) == (
        f"Objet{NBSP}: l’avis «{NBSP}favorable{NBSP}»{NNBSP}; écrire à a_b@x.fr ou https://x.fr/a?b=c "
        f"avant 10:30 le 1er janvier 2010{NNBSP}!"
    )
    html = '<p class="a:b">L&#39;avis : oui</p><style>p { margin: 0; }</style>'
    assert french_html(html) == f'<p class="a:b">L’avis{NBSP}: oui</p><style>p {{ margin: 0; }}</style>'


@given(st.text(alphabet=st.sampled_from(list("ab' \":;!?«»\n")), max_size=60))
def test_typography_is_idempotent_and_leaves_no_straight_quote(text: str) -> None:
    once = french(text)
    assert french(once) == once and "'" not in once and '"' not in once


def test_every_letter_of_the_replayed_campaign_passes_the_checker(engine: Engine) -> None:
    replay(engine, load_scenario(CAMPAIGN, engine.workflow()))
    unfavourable = {n for n, d in engine.workflow().letters.items() if d.unfavourable}
    with engine.db.read() as conn:
        rows = conn.execute(sa.select(store.letter.c.template, store.letter.c.subject, store.letter.c.body)).all()
    # 198 decisions' letters and the 42 notices of the CIADT's extension of 14 contracts (3 recipients each)
    assert len(rows) == 240
    for template, subject, body in rows:
        assert check_letter(subject, body, unfavourable=template in unfavourable) == [], (template, subject)
        assert "Motif enregistré" not in body and "délabellisation de six pôles" not in body  # no audit reason
        assert "->" not in subject and "(->" not in body  # notes of the data file stay out of names


def test_a_withdrawal_states_its_reasons_effective_date_and_means_of_appeal_signed_by_the_datar(
    engine: Engine,
) -> None:
    replay(engine, load_scenario(CAMPAIGN, engine.workflow()))
    with engine.db.read() as conn:
        withdrawal = conn.execute(
            sa.select(store.letter.c.body).where(store.letter.c.template == "delabellisation")
        ).first()
        classified = conn.execute(
            sa.select(store.letter.c.body).where(store.letter.c.template == "classement_groupe_1")
        ).first()
    assert withdrawal is not None and classified is not None
    text = re.sub(r"[ \n]+", " ", withdrawal[0])  # lines joined, no-break spaces kept
    assert f"Motifs de la décision{NBSP}:" in text and "Cette décision prend effet le 11 mai 2010." in text
    assert re.search(r"recours gracieux .* recours contentieux devant le tribunal administratif de Paris", text)
    assert "dans un délai de deux mois à compter de sa notification" in text
    diact = "à l’aménagement et à la compétitivité des territoires"
    assert "attractivité régionale" in text and diact not in text  # the DATAR, in May 2010
    assert diact in classified[0]  # the DIACT, in June 2008
    assert "Pour le Premier ministre et par délégation," in withdrawal[0]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("governance: {rank: pole_president,", "governance: {rank: king,", "rank must be one of"),
        ("    - since: 2009-12-14", "    - since: 2001-12-14", "from the oldest to the latest"),
        ("    unfavourable: true", "    unfavourable: maybe", "unfavourable must be true or false"),
    ],
)
def test_a_wrong_letter_declaration_is_refused_with_its_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    source = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")
    assert old in source
    (tmp_path / "workflows").mkdir()
    broken = tmp_path / "workflows" / "poles-2008.yaml"
    broken.write_text(source.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(WorkflowError) as caught:
        load_workflow(broken, ROOT / "templates")
    assert any(message in p.message and p.line for p in caught.value.problems)


def test_a_workflow_lists_a_letter_s_attachments_and_extends_the_region_names(tmp_path: Path) -> None:
    source = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")
    source = source.replace(
        "  contrat_signe:\n",
        "  contrat_signe:\n    attachments: [le contrat de performance signé, sa feuille de route]\n",
        1,
    ).replace(
        "  recourse_court: le tribunal administratif de Paris\n",
        "  recourse_court: le tribunal administratif de Paris\n"
        "  regions:\n    Atlantide: {of: de l’Atlantide, name: Atlantide}\n",
        1,
    )
    (tmp_path / "workflows").mkdir()
    changed = tmp_path / "workflows" / "poles-2008.yaml"
    changed.write_text(source, encoding="utf-8")
    wf = load_workflow(changed, ROOT / "templates")
    from tests.test_letters import render_all

    row = EntityRow(1, "atl", "Pôle Atlantide", {"region": "Atlantide"})
    letters = {m.recipient.role: m for m in render_all(wf, row, "contrat_signe")}
    assert f"P.J.{NBSP}: le contrat de performance signé{NNBSP}; sa feuille de route" in letters["prefet"].text
    assert "Conseil régional de l’Atlantide" in letters["region"].text


def test_a_pole_named_pole_is_not_named_twice_and_the_html_address_keeps_its_lines(workflow: Workflow) -> None:
    from tests.test_letters import render_all

    row = EntityRow(1, "pole-mer-bretagne", "Pôle Mer Bretagne", {"region": "Bretagne"})
    contact = {"role": "governance", "name": "Anne Le Gall", "address": "1 quai X\n29200 Brest", "civility": "Madame"}
    letters = {m.recipient.role: m for m in render_all(workflow, row, "classement_groupe_1", (contact,))}
    assert all("Pôle Pôle" not in m.subject + m.text and "pôle Pôle" not in m.text for m in letters.values())
    governance = letters["governance"]
    assert governance.subject.startswith("Pôle Mer Bretagne\u00a0:")
    assert "Anne Le Gall<br>Madame la Présidente du Pôle Mer Bretagne<br>1 quai X<br>29200 Brest" in governance.html


def test_a_letter_s_text_field_refuses_control_and_bidi_characters(workflow: Workflow) -> None:
    for hostile in ("abc\u202edef", "R\x1b[31mED", "a\x07"):
        with pytest.raises(ValueError, match="without control characters"):
            workflow.fields["motif"].coerce(hostile)
    assert workflow.fields["motif"].coerce("Motif sur\ndeux lignes") == "Motif sur\ndeux lignes"


def test_a_decision_s_letter_is_previewed_with_the_fields_it_comes_with(engine: Engine) -> None:
    replay(engine, load_scenario(CAMPAIGN, engine.workflow()))
    with pytest.raises(MissingData, match="motif"):
        engine.preview_letter("vegepolys", "revue_insatisfaisante")
    with pytest.raises(InvalidData, match="without control characters"):
        engine.preview_letter("vegepolys", "revue_insatisfaisante", data={"motif": "x\u202e"})
    [letter, *_] = engine.preview_letter("vegepolys", "revue_insatisfaisante", data={"motif": "Axes non suivis."})
    assert "Axes non suivis." in letter.text and check_letter(letter.subject, letter.text, unfavourable=True) == []
