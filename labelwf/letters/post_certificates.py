"""The posts' signing certificates, from one folder of the configuration (``signature_certificates``).

A post ``datar`` signs with ``<folder>/datar.p12``; its passphrase is the first line of
``<folder>/datar.passphrase`` when that file exists, else the environment variable
``LABELWF_SIGNATURE_PASSPHRASE_DATAR`` (the post's key in capitals, '-' as '_'). The service's seal,
which signs the notices (``signature: seal``) at delivery, is the post ``seal``. A certificate is
opened once per process and checked valid at each use; its key never leaves memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from ..errors import CertificateError
from ..message import N_
from .certificates import Signer, load_signer, read_passphrase

SEAL = "seal"  # the service's seal: signs the notices, without a person
PASSPHRASE_ENV = "LABELWF_SIGNATURE_PASSPHRASE_"


def passphrase_variable(post: str) -> str:
    """The environment variable that may hold ``post``'s passphrase."""
    return PASSPHRASE_ENV + post.upper().replace("-", "_")


class PostCertificates:
    """The certificates of the posts, read from ``folder`` (None: no certificate is configured)."""

    def __init__(self, folder: Path | None, *, environ: Mapping[str, str] | None = None) -> None:
        self.folder, self._environ = folder, environ
        self._signers: dict[str, Signer] = {}

    def path(self, post: str) -> Path | None:
        """Where ``post``'s certificate is looked for, or None without a folder."""
        return None if self.folder is None else self.folder / f"{post}.p12"

    def has(self, post: str) -> bool:
        """Whether a certificate file exists for ``post``."""
        path = self.path(post)
        return path is not None and path.is_file()

    def signer(self, post: str, *, when: datetime) -> Signer:
        """``post``'s signer, valid at ``when``; ``CertificateError`` naming the file or variable that is missing."""
        found = self._signers.get(post)
        if found is not None:
            found.check_valid(when)
            return found
        path = self.path(post)
        if path is None:
            raise CertificateError(
                N_("certificate of the post %(post)s", post=post),
                N_("no folder of certificates is configured"),
                N_("signature_certificates: the folder holding <post>.p12 and its passphrase"),
            )
        secret = path.with_suffix(".passphrase")
        if secret.is_file():
            passphrase = read_passphrase(file=secret)
        else:
            passphrase = read_passphrase(env=passphrase_variable(post), environ=self._environ)
        signer = self._signers[post] = load_signer(path, passphrase, when=when)
        return signer

    def seal(self, *, when: datetime) -> Signer | None:
        """The service's seal, when its certificate is configured; else None (notices go out unsigned)."""
        return self.signer(SEAL, when=when) if self.has(SEAL) else None
