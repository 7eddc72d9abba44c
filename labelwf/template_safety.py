"""What the template sandbox refuses, found before anything is rendered.

Letters render in Jinja2's ``ImmutableSandboxedEnvironment``: a template cannot reach Python's
internals (``__class__``, ``__globals__``, ``mro`` …) nor change the values it is given. The
sandbox refuses such access when a template runs; ``unsafe_accesses`` finds it in the parsed
template, so that ``labelwf workflows validate`` refuses the file with its line first.
"""

from __future__ import annotations

from jinja2 import nodes, sandbox

# Attributes the sandbox refuses on some object (functions, methods, frames, generators, types).
_INTERNAL = (
    {"mro", "func_code", "func_globals", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_code", "ag_frame"}
    | sandbox.UNSAFE_FUNCTION_ATTRIBUTES
    | sandbox.UNSAFE_METHOD_ATTRIBUTES
    | sandbox.UNSAFE_GENERATOR_ATTRIBUTES
    | sandbox.UNSAFE_COROUTINE_ATTRIBUTES
    | sandbox.UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
)
# Methods that would change a value the template was given (the immutable sandbox refuses them).
_MUTATING = {
    "append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "setdefault", "add", "discard",
    "sort", "reverse", "difference_update", "intersection_update", "symmetric_difference_update",
}  # fmt: skip


def _refused(name: str) -> str | None:
    if name.startswith("_"):
        return f"attribute {name!r}: names starting with '_' are Python internals, refused in letters"
    if name in _INTERNAL:
        return f"attribute {name!r} reaches Python internals, refused in letters"
    if name in _MUTATING:
        return f"method {name!r} would change the values a letter is given, refused in letters"
    return None


def unsafe_accesses(tree: nodes.Template) -> list[tuple[int, str]]:
    """Each (line, reason) where ``tree`` reads an attribute or key that the sandbox refuses."""
    found = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            name: object = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        else:
            continue
        reason = _refused(name) if isinstance(name, str) else None
        if reason is not None:
            found.append((node.lineno, reason))
    return found
