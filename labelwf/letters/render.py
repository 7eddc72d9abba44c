"""Letters: render the letters a transition sends, as frozen artefacts for the outbox.

Each letter's content is written once (``templates/<workflow>/<letter>.j2``, which starts with
``{% extends layout %}`` and fills the blocks ``objet`` and ``corps``) and rendered through two
shared layouts: ``_layout.txt.j2`` (plain text) and ``_layout.html.j2`` (printable A4 HTML).
The HTML environment escapes every value; both strip control characters from what they print,
so data such as a pole named ``<script>`` or ``{{ 7*7 }}`` is printed as text.

Rendering happens inside the fire transaction (the engine calls ``LetterRenderer.render``); a
missing template or variable raises ``LetterError`` and the fire is not applied. Templates are
checked when the workflow is loaded: syntax, and variables outside the context below.

Context of every template:
    entity     id, name, attributes (region, theme, ...) of the labelled entity
    event      trigger, source, dest, occurred_at and recorded_at (aware UTC), data of this step (never
               the audit reason nor the actor: what a letter says is declared as a field)
    data       the instance's data after this step
    facts      the step's data as (key, label, value), dates written the French way
    recipient  role, label (the function addressed), name, address (lines), email, civility,
               appel (the formule d'appel) and politesse (the formule de politesse), by rank and civility
    letterhead service (the timbre), signatory, delegation, place, recourse_court of the issuer in force
               at the step's date; agent and signatory_name from the configuration; attachments
               (the letter's pièces jointes)
    authority  the directory's row for the step's kind of decision at the letter's date (decides,
               signatory, gender, signatory_name, delegation, source, assumed, note), or None
    copies     the functions a copy goes to (a letter declared ``copies: true``: its first recipient is
               its addressee, the others receive the same letter "pour information")
    workflow   name, version, title
    date_fr    the letter's date (the day the step is recorded, or the day it is signed when it waits
               for a signature: ``letters.dating``) written the French way ("11 mai 2010")
    decision_date_fr  the decision's date (its event's), the effective date unless the step declares one
    mentions   what the law asks a decision letter to say, at the decision's date (``letters.mentions``):
               legal_basis (the texts cited), rules (what they provide, cited « en droit »), online
               (Télérecours citoyens once open, or None), decision (whether the step is a decision)
    signatory  who signs, at the decision's date: name (or the record's note when it gives none), title,
               delegation
    agent      « Affaire suivie par »: name, email, telephone of the account that took the decision,
               written at the fire (``letters.agent``); None for the daemon, a replay or the CLI (the desk)
    reference  the letter's reference (workflow, entity, event sequence, letter)
    layout     the layout the content extends (set by the renderer)
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import jinja2
from jinja2 import meta, nodes
from jinja2.ext import Extension
from jinja2.runtime import BlockReference, TemplateReference
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from ..errors import LetterError
from .address import RANKS, address, civility_of
from .directory import Directory, kind_of
from .filters import FILTERS, MONTHS_FR, lead, words
from .mentions import MENTION_FILTERS, mentions_of
from .spec import LetterDef, Letterhead
from .template_safety import COUNTED, bounded_binop, bounded_filter, bounded_render, count_loops, counted, take_step
from .typography import french, typeset_template

CONTEXT_NAMES = frozenset(
    {
        "entity",
        "event",
        "data",
        "facts",
        "recipient",
        "workflow",
        "date_fr",
        "reference",
        "layout",
        "letterhead",
        "copies",
        "authority",
        "basis",  # where the step's fact comes from (the record, an assumption, synthetic data), or None
        "mentions",  # the legal basis, the rules the reasons cite, the means of appeal (letters.mentions)
        "signatory",  # who signs: name (or the record's note), title, delegation, at the decision's date
        "decision_date_fr",  # the decision's date (the event's), written the French way
        "agent",  # who took the decision (« Affaire suivie par »), or None: the service's desk (letters.agent)
    }
)
LAYOUTS = {"text": "_layout.txt.j2", "html": "_layout.html.j2"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MISSING = object()
_DICT_ATTRIBUTES = frozenset(dir(dict))
_SEPARATOR = "\x1e"  # between inline templates rendered together; a control character, so never printed


@dataclass(frozen=True)
class Recipient:
    """Who a letter is addressed to: a role, the function addressed, and a contact when one is known."""

    role: str
    label: str
    name: str = ""
    address: tuple[str, ...] = ()
    email: str = ""
    civility: str = ""  # Madame or Monsieur when the contact says


def resolve_recipients(
    roles: Sequence[str], labels: Mapping[str, str], contacts: Sequence[Mapping[str, Any]]
) -> list[Recipient]:
    """Address each role to the entity's contact for it, or by function alone when none is known."""
    by_role = {str(c.get("role")): c for c in contacts}
    result = []
    for role in roles:
        contact = by_role.get(role, {})
        address = tuple(line.strip() for line in str(contact.get("address", "") or "").split("\n") if line.strip())
        name, email = str(contact.get("name", "") or ""), str(contact.get("email", "") or "")
        result.append(Recipient(role, labels[role], name, address, email, civility_of(contact.get("civility")) or ""))
    return result


