"""Workflow files are validated as a whole: each broken file is refused with the right message and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labelwf import WorkflowError, load_workflow
from labelwf.workflow.loader import load_workflows
from tests.conftest import ROOT

GOOD = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")

# (case id, text to replace, replacement, expected message fragment, text whose line the problem names)
CASES = [
    ("unknown-dest", "dest: group_1,", "dest: groupe_1,", "unknown dest state 'groupe_1'", "dest: groupe_1"),
    (
        "unknown-source",
        "source: group_1, dest: contract",
        "source: groupe_1, dest: contract",
        "unknown source state 'groupe_1'",
        "source: groupe_1",
    ),
    (
        "unreachable-state",
        "  delabeled:\n",
        "  orphan:\n    final: true\n  delabeled:\n",
        "state 'orphan' cannot be reached from initial state 'evaluated'",
        "  orphan:",
    ),
    (
        "duplicate-state",
        "  delabeled:\n",
        "  group_1:\n    final: true\n  delabeled:\n",
        "key 'group_1' is given twice",
        "  group_1:\n    final: true",
    ),
    (
        "timer-trigger-the-state-cannot-take",
        "trigger: end_label_term, catch_up: fire}\n  contract:",
        "trigger: open_review, catch_up: fire}\n  contract:",
        "timer 'label_term' fires 'open_review', which state 'group_3' cannot take",
        "trigger: open_review",
    ),
    (
        "unknown-letter",
        "letters: [classement_groupe_1]",
        "letters: [classement_groupe_9]",
        "sends unknown letter 'classement_groupe_9'",
        "classement_groupe_9",
    ),
    (
        "missing-template",
        "letters:\n  classement_groupe_1:",
        "letters:\n  lettre_fantome: {subject: x, to: [governance]}\n  classement_groupe_1:",
        "lettre_fantome.j2 does not exist",
        "lettre_fantome",
    ),
    (
        "malformed-date",
        'at: "2010-01-01T00:00", trigger: end_label_term, catch_up: fire}\n  contract:',
        'at: "2010-13-01T00:00", trigger: end_label_term, catch_up: fire}\n  contract:',
        "malformed date-time '2010-13-01T00:00'",
        "2010-13-01",
    ),
    ("malformed-duration", "after: {months: 18}", "after: {mois: 18}", "unknown duration unit 'mois'", "{mois: 18}"),
    ("negative-duration", "after: {months: 18}", "after: {months: -18}", "months must be a number >= 0", "-18"),
    (
        "bad-time-zone",
        "timezone: Europe/Paris",
        "timezone: Europe/Pariss",
        "timezone must be an IANA name such as Europe/Paris, got 'Europe/Pariss'",
        "Pariss",
    ),
    (
        "unknown-initial",
        "initial: evaluated",
        "initial: evalue",
        "initial state 'evalue' is not a declared state",
        "initial: evalue",
    ),
    (
        "condition-syntax",
        'when: "data.group == 1"',
        'when: "data.group = 1"',
        "is not a valid expression",
        "data.group = 1",
    ),
    (
        "condition-calls-code",
        'when: "data.group == 1"',
        "when: \"__import__('os').system('x')\"",
        "which the condition language does not allow",
        "__import__",
    ),
    (
        "condition-bare-name",
        'when: "data.group == 1"',
        'when: "group == 1"',
        "write data.group for a data field",
        "group == 1",
    ),
    (
        "condition-reads-undeclared-field",
        'when: "data.group == 1"',
        'when: "data.region == 1"',
        "condition reads data.region, which is neither in requires nor in optional",
        "data.region",
    ),
    (
        "final-state-with-exits",
        "  group_3:\n    description:",
        "  group_3:\n    final: true\n    description:",
        "state 'group_3' is final but has outgoing triggers",
        "  group_3:",
    ),
    (
        "dead-end-state",
        "    description: Label retiré (délabellisation)\n    final: true",
        "    description: Label retiré (délabellisation)",
        "state 'delabeled' has no outgoing transition",
        "  delabeled:",
    ),
    (
        "unknown-key",
        "  - {trigger: start_reevaluation,",
        "  - {trigers: start_reevaluation, trigger: start_reevaluation,",
        "unknown key 'trigers' in transition",
        "trigers",
    ),
    (
        "undeclared-field",
        "requires: [decision_ref], letters: [renouvellement]",
        "requires: [decision], letters: [renouvellement]",
        "requires undeclared data field 'decision'",
        "requires: [decision]",
    ),
    (
        "duplicate-timer",
        "      - {name: review_18_months,",
        "      - {name: contract_end,",
        "timer 'contract_end' is declared twice",
        None,
    ),
    ("version-zero", "version: 1", "version: 0", "version must be a whole number >= 1", "version: 0"),
    ("not-yaml", "initial: evaluated", "initial: [evaluated", "not valid YAML", None),
    (
        "unknown-recipient",
        "to: [governance, prefet]\n    copies: true\n  revue_satisfaisante",
        "to: [governance, prefet, ministre]\n    copies: true\n  revue_satisfaisante",
        "unknown recipient role 'ministre'",
        "prefet, ministre]",
    ),
    (
        "duplicate-transition",
        "  - {trigger: start_reevaluation, source: group_3, dest: reevaluation,",
        "  - {trigger: start_reevaluation, source: group_3, dest: reevaluation}\n"
        "  - {trigger: start_reevaluation, source: group_3, dest: reevaluation,",
        "transition 'start_reevaluation' from 'group_3' is declared twice",
        None,
    ),
    (
        "label-with-a-line-break",
        '    label: "Groupe 3"',
        '    label: "Groupe\\n3"',
        "state 'group_3': label must be one line of text of at most 120 characters",
        '    label: "Groupe\\n3"',
    ),
    (
        "label-too-long",
        '    label: "Évalué"',
        '    label: "' + "É" * 121 + '"',
        "state 'evaluated': label must be one line of text of at most 120 characters",
        '    label: "ÉÉ',
    ),
    (
        "label-not-a-text",
        'dest: reevaluation, label: "Ouverture de la nouvelle évaluation"}',
        "dest: reevaluation, label: [Ouverture]}",
        "transition 'start_reevaluation': label must be one line of text",
        "label: [Ouverture]",
    ),
    (
        "two-labels-for-one-trigger",
        "  - {trigger: classify, source: evaluated, dest: group_2,",
        '  - {trigger: classify, label: "Tri", source: evaluated, dest: group_2,',
        "transition 'classify' is labelled 'Tri' here but 'Classement' at line",
        'label: "Tri"',
    ),
    (
        "timer-label-not-a-text",
        '{name: review_18_months, label: "Examen à 18 mois",',
        "{name: review_18_months, label: [Examen],",
        "timer 'review_18_months': label must be one line of text",
        "label: [Examen]",
    ),
    (
        "two-labels-for-one-timer",
        '{name: label_term, label: "Terme du label", at: "2010-01-01T00:00", trigger: end_label_term, catch_up: fire}\n'
        "  contract:",
        '{name: label_term, label: "Échéance", at: "2010-01-01T00:00", trigger: end_label_term, catch_up: fire}\n'
        "  contract:",
        "timer 'label_term' is labelled 'Terme du label' in state 'reevaluation' but 'Échéance' in state 'group_3'",
        None,
    ),
    (
        "recipient-entity-not-a-bool",
        'label: "Gouvernance du pôle", entity: true}',
        'label: "Gouvernance du pôle", entity: oui}',
        "recipient 'governance': entity must be true or false, got 'oui'",
        "  governance:",
    ),
]


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped programme (file and templates) with one edit."""
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    (tmp_path / "workflows").mkdir()
    assert old in GOOD, f"the case no longer matches the shipped file: {old!r}"
    path = tmp_path / "workflows" / "poles-2008.yaml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    content = path.read_text(encoding="utf-8")
    return content[: content.index(text)].count("\n") + 1 + text[: len(text) - len(text.lstrip("\n"))].count("\n")


