"""The checks of a letter template before any letter is rendered from it: syntax, the variables it
uses, what the sandbox would refuse, what it would make too large, the templates it includes.

``labelwf workflows validate`` and every load of a workflow run them, so that a bad template is
refused with its file and line, not at the first fire that needs it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2
from jinja2 import meta, nodes

from ..errors import Problem
from .render import CONTEXT_NAMES, LAYOUTS, SHARED, layout_path, letter_environment
from .template_safety import MAX_NESTING, nesting_problem, unsafe_accesses

_TOO_DEEP = (
    f"the template nests too deeply to be read (at most {MAX_NESTING} levels): write it with fewer nested expressions"
)


@lru_cache(maxsize=512)
def _analysed(source: str) -> tuple[tuple[tuple[int, str], ...], frozenset[str], tuple[tuple[int, str], ...]]:
    """What checking a template's text finds: its unsafe accesses, its undeclared names and the
    templates it includes or imports by name (line, name). A pure function of the text, so each
    text (a shared layout above all) is parsed once per process."""
    tree = letter_environment(Path(__file__).parent, False).parse(source)
    deep = nesting_problem(tree)
    if deep is not None:  # the walks below recurse: refuse before them
        return ((0, deep),), frozenset(), ()
    included = tuple(
        (node.lineno, str(node.template.value))
        for node in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport))
        if isinstance(node, nodes.Include | nodes.Import | nodes.FromImport) and isinstance(node.template, nodes.Const)
    )
    return tuple(unsafe_accesses(tree)), frozenset(meta.find_undeclared_variables(tree)), included


def check_template(path: Path) -> list[Problem]:
    """Return the problems of one letter template: syntax errors and variables outside the context."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(str(path), None, f"letter template cannot be read: {exc}")]
    problems = []
    layouts = [layout_path(path.parent, layout) for layout in LAYOUTS.values()]
    for layout, found in zip(LAYOUTS.values(), layouts, strict=True):
        if found is None:
            where = f"{path.parent / layout} (or {path.parent.parent / SHARED / layout})"
            problems.append(Problem(where, None, "the shared letter layout is missing"))
    files = [path, *(f for f in layouts if f is not None)]
    try:
        analyses = [_analysed(source)] + [_analysed(f.read_text(encoding="utf-8")) for f in files[1:]]
    except jinja2.TemplateSyntaxError as exc:
        return [Problem(exc.filename or str(path), exc.lineno, f"template syntax error: {exc.message}")]
    except (RecursionError, MemoryError):  # Jinja's parser recurses: a template nested thousands deep
        return [Problem(str(path), None, _TOO_DEEP)]
    for file, (unsafe, _, included) in zip(files, analyses, strict=True):
        problems.extend(Problem(str(file), line or None, reason) for line, reason in unsafe)
        problems.extend(
            Problem(str(file), line, f"includes {name!r}, which is not a template of {path.parent} nor of {SHARED}")
            for line, name in included
            if name.startswith("/") or ".." in name.split("/") or layout_path(path.parent, name) is None
        )
    unknown = sorted(set().union(*(names for _, names, _ in analyses)) - CONTEXT_NAMES)
    return problems + [
        Problem(
            str(path), None, f"template uses undefined variable {name!r}; available: {', '.join(sorted(CONTEXT_NAMES))}"
        )
        for name in unknown
    ]


def check_subject(subject: str, file: str, line: int, letter: str) -> list[Problem]:
    """Return the problems of an inline template (a subject or a recipient's function) of the workflow file."""
    # The letters' own environment: its bounded operators are never folded while compiling, which
    # finding the undeclared variables does (a plain one would compute ``2 ** 10000000`` here).
    env = letter_environment(Path(__file__).parent, False)
    try:
        tree = env.parse(subject)
        deep = nesting_problem(tree)
        if deep is not None:
            return [Problem(file, line, f"letter {letter!r}: subject: {deep}")]
        unknown = sorted(meta.find_undeclared_variables(tree) - CONTEXT_NAMES)
        problems = [Problem(file, line, f"letter {letter!r}: {reason}") for _, reason in unsafe_accesses(tree)]
    except jinja2.TemplateSyntaxError as exc:
        return [Problem(file, line, f"letter {letter!r}: subject is not a valid template: {exc.message}")]
    except (RecursionError, MemoryError):
        return [Problem(file, line, f"letter {letter!r}: subject: {_TOO_DEEP}")]
    return problems + [
        Problem(file, line, f"letter {letter!r}: subject uses undefined variable {name!r}") for name in unknown
    ]
