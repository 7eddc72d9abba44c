"""One policy for text a person types (names, actors, reasons, data values): what is refused, and how it is shown.

Control characters and the Unicode bidirectional overrides (which can make a terminal or a
letter show text in another order than it is stored) are refused where text enters labelwf;
line breaks and tabs only where a text may span lines (a reason). So are the characters that
show nothing (Unicode's default-ignorable code points: zero-width spaces and joiners, the
byte-order mark, the soft hyphen, tag characters, a variation selector that modifies nothing),
the line and paragraph separators U+2028 and U+2029 (a line break that a mail header or a CSV
file does not expect), and lone surrogates (which no UTF-8 encoder takes). A one-line text also
may not mix, within one word, the alphabets that look like Latin (Latin, Cyrillic, Greek,
Armenian…): ``lаbelwf`` with a Cyrillic ``а`` is a spoof, not a name. ``looks_like`` compares
a text with a reserved name by a skeleton in the spirit of Unicode TR39 (the daemon's name
cannot be claimed with look-alike letters, digits or compatibility forms).

Text that is stored already is printed with such characters escaped, so that it can neither
clear a terminal nor retitle it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .message import N_, Message, Quoted

_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_CONTROL_ONE_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI}]")
_CONTROL_MULTI_LINE = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}]")
# Unicode's Default_Ignorable_Code_Point (without the variation selectors, below) and the format
# characters (Cf) that print as nothing; U+2028/U+2029; lone surrogates.
_INVISIBLE = (
    "\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200d\u2028\u2029\u2060-\u2065"
    "\u206a-\u206f\u3164\ufeff\uffa0\ufff0-\ufffb\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e00ff\U000e01f0-\U000e0fff\ud800-\udfff"
)
_SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
# A variation selector modifies the character before it; after nothing, an ASCII character or a
# space it only hides something in the text.
_SUSPECT = re.compile(f"[{_INVISIBLE}{_SELECTORS}]")
_IS_SELECTOR = re.compile(f"[{_SELECTORS}]")
_SHOWN_ESCAPED = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}{_INVISIBLE}{_SELECTORS}]")


def text_problem(value: str, what: str | Message, *, max_length: int, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be taken as ``what``, or None when it can (the English text of ``text_refusal``)."""
    refusal = text_refusal(value, what, max_length=max_length, multiline=multiline)
    return None if refusal is None else str(refusal)


def text_refusal(value: str, what: str | Message, *, max_length: int, multiline: bool = False) -> Message | None:
    """Why ``value`` cannot be taken as ``what``, as a message said in any language; None when it can."""
    if len(value) > max_length:
        return N_(
            "%(what)s is %(length)s characters long; at most %(most)s are allowed",
            what=what,
            length=f"{len(value):,}",
            most=f"{max_length:,}",
        )
    found = (_CONTROL_MULTI_LINE if multiline else _CONTROL_ONE_LINE).search(value)
    if found is not None:
        named, at = _named(found.group()), found.start()
        if multiline:
            return N_(
                "%(what)s contains the control character %(character)s at position %(at)s (control and "
                "bidirectional-override characters are refused): type it without control characters",
                what=what,
                character=named,
                at=at,
            )
        return N_(
            "%(what)s contains the control character %(character)s at position %(at)s (control and "
            "bidirectional-override characters are refused): type it without control characters or line breaks",
            what=what,
            character=named,
            at=at,
        )
    if value.isascii():
        return None
    found = next((f for f in _SUSPECT.finditer(value) if not _modifies(value, f.start())), None)
    if found is not None:
        character = found.group()
        kind = N_("line separator") if character in "\u2028\u2029" else N_("invisible character")
        kind = N_("unpaired surrogate") if "\ud800" <= character <= "\udfff" else kind
        named, at = _named(character), found.start()
        if multiline:
            return N_(
                "%(what)s contains the %(kind)s %(character)s at position %(at)s (characters that show nothing or "
                "break lines unseen are refused): type it without control characters, using a plain line break",
                what=what,
                kind=kind,
                character=named,
                at=at,
            )
        return N_(
            "%(what)s contains the %(kind)s %(character)s at position %(at)s (characters that show nothing or "
            "break lines unseen are refused): type it without control characters or line breaks",
            what=what,
            kind=kind,
            character=named,
            at=at,
        )
    return None if multiline else mixed_script_refusal(value, what)


def _modifies(value: str, position: int) -> bool:
    """Whether the character at ``position`` is a variation selector after a character it may modify."""
    if not _IS_SELECTOR.match(value, position) or position == 0:
        return False
    before = value[position - 1]
    return not (before.isascii() or before.isspace())


def _named(character: str) -> str:
    """``U+0430 (CYRILLIC SMALL LETTER A)``: a character as a message names it."""
    code = f"U+{ord(character):04X}"
    name = unicodedata.name(character, "")
    return f"{code} ({name})" if name else code


# The alphabets whose letters can pass for Latin ones (Unicode's confusables are mostly among them).
_LOOK_ALIKE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "COPTIC", "CHEROKEE", "GEORGIAN", "LISU")


@lru_cache(maxsize=4096)
def _script(character: str) -> str | None:
    """The alphabet of a letter among ``_LOOK_ALIKE_SCRIPTS`` (from its Unicode name), or None."""
    if character.isascii():
        return "LATIN" if character.isalpha() else None
    if not unicodedata.category(character).startswith("L"):
        return None
    words = unicodedata.name(character, "").split()
    return next((w for w in words[:3] if w in _LOOK_ALIKE_SCRIPTS), None)


