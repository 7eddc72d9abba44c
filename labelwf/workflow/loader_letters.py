"""The letter parts of a workflow file: ``recipients``, ``letters`` and ``letterhead``, validated as a whole.

A recipient role is either an inline template of the function addressed (``"Monsieur le Directeur"``)
or a rank of ``labelwf.letters.address`` (``{rank: prefet_region}``), whose forms of address follow the
contact's civility. A letter may be ``unfavourable`` (it must then state its reasons, its
effective date and the means of appeal). The letterhead names, by date, the issuing service and
its signatory, so that a letter dated in 2010 is signed by the administration of 2010.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from ..errors import Problem
from ..letters.address import RANKS
from ..letters.directory import KINDS
from ..letters.mentions import legal_bases, online_recourse
from ..letters.spec import SIGNATURES, Issuer, LetterDef, Letterhead
from ..letters.template_check import check_subject, check_template
from ..text import text_problem
from .definition import MAX_LABEL, NAME_RE
from .yamlfile import LineDict, LineList

_LETTER_KEYS = {"subject", "to", "template", "unfavourable", "attachments", "copies", "decision", "signature"}
_LETTER_KEYS |= {"legal_basis"}
_LETTERHEAD_KEYS = {"issuers", "place", "recourse_court", "regions", "online_recourse", "legal_basis"}
_ISSUER_KEYS = {"since", "service", "signatory", "delegation"}


class Reporter(Protocol):
    """What collects the problems of the file being read."""

    file: str
    problems: list[Problem]

    def problem(self, line: int | None, message: str) -> None: ...

    def unknown_keys(self, mapping: LineDict, allowed: set[str], what: str) -> None: ...


def _names(items: Mapping[str, Any]) -> str:
    return ", ".join(sorted(items)) or "none"


def recipients(b: Reporter, raw: Any, line: int) -> tuple[dict[str, str], dict[str, str]]:
    """(role → function template, role → rank) of the ``recipients`` mapping."""
    if not isinstance(raw, LineDict):
        b.problem(line, "recipients must be a mapping of role name to the function addressed")
        return {}, {}
    labels, ranks = {}, {}
    for role, spec in raw.items():
        at = raw.line_of(role)
        if not NAME_RE.match(str(role)):
            b.problem(at, f"recipient {role!r} needs a lower_snake_case name")
            continue
        if isinstance(spec, LineDict):
            b.unknown_keys(spec, {"rank", "label", "entity"}, f"recipient {role!r}")
            rank = spec.get("rank")
            if rank not in RANKS:
                b.problem(
                    spec.line_of("rank"), f"recipient {role!r}: rank must be one of {_names(RANKS)}, got {rank!r}"
                )
                continue
            labels[str(role)], ranks[str(role)] = "", str(rank)
            continue
        if not isinstance(spec, str) or not spec.strip():
            b.problem(at, f"recipient {role!r} needs the function addressed, or {{rank: one of {_names(RANKS)}}}")
            continue
        b.problems.extend(check_subject(spec, b.file, at, f"recipient {role}"))
        labels[str(role)] = spec
    return labels, ranks


def recipient_readings(b: Reporter, raw: Any) -> tuple[dict[str, str], frozenset[str]]:
    """(role → its French label, the roles that stand for the entity) of the ``recipients`` mapping:
    ``{rank: pole_president, label: Gouvernance du pôle, entity: true}``. The entity's roles are the
    letters its stakeholder account reads; the others (the préfet's, the région's) are not theirs."""
    labels: dict[str, str] = {}
    own: set[str] = set()
    if not isinstance(raw, LineDict):
        return labels, frozenset()
    for role, spec in raw.items():
        if not isinstance(spec, LineDict):
            continue
        if "label" in spec:
            labels[str(role)] = label_of(b, spec, f"recipient {role!r}")
        entity = spec.get("entity", False)
        if not isinstance(entity, bool):
            b.problem(spec.line_of("entity"), f"recipient {role!r}: entity must be true or false, got {entity!r}")
        elif entity:
            own.add(str(role))
    return labels, frozenset(own)


def label_of(b: Reporter, spec: LineDict, what: str) -> str:
    """The ``label`` of ``spec`` (empty when absent): a one-line text of at most ``MAX_LABEL`` characters."""
    value = spec.get("label", "")
    if value is None or value == "":
        return ""
    text = value if isinstance(value, str) else None
    problem = "it is not a text" if text is None else text_problem(text, "it", max_length=MAX_LABEL)
    if problem is None and text is not None and not text.strip():
        problem = "it is blank"
    if problem is not None:
        b.problem(
            spec.line_of("label"),
            f'{what}: label must be one line of text of at most {MAX_LABEL} characters, such as "Évalué"; '
            f"got {value!r} ({problem})",
        )
        return ""
    return str(text).strip()


def letters(b: Reporter, raw: Any, line: int, folder: Path, roles: Mapping[str, str]) -> dict[str, LetterDef]:
    """The ``letters`` mapping: each letter's subject, recipients, template and kind."""
    if not isinstance(raw, LineDict):
        b.problem(line, "letters must be a mapping of letter name to {subject, to}")
        return {}
    result = {}
    for name, spec in raw.items():
        at = raw.line_of(name)
        if not isinstance(name, str) or not NAME_RE.match(name):
            b.problem(at, f"letter name must be lower_snake_case (it names files), got {name!r}")
            continue
        if not isinstance(spec, LineDict):
            b.problem(at, f"letter {name!r} must be a mapping with subject and to")
            continue
        b.unknown_keys(spec, _LETTER_KEYS, f"letter {name!r}")
        subject = spec.get("subject")
        if not isinstance(subject, str) or not subject.strip():
            b.problem(spec.line_of("subject"), f"letter {name!r} needs a subject")
            subject = ""
        to = spec.get("to", [])
        if isinstance(to, str):
            to = [to]
        if not to:
            b.problem(spec.line_of("to"), f"letter {name!r} needs at least one recipient role in 'to'")
        for role in to:
            if role not in roles:
                b.problem(
                    spec.line_of("to"),
                    f"letter {name!r} is sent to unknown recipient role {role!r}; declared: {_names(roles)}",
                )
        attachments = spec.get("attachments", [])
        if not isinstance(attachments, list) or not all(isinstance(a, str) and a.strip() for a in attachments):
            b.problem(spec.line_of("attachments"), f"letter {name!r}: attachments must be a list of texts (P.J.)")
            attachments = []
        unfavourable, copies = spec.get("unfavourable", False), spec.get("copies", False)
        if not isinstance(unfavourable, bool):
            b.problem(spec.line_of("unfavourable"), f"letter {name!r}: unfavourable must be true or false")
            unfavourable = False
        if not isinstance(copies, bool):
            b.problem(spec.line_of("copies"), f"letter {name!r}: copies must be true or false")
            copies = False
        decision = spec.get("decision", "")
        if decision not in ("", *KINDS):
            b.problem(spec.line_of("decision"), f"letter {name!r}: decision {decision!r} is not one of {_names(KINDS)}")
            decision = ""
        signature = spec.get("signature", "person")
        if signature not in SIGNATURES:
            b.problem(
                spec.line_of("signature"),
                f"letter {name!r}: signature {signature!r} is not one of {', '.join(SIGNATURES)} "
                "(person: its post's signatory signs it; seal: a notice that goes out under the service's seal)",
            )
            signature = "person"
        template = folder / str(spec.get("template", f"{name}.j2"))
        if template.resolve().parent != folder.resolve():
            b.problem(spec.line_of("template"), f"letter {name!r}: template must be a file of {folder}, got {template}")
            continue
        if not template.is_file():
            b.problem(at, f"letter {name!r}: template file {template} does not exist")
        else:
            b.problems.extend(check_template(template))
        b.problems.extend(check_subject(str(subject), b.file, spec.line_of("subject"), str(name)))
        result[str(name)] = LetterDef(
            str(name),
            str(subject),
            tuple(str(r) for r in to),
            template,
            unfavourable,
            tuple(attachments),
            copies,
            str(decision),
            str(signature),
            legal_basis=legal_bases(b, spec.get("legal_basis"), spec.line_of("legal_basis") or at, str(name)),
        )
    return result


