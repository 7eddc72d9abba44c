"""The root of labelwf's errors: what every one carries (its message, the workflow naming its terms)."""

from __future__ import annotations

from typing import Any

from ..message import Message


class LabelwfError(Exception):
    """Raised when labelwf refuses or fails on purpose (the root of this hierarchy).

    Its message is a ``Message`` (an English msgid and its values, ``labelwf.message``):
    ``str(error)`` is the English text, ``labelwf.i18n.say(error, locale)`` says it in ``locale``.
    """

    def __init__(self, message: Message | str = "") -> None:
        self._message = message if isinstance(message, Message) else Message(str(message))
        self._labels: Any = None  # the workflow whose labels name its states and triggers, when known
        super().__init__(str(self._message))

    @property
    def message(self) -> Message:
        """What this error says, to be said in any language."""
        return self._message

    @property
    def labels(self) -> Any:
        """The workflow (``state_label``, ``trigger_label``, ``field_label``) that names this error's terms, or None."""
        return self._labels

    def labelled(self, labels: Any) -> LabelwfError:
        """This error, its states, triggers and fields named by ``labels`` (a workflow) where it declares labels."""
        self._labels = labels
        return self
