"""The signatory's console pages: a confirmation that keeps only the letters waiting for the post and says
why the others are left out, a batch that says each letter refused with its reason, the post named by its
title, and refusals that point to « À signer » and name a letter as a person reads it."""

from __future__ import annotations

import html
import re

from labelwf import Runtime
from labelwf.engine.signature import Signatory
from labelwf.service.console_ops import signing_posts
from tests.helpers import OPERATOR
from tests.test_signature_step import console_of, signing_service  # noqa: F401 (the service's fixture)

DIACT = Signatory(account="jeanne", name="Jeanne Martin", post="diact")


def _letters(runtime: Runtime) -> list[int]:
    """The three letters of a classification, waiting for the DIACT."""
    runtime.engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    return runtime.signature_desk.waiting_ids("diact")


def test_the_confirmation_keeps_only_the_letters_waiting_for_the_post_and_says_why_the_others_are_left_out(
    signing_service: tuple[Runtime, dict[str, str]],  # noqa: F811
) -> None:
    runtime, _ = signing_service
    ids = _letters(runtime)
    client, _ = console_of(runtime, "jeanne")
    runtime.signature_desk.sign(ids[:1], DIACT)
    # A letter that does not exist, alone: nothing to confirm, and the page « À signer » named
    alone = client.get("/console/signatures/confirm?letter=999999")
    said = html.unescape(alone.text)
    assert alone.status_code == 404 and 'name="confirm"' not in alone.text
    assert "Aucune des lettres choisies n'attend la signature de votre poste : rien n'est à signer." in said
    assert "Lettre 999999 : Il n'existe aucune lettre n° 999999 ; la page « À signer » liste celles de votre" in said
    assert "labelwf letters" not in said
    # A letter already signed, or chosen by the signatory of another post: refused, saying why
    signed = client.get(f"/console/signatures/confirm?letter={ids[0]}")
    assert signed.status_code == 409 and 'name="confirm"' not in signed.text
    assert f"Lettre {ids[0]} : Impossible de signer la lettre {ids[0]} (" in html.unescape(signed.text)
    paul, _ = console_of(runtime, "paul")
    other = html.unescape(paul.get(f"/console/signatures/confirm?letter={ids[1]}").text)
    assert "elle attend la signature du poste diact ; attendu : une lettre du poste datar" in other
    assert "Signer 1 lettre(s)" not in other
    # Those three beside one that waits: only that one is confirmed, the others said left out
    mixed = html.unescape(client.get(f"/console/signatures/confirm?letter={ids[1]}&letter=999999&letter={ids[0]}").text)
    assert "Signer 1 lettre(s) du poste diact en tant que Jeanne Martin" in mixed
    assert re.findall(r'name="letter" value="(\d+)"', mixed) == [str(ids[1])]
    left_out = mixed.split('id="confirm-left-out"', 1)[1].split("</div>", 1)[0]
    assert "Lettres choisies qui ne seront pas signées" in left_out
    assert left_out.count("<li>") == 2 and "Lettre 999999 : " in left_out and f"Lettre {ids[0]} : " in left_out


def test_a_batch_says_each_letter_refused_with_its_reason_and_the_list_names_the_post_by_its_title(
    signing_service: tuple[Runtime, dict[str, str]],  # noqa: F811
) -> None:
    runtime, _ = signing_service
    ids = _letters(runtime)
    client, csrf = console_of(runtime, "jeanne")
    runtime.signature_desk.sign(ids[:1], DIACT)
    # The list is titled with the post as its signatory signs, never its key
    title = dict(signing_posts(runtime.directory))["diact"]
    listing = html.unescape(client.get("/console/signatures").text)
    assert f"<h1>Lettres à signer — {title}</h1>" in listing and "poste diact" not in listing
    # When a batch holds a letter signed already and one that does not exist, beside one that waits
    batch = {"csrf": csrf, "letter": [str(ids[1]), "999999", str(ids[0])], "confirm": "oui"}
    assert client.post("/console/signatures/sign", data=batch).status_code == 303
    # Then the list says what was signed, and each letter refused with its own reason
    after = html.unescape(client.get("/console/signatures").text)
    assert f"1 lettre(s) signée(s). 2 refusée(s) : n° 999999, {ids[0]}." in after
    refusals = after.split('<ul id="refusals">', 1)[1].split("</ul>", 1)[0]
    assert "<li>Lettre 999999 : Il n'existe aucune lettre n° 999999 ; la page « À signer »" in refusals
    assert f"<li>Lettre {ids[0]} : Impossible de signer la lettre {ids[0]} (" in refusals
    assert "déjà signée" in refusals and "labelwf letters" not in after
    assert 'id="refusals"' not in client.get("/console/signatures").text  # said once
    # And a letter sent back without a reason is named as a person reads it, not by an id of the code
    back = client.post(f"/console/signatures/{ids[2]}/return", data={"csrf": csrf, "reason": " "})
    assert back.status_code == 303
    review = html.unescape(client.get(back.headers["location"]).text)
    assert f"l'historique du dossier de la lettre n° {ids[2]}." in review and "letter " not in review
    # And a review of a letter that does not exist points to this page, not to a command
    client.get("/console/signatures/999999")
    missing = html.unescape(client.get("/console/signatures").text)
    assert "Lettre 999999 : Il n'existe aucune lettre n° 999999 ; la page « À signer »" in missing
