"""An event of a migrated instance is said in the words of the workflow version that declared its step."""

from __future__ import annotations

from labelwf import load_workflow
from labelwf.workflow.step_version import step_version
from tests.conftest import ROOT

PHASE_2 = load_workflow(ROOT / "workflows" / "poles-2008.yaml", ROOT / "templates")
PHASE_3 = load_workflow(ROOT / "programme" / "workflows" / "poles-2008-v2.yaml", ROOT / "templates")


def test_a_step_of_the_first_version_is_said_by_it_after_the_migration() -> None:
    versions = [PHASE_3, PHASE_2]  # any order
    # The 2008 classification and the 2009 contract are steps of version 1 only
    classified = step_version(versions, "classify", "evaluated", "group_1")
    assert classified is PHASE_2 and classified.state_label("group_1") != "group_1"
    contract = step_version(versions, "sign_contract", "group_1", "contract")
    assert contract is PHASE_2 and "2013-2018" not in contract.trigger_label("sign_contract")
    # A step that only the second version declares is said by it
    later = next(t for t in PHASE_3.transitions if t.trigger not in PHASE_2.all_triggers)
    assert step_version(versions, later.trigger, later.sources[0], later.dest) is PHASE_3
    # An act of the engine's own (no declared step) takes the newest version knowing its states, else the newest
    assert step_version(versions, "(entity changed)", "contract", "contract") is PHASE_2
    assert step_version(versions, "(entity changed)", "nowhere", "nowhere") is PHASE_3
