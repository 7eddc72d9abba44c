"""``labelwf init --demo-certificates``: a demonstration certificate for each post of the directory without one."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from labelwf.cli import EXIT_BAD_INPUT, main
from labelwf.letters.certificates import load_signer, read_passphrase
from labelwf.letters.demo_posts import directory_posts
from labelwf.letters.directory import load_directory
from tests.conftest import ROOT
from tests.test_cli import Cli

POSTS = [*directory_posts(load_directory(ROOT / "data" / "directory.csv")), "seal"]  # the seal signs notices


def test_init_creates_a_demonstration_certificate_for_each_post_once(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "certificates"
    monkeypatch.setenv("LABELWF_SIGNATURE_CERTIFICATES", str(folder))
    monkeypatch.setenv("LABELWF_LOCALE", "fr")
    cli = Cli(database_url)
    (folder / "datar.p12").parent.mkdir(mode=0o700)
    (folder / "datar.p12").write_bytes(b"the post's own certificate")
    # When init is asked for demonstration certificates
    said = " ".join(cli("init", "--demo-certificates").stdout.split())
    # Then each post of the directory has one, but the DATAR's own is kept as it was
    assert {"diact", "datar", "premier-ministre"} <= set(POSTS)
    created = [post for post in POSTS if post != "datar"]
    assert f"créés dans {folder} pour {', '.join(created)}, valables jusqu'au" in said
    assert f"certificats conservés tels quels dans {folder} : datar" in said
    for post in created:
        p12, secret = folder / f"{post}.p12", folder / f"{post}.passphrase"
        assert stat.S_IMODE(p12.stat().st_mode) == 0o600 and stat.S_IMODE(secret.stat().st_mode) == 0o600
        signer = load_signer(p12, read_passphrase(file=secret), when=datetime.now(UTC))
        assert signer.demonstration and (folder / f"{post}.pem").is_file()
        assert signer.demonstration_unit == ("cachet du service" if post == "seal" else f"poste {post}")
    assert "sans valeur juridique" in said
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / "datar.p12").read_bytes() == b"the post's own certificate"
    # And a second run creates nothing
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = " ".join(cli("init", "--demo-certificates").stdout.split())
    assert "créés" not in again and f"conservés tels quels dans {folder} : {', '.join(POSTS)}" in again
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_init_without_a_certificates_folder_says_which_setting_to_give(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELWF_LOCALE", "fr")
    monkeypatch.delenv("LABELWF_SIGNATURE_CERTIFICATES")
    bare = tmp_path / "bare.yaml"  # a configuration that names no certificates' folder
    bare.write_text(f"workflows: {ROOT / 'workflows'}\ntemplates: {ROOT / 'templates'}\n", encoding="utf-8")
    refused = CliRunner().invoke(main, ["--config", str(bare), "--db", database_url, "init", "--demo-certificates"])
    assert refused.exit_code == EXIT_BAD_INPUT, refused.output
    assert "signature_certificates" in refused.stderr
    assert "le dossier où init --demo-certificates écrit" in refused.stderr
