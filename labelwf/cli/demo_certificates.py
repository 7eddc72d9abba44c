"""``labelwf init --demo-certificates``: a demonstration certificate for each post of the directory without one."""

from __future__ import annotations

from ..clock import SystemClock
from ..errors import ConfigError
from ..message import N_
from .base import App
from .saying import echo


def create_demo_certificates(app: App) -> None:
    """Create the missing posts' demonstration certificates in ``signature_certificates`` and say each post's."""
    from ..letters.demo_posts import create_missing, directory_posts
    from ..letters.post_certificates import SEAL

    folder = app.runtime.settings.signature_certificates
    if folder is None:
        expected = N_("the folder where init --demo-certificates writes each post's <post>.p12 and <post>.passphrase")
        raise ConfigError("signature_certificates", None, expected)
    clock = app.runtime.clock or SystemClock()
    posts = [*directory_posts(app.runtime.directory), SEAL]  # the service's seal signs the notices
    for made in create_missing(folder, posts, when=clock.now()):
        if made.created and made.valid_until is not None:
            echo(
                N_(
                    "post %(post)s: demonstration certificate created, %(file)s, valid until %(until)s; "
                    "no legal value, and the letters it signs say so (passphrase in %(secret)s, "
                    "readable by you only; give %(pem)s to whoever verifies)",
                    post=made.post,
                    file=str(made.path),
                    until=made.valid_until.strftime("%d/%m/%Y"),
                    secret=str(made.path.with_suffix(".passphrase")),
                    pem=str(made.path.with_suffix(".pem")),
                )
            )
        else:
            echo(N_("post %(post)s: certificate %(file)s kept as it is", post=made.post, file=str(made.path)))
