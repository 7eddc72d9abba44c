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
    made = create_missing(folder, posts, when=clock.now())
    created = [m for m in made if m.created]
    kept = [m.post for m in made if not m.created]
    if created:
        until = min(m.valid_until for m in created if m.valid_until is not None)
        echo(
            N_(
                "demonstration certificates (no legal value, and the letters they sign say so) created in "
                "%(folder)s for %(posts)s, valid until %(until)s: <post>.p12, its passphrase in <post>.passphrase "
                "(readable by you only), <post>.pem for whoever verifies",
                folder=str(folder),
                posts=", ".join(m.post for m in created),
                until=until.strftime("%d/%m/%Y"),
            )
        )
    if kept:
        echo(N_("certificates kept as they are in %(folder)s: %(posts)s", folder=str(folder), posts=", ".join(kept)))