@pytest.mark.parametrize(("old", "new", "message", "where"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_a_broken_workflow_is_refused_with_the_problem_and_its_line(
    tmp_path: Path, old: str, new: str, message: str, where: str | None
) -> None:
    path = broken_copy(tmp_path, old, new)
    with pytest.raises(WorkflowError) as refused:
        load_workflow(path)
    matching = [p for p in refused.value.problems if message in p.message]
    assert matching, f"expected {message!r} among: {[str(p) for p in refused.value.problems]}"
    assert all(p.file == str(path) for p in matching)
    if where is not None:
        assert matching[0].line == line_of(path, where)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "dest: group_1,", "dest: groupe_1,")
    path.write_text(path.read_text(encoding="utf-8").replace("timezone: Europe/Paris", "timezone: Mars/Olympus"))
    with pytest.raises(WorkflowError) as refused:
        load_workflow(path)
    messages = " | ".join(p.message for p in refused.value.problems)
    assert "groupe_1" in messages and "Mars/Olympus" in messages


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ pole.name }}", "template uses undefined variable 'pole'"),
        ("{% if entity.name %}", "template syntax error"),
    ],
)
def test_a_letter_template_is_checked_when_the_workflow_loads(tmp_path: Path, body: str, message: str) -> None:
    path = broken_copy(tmp_path, "version: 1", "version: 1")
    template = tmp_path / "templates" / "poles-2008" / "fin_contrat.j2"
    template.write_text(template.read_text(encoding="utf-8") + body, encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow(path)
    assert any(message in p.message and p.file == str(template) for p in refused.value.problems)


def test_a_missing_file_or_empty_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="file not found"):
        load_workflow(tmp_path / "nope.yaml")
    with pytest.raises(WorkflowError, match=r"no workflow file \(\*\.yaml\)"):
        load_workflows(tmp_path)


