"""labelwf's message catalogue: its messages said in a language (gettext, through Babel).

The source messages are English msgids with named placeholders (``labelwf.message``); their
translations live in ``labelwf/locale/<lang>/LC_MESSAGES/labelwf.po``, compiled into the
``labelwf.mo`` shipped beside it (``docs/configuration.md#languages`` gives the ``pybabel``
commands). ``say(error, locale)`` is what an error says in ``locale``; ``negotiate`` picks the
locale of an HTTP request from its ``Accept-Language``.

In a language other than English, a value is shown in that language's manner: a quoted value
between « guillemets », escaped and cut as ``text.shown`` does; a state, trigger or field by its
label when the workflow declares one; a date as ``JJ/MM/AAAA HH:MM``.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path
from typing import Protocol

from babel.core import negotiate_locale
from babel.support import Translations

from .errors import LabelwfError
from .message import N_, Listed, Message, Quoted, Term, Word, english
from .text import shown

DOMAIN = "labelwf"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LOCALE = "en"  # the msgids' own language: no catalogue needed
DEFAULT_LOCALE = "fr"
QUOTED_MAX, TEXT_MAX = 200, 300  # a value is cut there in a sentence (the full value stays in the error's fields)

# labelwf's own vocabulary, which messages name as ``Word``s: marked here for ``pybabel extract``.
VOCABULARY = (
    N_("viewer"),
    N_("operator"),
    N_("supervisor"),
    N_("admin"),
    N_("stakeholder"),
    N_("signatory"),
    N_("system"),
    N_("data field"),  # FieldDef.coerce: what a refused value was given as
    N_("attribute"),
    N_("actor"),  # MissingJustification: what is missing, with its verb in the other languages
    N_("reason"),
    N_("actor and reason"),
    N_("role"),
    N_("name"),
    N_("password"),
    N_("roles"),
    N_("token"),
    N_("label"),
    N_("instance"),
    N_("entity"),
    N_("post"),  # a signatory's post (accounts)
    N_("letter"),
    N_("plan"),
    N_("workflow"),
    N_("state"),
    N_("timer"),
    N_("account"),
    N_("fires"),
    N_("PDFs"),
    N_("password checks"),
    N_("console forms"),
    N_("action"),
    N_("admin action"),
    N_("default workflow"),
    N_("kind of plan"),
    N_("letter template"),
    N_("live token"),
    N_("migration"),
    N_("page"),
    N_("pending timer"),
    N_("sort"),
    N_("workflow version"),
    N_("pending"),
    N_("fired"),
    N_("obsolete"),
    N_("skipped"),
    N_("sending"),
    N_("retry"),
    N_("delivered"),
    N_("failed"),
    N_("uncertain"),
    N_("planned"),
    N_("running"),
    N_("done"),
    N_("cancelled"),
    N_("being delivered"),
)


class Labels(Protocol):
    """How a workflow names its states, triggers and fields to people (``workflow.definition.Workflow``)."""

    def state_label(self, state: str | None) -> str: ...

    def trigger_label(self, trigger: str | None) -> str: ...

    def field_label(self, name: str) -> str: ...


def available_locales() -> tuple[str, ...]:
    """The locales labelwf speaks: English, and each language whose compiled catalogue is shipped."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (SOURCE_LOCALE, *(name for name in found if name != SOURCE_LOCALE))


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    """The catalogue of ``locale`` (English: none, the msgids are the text)."""
    if locale == SOURCE_LOCALE:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [locale], DOMAIN)


def render(message: Message, locale: str, labels: Labels | None = None) -> str:
    """``message`` in ``locale``: its msgid translated, each value shown in that language's manner."""
    if locale == SOURCE_LOCALE:
        return str(message)
    catalogue = translations(locale)
    text = catalogue.gettext(message.msgid)
    if not message.params:
        return text
    return text % {name: _value(value, locale, labels) for name, value in message.params.items()}


def _value(value: object, locale: str, labels: Labels | None) -> str:
    if isinstance(value, Message):
        return render(value, locale, labels)
    if isinstance(value, Quoted):
        return _quoted(value.value)
    if isinstance(value, Term):
        return _quoted(_label(value, labels))
    if isinstance(value, Word):
        said = translations(locale).gettext(value.name)
        return said if said != value.name else (_quoted if value.quoted else _text)(value.name)
    if isinstance(value, Listed):
        if not value.items:
            return _value(value.empty, locale, labels)
        return _value(value.sep, locale, labels).join(_value(item, locale, labels) for item in value.items)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, str):
        return shown(value)[:TEXT_MAX] if "\n" not in value else value  # a list of problems keeps its lines
    return english(value)


def _text(value: object) -> str:
    return shown(str(value))[:TEXT_MAX]


def _quoted(value: object) -> str:
    return f"« {shown(str(value))[:QUOTED_MAX]} »"


def _label(term: Term, labels: Labels | None) -> str:
    if labels is None:
        return term.name
    if term.kind == "state":
        return labels.state_label(term.name) or term.name
    if term.kind == "trigger":
        return labels.trigger_label(term.name) or term.name
    return labels.field_label(term.name) or term.name


def say(error: LabelwfError, locale: str, labels: Labels | None = None) -> str:
    """What ``error`` says in ``locale``; its states and triggers named by ``labels`` (default: the
    workflow the error was raised with, if any)."""
    return render(error.message, locale, labels if labels is not None else error.labels)


def negotiate(accept_language: str | None, default: str) -> str:
    """The locale an ``Accept-Language`` header asks for among ``available_locales()``, else ``default``.

    ``fr-FR;q=0.9, en;q=0.8`` gives ``fr``; a language with ``q=0`` is never chosen; ``*`` or a language
    labelwf does not speak gives ``default``."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, number = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and 0 < quality <= 1:
            ranked.append((-quality, position, tag.replace("_", "-")))
    preferred = [tag for _, _, tag in sorted(ranked)]
    spoken = {name.lower(): name for name in available_locales()}
    found = negotiate_locale(preferred, list(spoken), sep="-") if preferred else None
    return spoken.get((found or "").lower().split("-")[0], default)