def letterhead(b: Reporter, raw: Any, line: int) -> Letterhead:
    """The ``letterhead``: the issuing services by date, the place letters are written from, the court."""
    if raw is None:
        return Letterhead()
    if not isinstance(raw, LineDict):
        b.problem(line, "letterhead must be a mapping with issuers, place and recourse_court")
        return Letterhead()
    b.unknown_keys(raw, _LETTERHEAD_KEYS, "letterhead")
    issuers: list[Issuer] = []
    listed = raw.get("issuers", [])
    if not isinstance(listed, LineList | list):
        b.problem(raw.line_of("issuers"), "letterhead issuers must be a list of {since, service, signatory}")
        listed = []
    for item in listed:
        at = item.line if isinstance(item, LineDict) else raw.line_of("issuers")
        if not isinstance(item, LineDict):
            b.problem(at, "each issuer is a mapping with since (a date), service and signatory")
            continue
        b.unknown_keys(item, _ISSUER_KEYS, "letterhead issuer")
        since = item.get("since")
        if isinstance(since, str):
            try:
                since = date.fromisoformat(since)
            except ValueError:
                since = None
        texts = {k: item.get(k) for k in ("service", "signatory", "delegation")}
        if not isinstance(since, date) or not all(
            isinstance(texts[k], str) and texts[k] for k in ("service", "signatory")
        ):
            b.problem(item.line_of("since"), "an issuer needs since (YYYY-MM-DD), service and signatory (texts)")
            continue
        if texts["delegation"] is not None and not isinstance(texts["delegation"], str):
            b.problem(
                item.line_of("delegation"), "an issuer's delegation is a text (Pour le ministre et par délégation)"
            )
            continue
        issuers.append(Issuer(since, str(texts["service"]), str(texts["signatory"]), str(texts["delegation"] or "")))
    if [i.since for i in issuers] != sorted(i.since for i in issuers):
        b.problem(raw.line_of("issuers"), "letterhead issuers must be listed from the oldest to the latest")
    regions: dict[str, tuple[str, str]] = {}
    listed_regions = raw.get("regions", {})
    if not isinstance(listed_regions, dict):
        b.problem(raw.line_of("regions"), "letterhead regions must map a region's name to {of, name}")
        listed_regions = {}
    for region, forms in listed_regions.items():
        if not isinstance(forms, dict) or not all(isinstance(forms.get(k), str) and forms[k] for k in ("of", "name")):
            expected = '{of: "de la région"\'s complement (d’Aquitaine), name: after « la région » (Aquitaine)}'
            b.problem(raw.line_of("regions"), f"region {region!r} needs {expected}")
            continue
        regions[str(region)] = (str(forms["of"]), str(forms["name"]))
    texts = {k: raw.get(k, "") for k in ("place", "recourse_court")}
    for key, value in texts.items():
        if not isinstance(value, str):
            b.problem(raw.line_of(key), f"letterhead {key} must be a text")
    return Letterhead(
        tuple(issuers),
        str(texts["place"] or "Paris"),
        str(texts["recourse_court"] or "le tribunal administratif"),
        regions,
        online_recourse(b, raw.get("online_recourse"), raw.line_of("online_recourse") or line),
        legal_bases(b, raw.get("legal_basis"), raw.line_of("legal_basis") or line, "letterhead"),
    )