@dataclass(frozen=True)
class RenderedLetter:
    """One letter for one recipient, ready to be stored in the outbox."""

    template: str
    recipient: Recipient
    subject: str
    text: str
    html: str
    checksum: str = field(default="")
    post: str | None = None  # the post that must sign it (the signature step); None: delivered as written


def letter_checksum(subject: str, text: str, html: str, name: str = "", address: str = "", email: str = "") -> str:
    """The checksum frozen with a letter: sha256 of its subject, text, HTML and recipient (name, address
    lines joined by newlines, e-mail), checked before delivery; its event's record holds it too."""
    recipient = _SEPARATOR.join((name, address, email))
    return hashlib.sha256(f"{subject}\n{text}\n{html}\n{_SEPARATOR}{recipient}".encode()).hexdigest()


def content_checksum(subject: str, text: str, html: str) -> str:
    """The checksum of letters queued before their recipient was covered (events of formats 1-3)."""
    return hashlib.sha256(f"{subject}\n{text}\n{html}".encode()).hexdigest()


def date_fr(instant: datetime, tz: tzinfo) -> str:
    """Write ``instant`` as a French administrative date in ``tz``: ``1er janvier 2010``, ``11 mai 2010``."""
    local = instant.astimezone(tz)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {MONTHS_FR[local.month - 1]} {local.year}"


def printable(value: Any) -> Any:
    """What every ``{{ }}`` of a letter prints (the environments' ``finalize``): control characters (but
    newlines and tabs) removed, French typography."""
    if type(value) is str:
        return french(value if value.isprintable() else _CONTROL.sub("", value))  # isprintable: most, fast
    if isinstance(value, Markup):  # already rendered by a template, its values already cleaned
        return value
    return french(_CONTROL.sub("", value)) if isinstance(value, str) else value


class _Typography(Extension):
    """Typesets a template's own words once, as it is compiled (``typography.typeset_template``)."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return typeset_template(source, html=bool(self.environment.autoescape))


class _LetterEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (no Python internals, no changing given values), whose templates see the
    globals as one plain dict.

    Jinja chains each template's globals over the environment's (a ``ChainMap``), which every
    render copies and iterates twice; letters render several times per fire and never change
    globals once loaded, so one merged dict per template is enough.
    """

    intercepted_binops = frozenset({"*", "**", "%"})  # bounded (template_safety), and never folded when compiling

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        return bounded_binop(operator, left, right)

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        take_step()  # a macro calling itself twice would run in exponential time
        if obj is counted or type(obj) is BlockReference:
            # Every loop's counter and a layout's ``self.corps()``: safe and given no context, so the
            # sandbox's checks and Jinja's inspection of what to pass them are skipped (several per letter).
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            return obj(*args, **kwargs)
        return super().call(context, obj, *args, **kwargs)

    def _generate(
        self, source: nodes.Template, name: str | None, filename: str | None, defer_init: bool = False
    ) -> str:
        return super()._generate(count_loops(source), name, filename, defer_init)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """The sandbox's attribute access, with a fast path for the plain data letters are given.

        A ``SimpleNamespace``'s public attributes are its own entries, and a dict key that is no
        dict method is what ``obj.key`` reads anyway: neither can reach Python internals, so the
        sandbox's checks (a few microseconds each, forty per fire) are skipped for them only.
        """
        if attribute[:1] != "_":
            kind = type(obj)
            if kind is TemplateReference:  # ``self.corps``: a block of the template, nothing else of it is public
                with contextlib.suppress(KeyError):  # no such block: the sandbox's own answer, below
                    return obj[attribute]
            elif kind is SimpleNamespace:
                found = obj.__dict__.get(attribute, _MISSING)
                if found is not _MISSING:
                    return found
            elif kind is dict and attribute not in _DICT_ATTRIBUTES:
                found = obj.get(attribute, _MISSING)
                if found is not _MISSING:
                    return found
        return super().getattr(obj, attribute)


