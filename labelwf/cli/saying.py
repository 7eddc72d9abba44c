"""How the command line says its own lines (what it did, how far it got) in the configured language.

A line is a ``Message`` (an English msgid with named placeholders, ``message.N_``) said through the
``labelwf`` catalogue in the ``locale`` setting, as the errors are: ``echo(N_("token %(id)s revoked",
id=7))`` prints « jeton 7 révoqué » in French, the msgid filled in English. ``--json`` never goes
through here: it keeps its keys and ids.
"""

from __future__ import annotations

import click

from ..i18n import SOURCE_LOCALE, Labels, render
from ..message import Message

__all__ = ["echo", "english", "line", "locale", "named", "state"]

_KEY = "labelwf.locale"


def locale() -> str:
    """The language of the running command's lines: the ``locale`` setting (English outside a command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return SOURCE_LOCALE
    root = ctx.find_root()
    if _KEY not in root.meta:
        from .base import _locale  # the same setting the error line reads

        root.meta[_KEY] = _locale(root)
    return str(root.meta[_KEY])


def english() -> bool:
    """Whether the lines are said in the msgids' own language (then ids stay ids)."""
    return locale() == SOURCE_LOCALE


def line(message: Message, labels: Labels | None = None) -> str:
    """``message`` in the command's language; states, triggers and fields named by ``labels``."""
    return render(message, locale(), labels)


def echo(message: Message, *, err: bool = False, nl: bool = True, labels: Labels | None = None) -> None:
    """Print ``message`` in the command's language (on stderr with ``err``)."""
    click.echo(line(message, labels), err=err, nl=nl)


def named(name: str, label: str) -> str:
    """An id as a line shows it: the id itself in English, its ``label`` in the other languages."""
    return name if english() else label


def state(name: str, labels: Labels | None) -> str:
    """A state as a column shows it: its id in English, its label in the other languages."""
    if english() or labels is None:
        return name
    return labels.state_label(name) or name
