"""The French words for the engine's ids are one table, said alike by the command line and the console."""

from __future__ import annotations

from labelwf.accounts import ROLES as ACCOUNT_ROLES
from labelwf.audit.admin_chain import Action
from labelwf.cli import wording as cli_wording
from labelwf.engine import wording
from labelwf.service import console_plans, console_reading, console_words
from labelwf.store.records import BatchStatus, ItemStatus, LetterStatus


def test_every_status_of_letters_plans_and_items_has_its_french_word() -> None:
    for enum, table in (
        (LetterStatus, wording.LETTER_STATUSES),
        (BatchStatus, wording.PLAN_STATUSES),
        (ItemStatus, wording.ITEM_STATUSES),
    ):
        missing = [s.value for s in enum if s.value not in table]
        assert not missing, f"{enum.__name__} has no French word for {missing}"
        assert all(table[s] != s.value for s in enum)


def test_every_account_role_and_administrative_act_has_its_french_word() -> None:
    assert [r for r in ACCOUNT_ROLES if r not in wording.ROLES] == []
    assert [a.value for a in Action if a.value not in wording.ADMIN_ACTIONS] == []


def test_the_command_line_and_the_console_say_the_same_words() -> None:
    # Given the console's tables and the command line's
    # Then they are the engine's own, not copies that could drift apart
    assert console_reading.LETTER_STATUSES is wording.LETTER_STATUSES
    assert console_plans.PLAN_STATUS is wording.PLAN_STATUSES is cli_wording.PLAN_STATUSES
    assert console_plans.ITEM_STATUS is wording.ITEM_STATUSES is cli_wording.ITEM_STATUSES
    assert console_plans.KINDS is wording.PLAN_KINDS is cli_wording.PLAN_KINDS
    assert console_words.ROLE_LABELS is wording.ROLES is cli_wording.ROLES


def test_a_status_is_said_in_french_and_an_unknown_one_as_it_is() -> None:
    assert wording.said(wording.LETTER_STATUSES, LetterStatus.DELIVERED) == "envoyé"
    assert wording.said(wording.LETTER_STATUSES, "later") == "later"
    assert wording.said(wording.ROLES, None) == ""


def test_a_plans_counts_are_said_by_status_in_a_fixed_order() -> None:
    assert wording.counts_said({"refused": 1, "done": 12}) == "fait : 12, refusé : 1"
    assert wording.counts_said({}) == ""
