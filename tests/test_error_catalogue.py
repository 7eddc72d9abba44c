"""Every error labelwf raises says its message through the catalogue: built with sample values, each
class's message and every message nested in it have a French translation, and its French rendering
is not its English one."""

from __future__ import annotations

import inspect
import typing
from datetime import UTC, datetime

import pytest

from labelwf.errors import LabelwfError, NothingToExecute, Problem, SignatureRefused
from labelwf.i18n import say, translations
from labelwf.message import Listed, Message

WHEN = datetime(2010, 7, 1, tzinfo=UTC)


def _kinds() -> list[type[LabelwfError]]:
    found: list[type[LabelwfError]] = []
    stack: list[type[LabelwfError]] = [LabelwfError]
    while stack:
        kind = stack.pop()
        found.append(kind)
        stack.extend(kind.__subclasses__())
    return sorted(set(found), key=lambda k: k.__name__)


def _sample(name: str, annotation: object) -> object:
    """A plausible value for the parameter ``name`` of a constructor, from its annotation."""
    text = str(annotation)
    if name == "message":
        return None
    if name in {"problems"}:
        return [Problem("workflows/poles.yaml", 3, "unknown state")]
    if name == "acted":
        return [("root@vm", 2)]
    if name == "erased":
        return {"instances": 3}
    if "datetime" in text:
        return WHEN
    if "Sequence" in text:
        return ["classify"]
    if text.startswith("int") or "<class 'int'>" in text:
        return 3
    return {"kind": "instance", "field": "password", "what": "fires"}.get(name, "x")


def _build(kind: type[LabelwfError]) -> LabelwfError:
    hints = typing.get_type_hints(kind.__init__)
    params = [p for p in inspect.signature(kind.__init__).parameters.values() if p.name != "self"]
    if kind is LabelwfError or kind.__init__ is LabelwfError.__init__:  # a family's root: said by its children
        return kind(Message("x"))
    values = {p.name: _sample(p.name, hints.get(p.name, p.annotation)) for p in params if p.default is p.empty}
    return kind(**values)


def _untranslated(message: Message) -> list[str]:
    """The msgids in ``message`` (itself and every message nested in its values) without French."""
    french = translations("fr")
    found = [] if french.gettext(message.msgid) != message.msgid else [message.msgid]
    values = list(message.params.values())
    while values:
        value = values.pop()
        if isinstance(value, Message):
            found += _untranslated(value)
        elif isinstance(value, Listed):
            values += [*value.items, value.sep, value.empty]
    return found


CONCRETE = [k for k in _kinds() if k.__init__ is not LabelwfError.__init__]


def test_the_hierarchy_is_known_whole() -> None:
    assert len(CONCRETE) > 30
    assert {NothingToExecute, SignatureRefused} <= set(CONCRETE)


@pytest.mark.parametrize("kind", CONCRETE, ids=lambda k: k.__name__)
def test_every_error_says_its_message_through_the_catalogue(kind: type[LabelwfError]) -> None:
    error = _build(kind)
    assert _untranslated(error.message) == [], f"{kind.__name__}: a message without its French"
    assert say(error, "en") == str(error)
    assert say(error, "fr") != say(error, "en"), f"{kind.__name__} says the same in French and English"


def test_the_errors_once_written_in_french_are_english_when_english_is_asked() -> None:
    refused = SignatureRefused("le courrier 12", "ce n'est pas un PDF", "un PDF")
    assert str(refused) == "cannot sign le courrier 12: ce n'est pas un PDF; expected: un PDF"
    assert say(refused, "fr") == "signature de le courrier 12 impossible : ce n'est pas un PDF ; attendu : un PDF"
    nothing = NothingToExecute(7, 3)
    assert str(nothing) == (
        "cannot run plan 7: it is without an executable item (all 3 refused at its preview); "
        "expected a plan with at least one item to execute; cancel this one and plan what applies"
    )
    assert say(nothing, "fr").startswith("impossible d'exécuter le plan 7 : aucun de ses éléments n'est exécutable")
    assert (nothing.action, nothing.subject, nothing.plan) == ("run", "plan 7", 7)  # the fields stay


def test_what_a_refused_value_expected_is_said_in_french_too() -> None:
    from labelwf.errors import AccountError, InvalidData, NotFound
    from labelwf.message import N_, said
    from labelwf.workflow.definition import FieldDef

    short = AccountError("password", "(not shown)", N_("at least %(count)s characters", count=12))
    assert str(short) == "password '(not shown)' is refused: expected at least 12 characters"  # the English of old
    assert short.expected == "at least 12 characters"  # the field stays English text (API, --json)
    assert say(short, "fr") == "mot de passe « (masqué) » refusé : attendu au moins 12 caractères."
    with pytest.raises(ValueError) as refused:
        FieldDef("decided_on", "date").coerce("01/13/2010")
    bad_date = InvalidData("vegepolys", "classify", "decided_on", said(refused.value))
    assert "data field 'decided_on' must be a date YYYY-MM-DD, got '01/13/2010'" in str(bad_date)
    assert "le champ « decided_on » attend une date AAAA-MM-JJ ; reçu : « 01/13/2010 »" in say(bad_date, "fr")
    hint = NotFound("instance", "atlantis", N_("`labelwf list` shows the instances"))
    assert say(hint, "fr") == "rien ne correspond à « atlantis » ; « labelwf list » montre les dossiers"


def test_the_last_english_details_inside_french_sentences_are_said_in_french() -> None:
    from labelwf.errors import AccountError, ActionRefused, ConfigError, NotFound
    from labelwf.message import N_, Word, listed
    from labelwf.text import text_problem, text_refusal

    long_name = text_refusal("x" * 201, N_("display name"), max_length=200)
    assert long_name is not None
    assert text_problem("x" * 201, "display name", max_length=200) == str(long_name)  # the English of old
    assert str(long_name) == "display name is 201 characters long; at most 200 are allowed"
    said_fr = say(AccountError("display_name", "x", long_name), "fr")
    assert "le nom affiché compte 201 caractères ; 200 au plus sont admis" in said_fr
    hidden = text_refusal("a\u200bb", N_("token label"), max_length=200)
    assert hidden is not None and "is refused" not in say(AccountError("label", "a", hidden), "fr")
    assert "le libellé du jeton contient le caractère invisible U+200B" in say(AccountError("label", "a", hidden), "fr")
    statuses = listed([Word("pending"), Word("failed")], sep=N_(" or "))
    either = N_("%(statuses)s", statuses=statuses)
    refused = ActionRefused("retry", "letter 3", "delivered", either)
    assert str(refused) == "cannot retry letter 3: it is delivered; expected pending or failed"
    assert say(refused, "fr").endswith("attendu : en attente ou en échec.")
    missing = NotFound(
        "instance",
        "vege",
        N_("no %(workflow)s instance for it; `labelwf list` shows the instances", workflow="poles-2023"),
    )
    assert "aucun dossier poles-2023 pour lui" in say(missing, "fr")
    key = ConfigError("audit_key_file", "audit.key", N_("a file holding %(count)s hexadecimal digits", count=64))
    assert str(key).endswith("expected a file holding 64 hexadecimal digits")
    assert say(key, "fr").endswith("un fichier de 64 chiffres hexadécimaux.")
