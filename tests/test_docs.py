"""The documentation's examples work as written."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
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


# The README's quick start and docs/operations.md run on a fresh copy of the project: every ```bash
# block in order (```console and ```text blocks show shapes and output and are not run). `./run test`
# is the test suite itself, so its lines are left out.
COPY_IGNORED = (".git", ".venv", "*.db", "*.db-*", "outbox*", "test-artifacts", "audit.key", "*.egg-info")
COPY_IGNORED += ("__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "results")


def bash_blocks(page: Path) -> list[str]:
    """The ```bash blocks of ``page``, in order, without the lines that run the test suite."""
    blocks = re.findall(r"^```bash\n(.*?)^```$", page.read_text(encoding="utf-8"), re.S | re.M)
    return ["\n".join(line for line in b.splitlines() if not line.startswith("./run test")) for b in blocks]


def fresh_copy(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the checkout as a fresh clone has it (sharing this .venv), and an environment
    whose labelwf settings are the copy's own and whose state folder is in ``tmp_path``."""
    # the shared .venv is brought up to date from this checkout first, so that ./run in the copy
    # never reinstalls labelwf from the copy's path (which goes away with tmp_path)
    subprocess.run([str(ROOT / "run"), "labelwf", "--help"], check=True, capture_output=True)
    copy = tmp_path / "labelwf"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*COPY_IGNORED), symlinks=True)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELWF_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return copy, env


def run_in_order(blocks: list[str], copy: Path, env: dict[str, str], what: str) -> None:
    """Run ``blocks`` in one shell, as a reader types them into one terminal; every command must exit 0."""
    script = "\n".join(f": block {number}\n{block}" for number, block in enumerate(blocks, start=1))
    done = subprocess.run(
        ["bash", "-euxo", "pipefail", "-c", script], cwd=copy, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{what}: a command exited {done.returncode}:\n{done.stderr[-3000:]}"


def test_the_quick_start_and_the_operations_page_run_in_order_on_a_fresh_copy(tmp_path: Path) -> None:
    copy, env = fresh_copy(tmp_path)
    before = {p.relative_to(copy) for p in copy.rglob("*")}
    run_in_order(["./run"], copy, env, "./run")
    readme, operations = bash_blocks(copy / "README.md"), bash_blocks(copy / "docs" / "operations.md")
    assert len(readme) >= 4 and len(operations) >= 7, "the pages lost their command blocks"
    run_in_order(readme, copy, env, "README.md")
    run_in_order(operations, copy, env, "docs/operations.md")
    # the checkpoint went to the state folder, outside the checkout, and git sees nothing new
    assert list((tmp_path / "state" / "labelwf" / "checkpoints").rglob("*.json"))
    new = [
        f"{p.relative_to(copy)}{'/' if p.is_dir() else ''}"
        for p in copy.rglob("*")
        if p.relative_to(copy) not in before
    ]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(new), capture_output=True, text=True
    ).stdout.split()
    folders = tuple(i for i in ignored if i.endswith("/"))
    assert [p for p in new if p not in ignored and not p.startswith(folders)] == []


def test_run_asks_before_erasing_an_operator_s_decision_and_keeps_it_without_a_terminal(tmp_path: Path) -> None:
    copy, env = fresh_copy(tmp_path)
    run_in_order(
        ["./run", "./run labelwf fire vegepolys review_satisfactory --actor DGCIS --reason Examen"], copy, env, "setup"
    )

    def replay(answer: str | None) -> subprocess.CompletedProcess[str]:
        if answer is None:  # no terminal: CI, a pipe
            return subprocess.run(
                ["./run"], cwd=copy, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
            )
        terminal, keyboard = pty.openpty()
        os.write(terminal, answer.encode() + b"\n")
        try:
            return subprocess.run(["./run"], cwd=copy, env=env, stdin=keyboard, capture_output=True, text=True)
        finally:
            os.close(terminal), os.close(keyboard)

    def state() -> str:
        shown = subprocess.run(
            ["./run", "labelwf", "show", "vegepolys", "--json"], cwd=copy, env=env, capture_output=True
        )
        return str(json.loads(shown.stdout)["state"])

    piped = replay(None)
    assert piped.returncode == 2 and "not a terminal: kept labelwf.db" in piped.stderr
    assert state() == "contract"
    refused = replay("n")
    assert refused.returncode == 2 and "erase it and replay? [y/N]" in refused.stderr
    assert state() == "contract"
    accepted = replay("y")
    assert accepted.returncode == 0, accepted.stderr
    assert state() == "review"
