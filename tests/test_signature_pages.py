"""What the signatory reads before signing (the post's certificate: a demonstration one, or one that cannot
be opened yet), and the signature step's refusals over the API in the request's language."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labelwf import Runtime
from labelwf.errors import CertificateError
from labelwf.i18n import say
from labelwf.letters.demonstration import MENTION
from labelwf.letters.post_certificates import PostCertificates
from labelwf.service import create_app
from tests.helpers import OPERATOR
from tests.test_signature_step import console_of, signing_service  # noqa: F401 (the service's fixture)

FR, EN = {"Accept-Language": "fr-FR,fr;q=0.9"}, {"Accept-Language": "en"}


def _letters(runtime: Runtime) -> list[int]:
    """The three letters of a classification, waiting for the DIACT."""
    runtime.engine.fire("enfant", "classify", data={"group": 1}, **OPERATOR)
    return runtime.signature_desk.waiting_ids("diact")


def test_the_review_and_the_confirmation_say_what_the_posts_certificate_will_make_of_the_letters(
    signing_service: tuple[Runtime, dict[str, str]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime, _ = signing_service
    ids = _letters(runtime)
    client, _ = console_of(runtime, "jeanne")
    # Given the DIACT's passphrase out of reach: the post cannot sign yet
    monkeypatch.delenv("LABELWF_SIGNATURE_PASSPHRASE_DIACT", raising=False)
    secret = Path(str(runtime.settings.signature_certificates)) / "diact.passphrase"
    kept = secret.rename(secret.with_suffix(".kept"))
    # Then the review says why, in French, and offers no signature; the confirmation refuses the batch
    review = html.unescape(client.get(f"/console/signatures/{ids[0]}").text)
    assert (
        "Le poste diact ne peut pas encore signer. Mot de passe du certificat du poste diact : ni fichier "
        f"{secret} à côté du certificat, ni variable d'environnement LABELWF_SIGNATURE_PASSPHRASE_DIACT" in review
    )
    assert "Signer cette lettre" not in review and "Renvoyer" in review
    confirm = client.get("/console/signatures/confirm?all=oui")
    assert confirm.status_code == 503 and "Le poste diact ne peut pas encore signer" in html.unescape(confirm.text)
    assert 'name="confirm"' not in confirm.text
    # When the passphrase is back: the post signs with a demonstration certificate
    kept.rename(secret)
    review = html.unescape(client.get(f"/console/signatures/{ids[0]}").text)
    # Then the review says so, with the mention the letter will carry, beside « Signer cette lettre »
    notice = re.search(
        r'<div class="fr-alert fr-alert--warning fr-alert--sm" role="note" id="certificate-notice"><p>([^<]+)', review
    )
    assert notice is not None and "Signer cette lettre" in review
    assert notice[1].startswith("Cette lettre sera signée avec un certificat de démonstration, qui n'a aucune valeur")
    assert f"« {MENTION} »" in notice[1]
    # And so does the batch's confirmation, for each of its letters
    confirm = html.unescape(client.get("/console/signatures/confirm?all=oui").text)
    assert (
        'id="confirm-notice"' in confirm
        and "Ces 3 lettres seront signées avec un certificat de démonstration" in confirm
    )
    assert f"chacune portera la mention « {MENTION} »" in confirm and 'name="confirm" value="oui"' in confirm


def test_a_post_whose_certificate_is_not_a_demonstration_one_gets_no_notice(
    signing_service: tuple[Runtime, dict[str, str]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime, _ = signing_service
    ids = _letters(runtime)
    client, _ = console_of(runtime, "jeanne")
    signer = runtime.signature_desk.signer("diact")
    monkeypatch.setattr(type(signer), "demonstration", property(lambda _: False))
    review = html.unescape(client.get(f"/console/signatures/{ids[0]}").text)
    assert "certificate-notice" not in review and "Signer cette lettre" in review
    assert "confirm-notice" not in client.get(f"/console/signatures/confirm?letter={ids[0]}").text


def test_the_signature_apis_refusals_follow_accept_language(
    signing_service: tuple[Runtime, dict[str, str]],  # noqa: F811
) -> None:
    runtime, tokens = signing_service
    ids = _letters(runtime)
    api = TestClient(create_app(runtime))

    def as_(name: str, language: dict[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"} | language

    # An account that is no signatory
    fr = api.get("/api/v1/signatures", headers=as_("marie", FR)).json()
    en = api.get("/api/v1/signatures", headers=as_("marie", EN)).json()
    assert fr["status"] == en["status"] == 403
    assert fr["detail"] == "il faut un compte signataire lié à un poste ; le compte « marie » a pour rôles : agent"
    assert en["detail"] == "this needs a signatory account bound to a post; account 'marie' holds: operator"
    # A letter of another post, signed or sent back
    fr = api.post("/api/v1/signatures", json={"letters": ids[:1]}, headers=as_("paul", FR)).json()
    en = api.post("/api/v1/signatures", json={"letters": ids[:1]}, headers=as_("paul", EN)).json()
    assert fr["refused"][0]["reason"].startswith(f"impossible de signer la lettre {ids[0]} (")
    assert "elle attend la signature du poste diact ; attendu : une lettre du poste datar" in fr["refused"][0]["reason"]
    assert en["refused"][0]["reason"].startswith(f"cannot sign letter {ids[0]} (")
    assert (
        "it waits for the signature of the post diact; expected a letter of the post datar"
        in en["refused"][0]["reason"]
    )
    fr = api.post(f"/api/v1/letters/{ids[0]}/return", json={"reason": "non"}, headers=as_("paul", FR)).json()
    en = api.post(f"/api/v1/letters/{ids[0]}/return", json={"reason": "non"}, headers=as_("paul", EN)).json()
    assert fr["status"] == en["status"] == 409 and fr["action"] == en["action"] == "return"
    assert fr["detail"].startswith(f"impossible de renvoyer la lettre {ids[0]} (")
    assert en["detail"].startswith(f"cannot send back letter {ids[0]} (")
    # A letter sent back, then asked again; a letter that does not exist
    api.post(f"/api/v1/letters/{ids[1]}/return", json={"reason": "erreur"}, headers=as_("jeanne", FR))
    fr = api.post(f"/api/v1/letters/{ids[1]}/return", json={"reason": "encore"}, headers=as_("jeanne", FR)).json()
    en = api.post(f"/api/v1/letters/{ids[1]}/return", json={"reason": "encore"}, headers=as_("jeanne", EN)).json()
    assert fr["detail"].endswith(": elle a été renvoyée par son signataire ; attendu : une lettre à signer")
    assert en["detail"].endswith(": it was sent back by its signatory; expected a letter waiting for a signature")
    fr = api.post("/api/v1/letters/999999/return", json={"reason": "r"}, headers=as_("jeanne", FR)).json()
    en = api.post("/api/v1/letters/999999/return", json={"reason": "r"}, headers=as_("jeanne", EN)).json()
    assert fr["detail"] == "rien ne correspond à « 999999 » ; « labelwf letters to-sign » les liste"
    assert en["detail"] == "no letter 999999; `labelwf letters to-sign` lists them"


def test_a_post_without_a_folder_of_certificates_is_refused_in_either_language() -> None:
    with pytest.raises(CertificateError) as refused:
        PostCertificates(None).signer("datar", when=datetime(2026, 12, 7, tzinfo=UTC))
    assert say(refused.value, "fr") == (
        "certificat du poste datar : aucun dossier de certificats n'est configuré ; attendu : "
        "signature_certificates : le dossier qui contient <poste>.p12 et son mot de passe"
    )
    assert str(refused.value) == (
        "certificate of the post datar: no folder of certificates is configured; expected: "
        "signature_certificates: the folder holding <post>.p12 and its passphrase"
    )