SHARED = "_shared"  # the folder beside the workflows' template folders that holds the layouts they share


def layout_folders(folder: Path) -> list[Path]:
    """Where a workflow's letters find their layouts: its own folder first, then the shared one beside it."""
    return [folder, folder.parent / SHARED]


def layout_path(folder: Path, layout: str) -> Path | None:
    """The layout file a letter of ``folder`` extends, or None if neither folder holds it."""
    return next((f / layout for f in layout_folders(folder) if (f / layout).is_file()), None)


@lru_cache(maxsize=64)
def letter_environment(folder: Path, html: bool) -> jinja2.Environment:
    env = _LetterEnvironment(
        loader=jinja2.FileSystemLoader([str(f) for f in layout_folders(folder)]),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        finalize=printable,
        extensions=[_Typography],
        keep_trailing_newline=True,
        auto_reload=False,  # a process renders one frozen set of templates: no stat() per letter
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.filters.update(MENTION_FILTERS)
    env.filters = {name: bounded_filter(name, function) for name, function in env.filters.items()}
    env.globals[COUNTED] = counted
    return env


@dataclass(frozen=True)
class Signers:
    """Who the configuration names in every letter: the agent following the files, and the signatory."""

    agent: str = ""  # "Affaire suivie par": the agent's name and function, or a function alone
    signatory_name: str = ""  # first name and name of the signatory, above the title
    directory: Directory | None = None  # who decides and signs each kind of decision at each date
    signature: bool = False  # letters wait for their post's signatory (``signature: required``)


class LetterSource(Protocol):
    """What rendering needs of a workflow version (a ``Workflow`` is one): its letters, the ranks of
    its recipients' roles, its letterhead and its time zone."""

    @property
    def letters(self) -> Mapping[str, LetterDef]: ...

    @property
    def ranks(self) -> Mapping[str, str]: ...

    @property
    def letterhead(self) -> Letterhead: ...

    @property
    def timezone(self) -> tzinfo: ...


class LetterRenderer:
    """Renders the letters of one workflow from its template folder; templates compile once.

    ``workflow`` gives the forms of address of its recipients' ranks and its letterhead by date;
    ``signers`` the people the configuration names. Every letter gets French typography.
    """

    def __init__(self, folder: Path, workflow: LetterSource | None = None, signers: Signers | None = None) -> None:
        self.folder = folder
        self.workflow, self.signers = workflow, signers or Signers()
        self.text_env = letter_environment(folder.resolve(), False)
        self.html_env = letter_environment(folder.resolve(), True)
        self._strings: dict[str, tuple[jinja2.Template, bool]] = {}
        self._joined: dict[tuple[str, ...], jinja2.Template] = {}
        self._plain_lines: dict[str, str] = {}
        self._compiled: dict[str, tuple[jinja2.Template, jinja2.Template]] = {}
        self._letterheads: dict[tuple[str, date | None], SimpleNamespace] = {}
        self._authorities: dict[tuple[str, str, date], SimpleNamespace | None] = {}

    def lines(self, sources: Sequence[str], context: Mapping[str, Any]) -> list[str]:
        """Render short inline templates (recipients' functions, a subject), each on one line.

        They are rendered in one pass, joined by a separator that no printed value can contain
        (``finalize`` strips control characters): a fire renders three or four of them, and each
        render has a fixed cost far larger than these few words. A source without a ``{`` holds
        no Jinja tag (a recipient's function left to its rank, most often): its line, the same for
        every context, is rendered once.
        """
        if any("{" not in source for source in sources):
            templated = iter(self.lines([source for source in sources if "{" in source], context))
            return [next(templated) if "{" in source else self._plain(source) for source in sources]
        if len(sources) > 1 and not any(_SEPARATOR in source for source in sources):
            joined = self._joined.get(tuple(sources))
            if joined is None:
                scoped = ("{% with %}" + source + "{% endwith %}" for source in sources)
                joined = self._joined[tuple(sources)] = self.text_env.from_string(_SEPARATOR.join(scoped))
            try:
                parts = bounded_render(joined, context).split(_SEPARATOR)
            except Exception:  # rendered again one by one below, which names what fails
                parts = []
            if len(parts) == len(sources):
                return [" ".join(words(part)) for part in parts]
        return [self._line(source, context) for source in sources]

    def _templates(self, template_file: str) -> tuple[jinja2.Template, jinja2.Template]:
        """A letter's text and HTML templates, looked up once (the environments never reload them)."""
        found = self._compiled.get(template_file)
        if found is None:
            text = self.text_env.get_template(template_file)
            found = self._compiled[template_file] = (text, self.html_env.get_template(template_file))
        return found

    def _plain(self, source: str) -> str:
        """The line of an inline template without tags (typeset when compiled), rendered once."""
        line = self._plain_lines.get(source)
        if line is None:
            line = self._plain_lines[source] = self._line(source, {})
        return line

    def _line(self, source: str, context: Mapping[str, Any]) -> str:
        compiled, _ = self._inline(source)
        try:
            return " ".join(words(bounded_render(compiled, context)))
        except jinja2.TemplateError as exc:
            raise LetterError(source, f"cannot be rendered: {exc}") from None
        except Exception as exc:  # a filter failing on a value
            raise LetterError(source, f"cannot be rendered: {type(exc).__name__}: {exc}") from None

    def render(
        self,
        letter: str,
        template_file: str,
        subject: str,
        to: Mapping[str, str],
        contacts: Sequence[Mapping[str, Any]],
        context: dict[str, Any],
    ) -> list[RenderedLetter]:
        """Render ``letter`` for each role of ``to`` (role → function addressed, an inline template).

        Each role is addressed to the entity's contact for it (``contacts``) when there is one.
        Raise ``LetterError`` naming what failed.
        """
        subject_template, per_recipient = self._inline(subject)
        *labels, title = self.lines([*to.values(), "" if per_recipient else subject], context)
        recipients = resolve_recipients(list(to), dict(zip(to, labels, strict=True)), contacts)
        context["letterhead"] = self._letterhead(context, letter)
        context["authority"] = self._authority(context, letter)
        spec = self._spec(letter)
        self._mentions(context, spec)
        addressed = [self._addressed(found, context) for found in recipients]
        copies = bool(spec and spec.copies and len(addressed) > 1)
        context["copies"] = [forms.label for _, forms in addressed[1:]] if copies else []
        letters = []
        try:
            text_template, html_template = self._templates(template_file)
            for n, (recipient, forms) in enumerate(addressed):
                if n == 0 or not copies:  # a copy is the letter to the first recipient, sent to another
                    context["recipient"] = forms
                    if per_recipient:
                        title = " ".join(words(bounded_render(subject_template, context)))
                    text = bounded_render(text_template, context, layout=LAYOUTS["text"])
                    html = bounded_render(html_template, context, layout=LAYOUTS["html"])
                address = "\n".join(recipient.address)
                digest = letter_checksum(title, text, html, recipient.name, address, recipient.email)
                letters.append(RenderedLetter(letter, recipient, title, text, html, digest))
        except jinja2.TemplateNotFound as exc:
            raise LetterError(letter, f"template file {self.folder / str(exc.name)} does not exist") from None
        except jinja2.UndefinedError as exc:
            raise LetterError(letter, f"undefined variable: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise LetterError(letter, str(exc)) from None
        except Exception as exc:  # a filter failing on a value: the letter's failure, named, not a crash
            raise LetterError(letter, f"{type(exc).__name__} while rendering: {exc}") from None
        return letters

    def _addressed(self, recipient: Recipient, context: Mapping[str, Any]) -> tuple[Recipient, SimpleNamespace]:
        """The recipient with the label its rank gives, and what templates see of it (forms of address)."""
        rank = RANKS.get(self.workflow.ranks.get(recipient.role, "")) if self.workflow else None
        if rank is None:
            appel = f"{recipient.civility}," if recipient.civility else "Madame, Monsieur"
            politesse = f"Je vous prie d’agréer, {appel.rstrip(',')}, l’expression de ma considération distinguée."
            forms = {"appel": appel.rstrip(","), "politesse": politesse}
        else:
            entity = context["entity"]
            region = lead(entity.attributes.get("region")) if hasattr(entity, "attributes") else ""
            regions = self.workflow.letterhead.regions if self.workflow else None
            shown = address(rank, recipient.civility, entity=str(entity.name), region=region or None, regions=regions)
            recipient = Recipient(  # dataclasses.replace, without its inspection of the fields (hot)
                recipient.role, shown.label, recipient.name, recipient.address, recipient.email, recipient.civility
            )
            forms = {"appel": shown.appel, "politesse": shown.politesse}
        return recipient, SimpleNamespace(**recipient.__dict__, **forms)

    def _letterhead(self, context: Mapping[str, Any], letter: str) -> SimpleNamespace:
        """The issuer in force at the step's date, the workflow's place and court, the configured people.

        The same for every letter of a day (read only: the sandbox is immutable), so made once per day."""
        head = self.workflow.letterhead if self.workflow else Letterhead()
        event = context.get("event")
        day = event.occurred_at.astimezone(self.workflow.timezone).date() if self.workflow and event else None
        made = self._letterheads.get((letter, day))
        if made is not None:
            return made
        if len(self._letterheads) >= 256:  # a replay writes letters over years of days: keep the last ones only
            self._letterheads.clear()
        issuer = head.issuer_at(day) if day else None
        made = self._letterheads[(letter, day)] = SimpleNamespace(
            service=issuer.service if issuer else "",
            signatory=issuer.signatory if issuer else "",
            delegation=issuer.delegation if issuer else "",
            place=head.place,
            recourse_court=head.recourse_court,
            agent=self.signers.agent,
            signatory_name=self.signers.signatory_name,
            attachments=spec.attachments if (spec := self._spec(letter)) else (),
        )
        return made

    def _authority(self, context: Mapping[str, Any], letter: str) -> SimpleNamespace | None:
        """The directory's row for the step's kind of decision on the letter's date, or None (no
        directory, no kind, or nothing in the record for that date). Made once per letter, trigger and day."""
        directory, event = self.signers.directory, context.get("event")
        if directory is None or event is None or self.workflow is None:
            return None
        trigger, day = str(event.trigger or ""), event.occurred_at.astimezone(self.workflow.timezone).date()
        key = (letter, trigger, day)
        if key in self._authorities:
            return self._authorities[key]
        if len(self._authorities) >= 256:  # a replay's letters span years of days: keep the last ones only
            self._authorities.clear()
        spec = self._spec(letter)
        kind = kind_of(trigger, spec.decision if spec else "")
        row = directory.at(kind, day) if kind else None
        made = self._authorities[key] = row.namespace() if row else None
        return made

    def _mentions(self, context: dict[str, Any], spec: LetterDef | None) -> None:
        """``mentions`` and ``signatory``: what the law asks a decision letter to say, read at the decision's
        date (its event's business date), whatever day the letter is written or signed."""
        event, head, authority = context.get("event"), context["letterhead"], context["authority"]
        zone = self.workflow.timezone if self.workflow else None
        decided = event.occurred_at.astimezone(zone) if event is not None else None
        kind = kind_of(str(event.trigger or ""), spec.decision if spec else "") if event is not None else None
        context["mentions"] = mentions_of(
            (spec.legal_basis if spec else ()) or (self.workflow.letterhead.legal_basis if self.workflow else ()),
            self.workflow.letterhead.online_recourse if self.workflow else None,
            decided=decided.date() if decided is not None else None,
            decided_fr=date_fr(decided, decided.tzinfo or zone) if decided is not None and zone else "",
            decision=kind not in (None, "information", "pilotage"),
        )
        if authority is not None:
            name, title, delegation = authority.signatory_name, authority.signatory, authority.delegation
            note = "" if name else authority.note
        else:
            name, title, delegation, note = head.signatory_name, head.signatory, head.delegation, ""
        if not name and context.get("signatory_pending"):  # named by whoever signs it (letters.dating)
            name, note = context["signatory_pending"], ""
        context["signatory"] = SimpleNamespace(
            name=name, title=title[:1].upper() + title[1:], delegation=delegation, note=note
        )

    def _spec(self, letter: str) -> LetterDef | None:
        return self.workflow.letters.get(letter) if self.workflow else None

    def _inline(self, source: str) -> tuple[jinja2.Template, bool]:
        """An inline template compiled once, and whether it depends on the recipient."""
        cached = self._strings.get(source)
        if cached is None:
            per_recipient = "recipient" in meta.find_undeclared_variables(self.text_env.parse(source))
            cached = self._strings[source] = (self.text_env.from_string(source), per_recipient)
        return cached
