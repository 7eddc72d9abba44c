"""A workflow version change shows the letters' legal basis and Télérecours as it shows the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

from labelwf import load_workflow
from labelwf.workflow.diff import diff
from tests.conftest import ROOT
from tests.test_workflow_diff import edited

LF05 = "l’article 24 de la loi n° 2004-1484 du 30 décembre 2004 de finances pour 2005"


def test_a_changed_legal_basis_shows_in_the_version_change_with_its_text_and_source(tmp_path: Path) -> None:
    # Given version 2 cites another text on the letterhead
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(ROOT / "workflows" / "poles-2008.yaml", folder / "poles-2008.yaml")
    v2 = edited(folder, 2, (f'    - text: "{LF05}"\n', '    - text: "l’article 1er de la loi n° 2099-1"\n'))
    templates = ROOT / "templates"
    # When the two versions are compared
    found = diff(load_workflow(folder / "poles-2008.yaml", templates), load_workflow(v2, templates))
    # Then the settings' change names the letterhead's legal basis, before and after
    changed = [c for c in found.settings if c.what == "letterhead.legal_basis"]
    assert len(changed) == 1
    assert changed[0].before == (f"{LF05} [LF05-24]",)
    assert changed[0].after == ("l’article 1er de la loi n° 2099-1 [LF05-24]",)
