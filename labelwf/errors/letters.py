"""Errors of letters and the audit trail's seals: a letter that cannot be rendered or was altered, a
checkpoint, a signing certificate, a signature.
"""

from __future__ import annotations

from ..message import N_, Message, Quoted
from .base import LabelwfError


class LetterError(LabelwfError):
    """Raised when a letter cannot be rendered (missing template or variable); the fire was not applied."""

    def __init__(self, template: str, detail: str) -> None:
        self.template, self.detail = template, detail
        super().__init__(
            N_("letter template %(template)s failed: %(detail)s", template=Quoted(template), detail=detail)
        )


class LetterAltered(LabelwfError):
    """Raised when a letter's stored text, HTML or recipient is not what its event sealed: it is not shown."""

    def __init__(self, letter: int, instance: str, problem: str) -> None:
        self.letter, self.instance, self.problem = letter, instance, problem
        super().__init__(
            N_(
                "letter %(letter)s of %(instance)s was altered since it was written: %(problem)s; its frozen copy "
                "cannot be shown (`labelwf audit verify` names every altered letter)",
                letter=letter,
                instance=Quoted(instance),
                problem=problem,
            )
        )


class CheckpointError(LabelwfError):
    """Raised when a checkpoint cannot be written, read or trusted: the file, and what is wrong with it."""

    def __init__(self, path: str, detail: str) -> None:
        self.path, self.detail = path, detail
        super().__init__(N_("checkpoint %(path)s: %(detail)s", path=path, detail=detail))


class CertificateError(LabelwfError):
    """Raised when a signing certificate or its passphrase cannot be used: where, what is wrong, what is expected.

    Its message never holds the passphrase, nor anything read from the key. Each part may be a message,
    said in any language; the fields keep its English text."""

    def __init__(self, source: str | Message, problem: str | Message, expected: str | Message) -> None:
        self.source, self.problem, self.expected = str(source), str(problem), str(expected)
        super().__init__(
            N_("%(source)s: %(problem)s; expected: %(expected)s", source=source, problem=problem, expected=expected)
        )


class SignatureRefused(LabelwfError):
    """Raised when a PDF cannot be signed as asked: the document, what is wrong, what is expected (each
    may be a message, said in any language; the fields keep its English text)."""

    def __init__(self, document: str | Message, problem: str | Message, expected: str | Message) -> None:
        self.document, self.problem, self.expected = str(document), str(problem), str(expected)
        super().__init__(
            N_(
                "cannot sign %(document)s: %(problem)s; expected: %(expected)s",
                document=document,
                problem=problem,
                expected=expected,
            )
        )