def test_the_shipped_programme_has_the_states_and_triggers_of_the_seed_text() -> None:
    wf = load_workflow(ROOT / "workflows" / "poles-2008.yaml")
    assert set(wf.states) == {
        "evaluated",
        "group_1",
        "group_2",
        "group_3",
        "contract",
        "contract_watch",
        "review",
        "funding_revised",
        "reevaluation",
        "awaiting_decision",
        "renewed",
        "delabeled",
        "evaluation_due",
        # the six poles labelled mid-phase in 2010, and every live pole once the 2012 evaluation classed it
        "labelled",
        "phase_2_evaluated",
        # where an entity's own change ends its label (a liquidation, a merger): no transition leads there
        "ceased",
        "merged",
    }
    assert set(wf.all_triggers) == {
        "classify",
        "sign_contract",
        "open_review",
        "review_satisfactory",
        "review_unsatisfactory",
        "start_reevaluation",
        "end_label_term",
        "renew",
        "delabel",
        "end_contract",
        "label",
        "classify_2012",
    }
    finals = {s for s, d in wf.states.items() if d.final}
    assert finals == {"delabeled", "evaluation_due", "phase_2_evaluated", "ceased", "merged"}
    assert wf.endings == {"ceased": "ceased", "merged": "merged"}


def test_an_ending_must_be_a_final_state_and_a_known_kind(tmp_path: Path) -> None:
    text = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")
    bad = text.replace("  merged: merged\n", "  merged: contract\n  vanished: ceased\n")
    path = tmp_path / "workflows" / "poles-2008.yaml"
    path.parent.mkdir()
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(WorkflowError) as caught:
        load_workflow(path, ROOT / "templates")
    text_of = str(caught.value)
    assert "ending merged: 'contract' is not a final state" in text_of and "unknown ending 'vanished'" in text_of


def test_a_deadline_s_notice_must_be_a_declared_letter(tmp_path: Path) -> None:
    text = (ROOT / "workflows" / "poles-2008.yaml").read_text(encoding="utf-8")
    bad = text.replace("notify: report_echeance_contrat}", "notify: avis_inconnu}", 1)
    path = tmp_path / "workflows" / "poles-2008.yaml"
    path.parent.mkdir()
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(WorkflowError) as caught:
        load_workflow(path, ROOT / "templates")
    (found,) = [p for p in caught.value.problems if "avis_inconnu" in p.message]
    assert found.line and "notify names letter 'avis_inconnu', which letters does not declare" in found.message


def test_the_shipped_workflows_label_every_state_trigger_recipient_and_timer_in_french() -> None:
    """Labels are declared at the source: people read "Évalué" and "Classement"; ids stay ids."""
    shipped = [
        load_workflow(ROOT / "workflows" / "poles-2008.yaml"),
        *(load_workflow(p, ROOT / "templates") for p in sorted((ROOT / "programme" / "workflows").glob("*.yaml"))),
    ]
    for workflow in shipped:
        assert all(s.label and "_" not in s.label for s in workflow.states.values()), workflow.key
        assert all(workflow.trigger_label(t) != t for t in workflow.all_triggers), workflow.key
        assert all(workflow.recipient_label(r) != r for r in workflow.recipients), workflow.key
        assert all(t.label for s in workflow.states.values() for t in s.timers), workflow.key
        assert workflow.entity_roles == {"governance"}, workflow.key
    first = shipped[0]
    assert first.state_label("evaluated") == "Évalué" and first.trigger_label("classify") == "Classement"
    assert first.state_label("nowhere") == "nowhere" and first.trigger_label("nothing") == "nothing"
    assert first.timer_label("review_18_months") == "Examen à 18 mois" and first.timer_label("nothing") == "nothing"
