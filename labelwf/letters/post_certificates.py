"""The posts' signing certificates, from one folder of the configuration (``signature_certificates``).

A post ``datar`` signs with ``<folder>/datar.p12``; its passphrase is the first line of
``<folder>/datar.passphrase`` when that file exists, else the environment variable
``LABELWF_SIGNATURE_PASSPHRASE_DATAR`` (the post's key in capitals, '-' as '_'). The service's seal,
which signs the notices (``signature: seal``) at delivery, is the post ``seal``.

A certificate is opened when first used and kept while its files stay as they were: each use
looks at the ``.p12`` and its ``.passphrase`` (one ``stat`` each: device, inode, size, times) and
opens them again when either changed, so a certificate replaced or removed under a running
server is the one it signs with, or refused. It is checked valid at each use; its key never
leaves memory. A demonstration certificate that names a post (``init --demo-certificates`` makes
them so: ``demonstration_unit``) signs for that post only: copied to another post's file, it is
refused. One that names none, made before they did, and a real certificate sign as they are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import CertificateError
from ..message import N_
from .certificates import P12_EXPECTED, Signer, load_signer, read_passphrase

SEAL = "seal"  # the service's seal: signs the notices, without a person
PASSPHRASE_ENV = "LABELWF_SIGNATURE_PASSPHRASE_"


def passphrase_variable(post: str) -> str:
    """The environment variable that may hold ``post``'s passphrase."""
    return PASSPHRASE_ENV + post.upper().replace("-", "_")


def demonstration_unit_of(post: str) -> str:
    """What a demonstration certificate made for ``post`` names (its organisational unit)."""
    return "cachet du service" if post == SEAL else f"poste {post}"


Stamp = tuple[int, int, int, int, int]  # a file's device, inode, size, modification and change times (ns)


def _stamp(path: Path) -> Stamp | None:
    """What tells ``path``'s content changed, without reading it; None when there is no such file."""
    try:
        seen = os.stat(path)
    except FileNotFoundError:
        return None
    return (seen.st_dev, seen.st_ino, seen.st_size, seen.st_mtime_ns, seen.st_ctime_ns)


@dataclass(frozen=True)
class _Opened:
    """A post's signer and the stamps of the files it was opened from (its ``.p12``, its ``.passphrase``)."""

    signer: Signer
    stamps: tuple[Stamp, Stamp | None]


class PostCertificates:
    """The certificates of the posts, read from ``folder`` (None: no certificate is configured)."""

    def __init__(self, folder: Path | None, *, environ: Mapping[str, str] | None = None) -> None:
        self.folder, self._environ = folder, environ
        self._opened: dict[str, _Opened] = {}

    def path(self, post: str) -> Path | None:
        """Where ``post``'s certificate is looked for, or None without a folder."""
        return None if self.folder is None else self.folder / f"{post}.p12"

    def has(self, post: str) -> bool:
        """Whether a certificate file exists for ``post``."""
        path = self.path(post)
        return path is not None and path.is_file()

    def signer(self, post: str, *, when: datetime) -> Signer:
        """``post``'s signer, valid at ``when``, opened again when its files changed since; ``CertificateError``
        naming the file or variable that is missing, or the post a demonstration certificate was made for."""
        path = self.path(post)
        if path is None:
            raise CertificateError(
                N_("certificate of the post %(post)s", post=post),
                N_("no folder of certificates is configured"),
                N_("signature_certificates: the folder holding <post>.p12 and its passphrase"),
            )
        secret = path.with_suffix(".passphrase")
        certificate, passphrase = _stamp(path), _stamp(secret)
        found = self._opened.get(post)
        if found is not None and found.stamps == (certificate, passphrase):
            found.signer.check_valid(when)
            return found.signer
        self._opened.pop(post, None)  # changed or removed: the key it held leaves with it
        if certificate is None:
            raise CertificateError(f"certificat {path}", "fichier introuvable", P12_EXPECTED)
        signer = load_signer(path, self._passphrase(post, secret, passphrase is not None), when=when)
        _check_made_for(post, signer)
        self._opened[post] = _Opened(signer, (certificate, passphrase))
        return signer

    def _passphrase(self, post: str, secret: Path, in_file: bool) -> bytes:
        """``post``'s passphrase: the first line of ``secret`` when it is there, else its variable."""
        if in_file:
            return read_passphrase(file=secret)
        variable = passphrase_variable(post)
        if not (os.environ if self._environ is None else self._environ).get(variable):
            raise CertificateError(
                f"mot de passe du certificat du poste {post}",
                f"ni fichier {secret} à côté du certificat, ni variable d'environnement {variable} (absente ou vide)",
                f"le mot de passe sur la première ligne de {secret} (lisible par vous seul) ou dans {variable}",
            )
        return read_passphrase(env=variable, environ=self._environ)

    def seal(self, *, when: datetime) -> Signer | None:
        """The service's seal, when its certificate is configured; else None (notices go out unsigned)."""
        return self.signer(SEAL, when=when) if self.has(SEAL) else None


def _check_made_for(post: str, signer: Signer) -> None:
    """``CertificateError`` when ``signer`` is a demonstration certificate made for another post than ``post``."""
    made_for, expected = signer.demonstration_unit, demonstration_unit_of(post)
    if made_for is not None and made_for != expected:
        raise CertificateError(
            f"certificat {signer.path}",
            f"certificat de démonstration fait pour le « {made_for} », ouvert pour le « {expected} »",
            f"le certificat du « {expected} » : retirez {signer.path.name} et {signer.path.with_suffix('.pem').name},"
            " labelwf init --demo-certificates en crée alors un pour lui",
        )
