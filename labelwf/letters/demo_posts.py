"""Demonstration certificates for the posts that have none: what ``labelwf init --demo-certificates`` makes.

A service trying the signature step needs a certificate per post of its directory. For each post
without ``<folder>/<post>.p12``, ``create_missing`` draws a random passphrase into
``<post>.passphrase`` (unless that file is there already) and writes a self-signed demonstration
certificate (``certificates.create_demo_certificate``, as ``certificates demo`` does: its name
says it has no legal value, and the letters it signs say so) that names its post (« poste datar »,
« cachet du service »: it signs for that post only), its key and passphrase readable by
their owner only, the certificate alone beside them (``<post>.pem``, for whoever verifies). A post
that has its certificate is left as it is: running it twice creates nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .directory import DEFAULT_POST, Directory


@dataclass(frozen=True)
class DemoPost:
    """One post's certificate: its file, whether it was created now, and (created) until when it is valid."""

    post: str
    path: Path
    created: bool
    valid_until: datetime | None = None


def directory_posts(directory: Directory | None) -> list[str]:
    """The posts that sign the directory's decisions, in order of first appearance (none: the default post)."""
    if directory is None:
        return [DEFAULT_POST]
    return list(dict.fromkeys(row.post_key for row in directory.rows))


def create_missing(folder: Path, posts: Iterable[str], *, when: datetime) -> list[DemoPost]:
    """A demonstration certificate for each post of ``posts`` without one in ``folder``, valid from ``when``.

    The folder is created readable by its owner only. ``CertificateError`` when a post's ``.pem``
    is there without its ``.p12`` (nothing is overwritten).
    """
    from .certificates import create_demo_certificate, new_passphrase, read_passphrase, write_passphrase
    from .post_certificates import demonstration_unit_of

    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
    done = []
    for post in posts:
        path = folder / f"{post}.p12"
        if path.exists():
            done.append(DemoPost(post, path, created=False))
            continue
        secret = path.with_suffix(".passphrase")
        if not secret.exists():
            write_passphrase(secret, new_passphrase())
        unit = demonstration_unit_of(post)
        signer = create_demo_certificate(path, read_passphrase(file=secret), when=when, unit=unit)
        done.append(DemoPost(post, path, created=True, valid_until=signer.valid_until))
    return done