def mixed_script_problem(value: str, what: str | Message) -> str | None:
    """Why ``value`` mixes look-alike alphabets within one word, or None (the English of ``mixed_script_refusal``)."""
    refusal = mixed_script_refusal(value, what)
    return None if refusal is None else str(refusal)


def mixed_script_refusal(value: str, what: str | Message) -> Message | None:
    """Why ``value`` mixes look-alike alphabets within one word (``lаbelwf`` with a Cyrillic ``а``), or None.

    Words are runs of letters; a word may be Cyrillic beside a Latin one (``Jean Иванов``), but
    one word written in two of these alphabets only makes sense as a spoof of another word.
    """
    script, start = None, 0
    for position, character in enumerate(value):
        found = _script(character)
        if found is None:
            if not character.isalpha():
                script = None  # the word ends
            continue
        if script is None:
            script, start = found, position
        elif found != script:
            return N_(
                "%(what)s mixes alphabets within one word: %(character)s at position %(at)s is %(found)s, the word "
                "started at position %(start)s is %(script)s; write the word in one alphabet (look-alike letters pass "
                "for others)",
                what=what,
                character=_named(character),
                at=position,
                found=found.title(),
                start=start,
                script=script.title(),
            )
    return None


# Letters and digits that pass for Latin ones (after NFKC and casefold), after Unicode TR39's
# confusables: enough to tell a reserved name written with look-alikes, not a full skeleton.
_SKELETON = str.maketrans(
    {
        **dict.fromkeys("аαɑ", "a"), **dict.fromkeys("вβ", "b"), **dict.fromkeys("сϲς", "c"),
        **dict.fromkeys("ԁ", "d"), **dict.fromkeys("еεҽ", "e"), **dict.fromkeys("ғ", "f"),
        **dict.fromkeys("ɡցġ", "g"), **dict.fromkeys("һհн", "h"), **dict.fromkeys("іιıӏ1|ǀ", "l"),
        **dict.fromkeys("јϳ", "j"), **dict.fromkeys("кκ", "k"), **dict.fromkeys("м", "m"),
        **dict.fromkeys("пηոռ", "n"), **dict.fromkeys("оοօ0σ", "o"), **dict.fromkeys("рρ", "p"),
        **dict.fromkeys("ԛ", "q"), **dict.fromkeys("г", "r"), **dict.fromkeys("ѕ", "s"),
        **dict.fromkeys("тτ", "t"), **dict.fromkeys("υս", "u"), **dict.fromkeys("ѵν", "v"),
        **dict.fromkeys("ԝѡω", "w"), **dict.fromkeys("хχ", "x"), **dict.fromkeys("уγ", "y"),
        **dict.fromkeys("ᴢ", "z"), **dict.fromkeys("‐‑‒–—―−﹣－", "-"), **dict.fromkeys("i", "l"),
    }
)  # fmt: skip
_IGNORED = re.compile(f"[{_INVISIBLE}{_SELECTORS}{_BIDI}\\s]")


def skeleton(value: str) -> str:
    """What ``value`` looks like: compatibility forms folded (NFKC), case folded, invisible
    characters and spaces dropped, look-alike letters and digits mapped to one Latin letter
    (``i``, ``l``, ``1`` and ``ӏ`` all to ``l``; ``rn`` to ``m``). Two texts with one skeleton
    may be taken for each other."""
    text = unicodedata.normalize("NFKC", _IGNORED.sub("", value)).casefold()
    return (
        unicodedata.normalize("NFKD", text.translate(_SKELETON)).encode("ascii", "ignore").decode().replace("rn", "m")
    )


def looks_like(value: str, reserved: str) -> bool:
    """Whether ``value`` may be taken for ``reserved`` (``labelwf-daemon`` written ``lаbelwf-daemon``,
    ``LABELWF-DAEMON``, ``labelwf\u200b-daemon`` or ``1abelwf-daem0n``): their skeletons match."""
    if value.isascii():
        if value.strip().casefold() == reserved:
            return True
        if len(value) < len(_skeleton_of(reserved)):  # an ASCII skeleton is never longer than its text
            return False
    return skeleton(value) == _skeleton_of(reserved)


@lru_cache(maxsize=16)
def _skeleton_of(reserved: str) -> str:
    return skeleton(reserved)


def shown(value: object) -> str:
    """``value`` as a terminal shows it safely: control, bidi and invisible characters escaped
    (``\\x1b``, ``\\u202e``, ``\\u200b``)."""
    text = str(value)
    if text.isprintable():
        return text
    return _SHOWN_ESCAPED.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), text)


_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
MAX_EMAIL = 254


def email_problem(value: str, what: str | Message) -> str | None:
    """Why ``value`` is not one plain e-mail address, or None (the English text of ``email_refusal``)."""
    refusal = email_refusal(value, what)
    return None if refusal is None else str(refusal)


def email_refusal(value: str, what: str | Message) -> Message | None:
    """Why ``value`` is not exactly one plain e-mail address (``name@example.fr``), or None when it is.

    No display name, no list, no comment, no quoted or IP-literal part: a contact's address goes
    into a ``To:`` header, where ``a@x.fr,root`` would be two recipients.
    """
    if len(value) > MAX_EMAIL or not _EMAIL.match(value):
        return N_(
            "%(what)s %(value)s is not one e-mail address: give exactly one address such as contact@pole.fr (no name, "
            "comma, space or angle brackets)",
            what=what,
            value=Quoted(value),
        )
    return None
