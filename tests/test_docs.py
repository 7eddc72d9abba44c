"""The documentation's examples work as written."""

from __future__ import annotations

import re
from pathlib import Path

from labelwf import load_workflow
from tests.conftest import ROOT


def test_the_example_workflow_of_the_format_guide_loads(tmp_path: Path) -> None:
    guide = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(workflow: .*?)```", guide, re.S)
    assert example, "docs/workflows.md lost its complete example"
    (tmp_path / "workflows").mkdir()
    path = tmp_path / "workflows" / "quality-label.yaml"
    path.write_text(example.group(1), encoding="utf-8")
    folder = tmp_path / "templates" / "quality-label"
    folder.mkdir(parents=True)
    for layout in ("_layout.txt.j2", "_layout.html.j2"):
        (folder / layout).write_text("{{ entity.name }} {% block corps %}{% endblock %}\n", encoding="utf-8")
    for letter in ("label_granted", "label_expired"):
        (folder / f"{letter}.j2").write_text(
            "{% extends layout %}{% block corps %}{{ date_fr }}{% endblock %}\n", encoding="utf-8"
        )
    workflow = load_workflow(path)
    assert workflow.key == "quality-label@1"
    assert workflow.triggers_from("applied") == ("decide",)
