"""What the template sandbox refuses, found before anything is rendered, and the bounds on what a
template may make.

Letters render in Jinja2's ``ImmutableSandboxedEnvironment``: a template cannot reach Python's
internals (``__class__``, ``__globals__``, ``mro`` …) nor change the values it is given. The
sandbox refuses such access when a template runs; ``unsafe_accesses`` finds it in the parsed
template, so that ``labelwf workflows validate`` refuses the file with its line first.

A template is also bounded in what it makes and in how long it runs: ``'a' * 10**9``, ``10 ** 10 ** 9``, ``'%999999999d'
% 1`` or ``'x' | center(10**9)`` would each take the memory or the time of the process (Jinja
would even compute them while compiling the template, if they are constants). The letters'
environment sends ``*``, ``**`` and ``%`` through ``bounded_binop`` (and so never folds them
while compiling) and every filter through ``bounded_filter``; ``unsafe_accesses`` names the
constant cases in the file first, nested ones included (``(2 ** 100) ** 100000``), and
``nesting_problem`` bounds how deeply a template nests, since compiling it recurses. Each loop turn
and each call (a macro's above all: one that calls itself twice runs in exponential time) takes
a step of a budget of ``MAX_STEPS`` per rendering (``bounded_render``); nested loops over a few
literal lists cannot run for minutes.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import Template, nodes, sandbox
from jinja2.exceptions import SecurityError

MAX_ITEMS = 100_000  # characters or items that one operation of a template may make
MAX_ARGUMENT = 10_000  # an integer given to a filter (a width, a count) or a format's width
MAX_POWER_BITS = 4_096  # the size of an integer power a template may compute
_MISSING = object()
MAX_LETTER = 1_000_000  # characters of one rendered letter, text or HTML (a letter of ten pages: 30,000)
MAX_STEPS = 100_000  # loop turns and calls of one rendering (a letter takes a few hundred)
COUNTED = "_labelwf_counted"  # the global through which the letters' environment runs every loop
_steps: ContextVar[list[int] | None] = ContextVar("labelwf_template_steps", default=None)

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
    """Each (line, reason) where ``tree`` reads an attribute or key that the sandbox refuses, or
    makes, from constants, more than a letter may hold."""
    found = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.BinExpr, nodes.Call)):
        if isinstance(node, nodes.Getattr):
            name: object = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
            name = node.args[0].value if isinstance(node.args[0], nodes.Const) else None
        else:
            reason = _too_large(node)
            if reason is not None:
                found.append((node.lineno, reason))
            continue
        reason = _refused(name) if isinstance(name, str) else None
        if reason is not None:
            found.append((node.lineno, reason))
    return found


def _constant(value: nodes.Expr) -> Any:
    """The value of a literal (a constant, or a list or tuple of constants); ``_MISSING`` otherwise."""
    if isinstance(value, nodes.Const):
        return value.value
    if isinstance(value, nodes.List | nodes.Tuple) and all(isinstance(item, nodes.Const) for item in value.items):
        return [item.value for item in value.items if isinstance(item, nodes.Const)]
    return _MISSING


def _constants(values: list[nodes.Expr]) -> list[Any] | None:
    found = [_constant(value) for value in values]
    return None if any(value is _MISSING for value in found) else found


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "/": lambda a, b: a / b,
    "//": lambda a, b: a // b,
}


def _folded(node: nodes.Expr) -> Any:
    """The value of a constant expression (``(2 ** 100) ** 100000``, ``-3 * 'ab'``), computed within
    the template bounds (``SecurityError`` past them), or ``_MISSING`` when it is not constant or
    cannot be computed. The template's nesting is bounded first (``nesting_problem``)."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.List | nodes.Tuple):
        items = [_folded(item) for item in node.items]
        return _MISSING if any(item is _MISSING for item in items) else items
    if isinstance(node, nodes.Neg | nodes.Pos):
        value = _folded(node.node)
        if type(value) in (int, float):
            return -value if isinstance(node, nodes.Neg) else value
        return _MISSING
    if isinstance(node, nodes.BinExpr):
        left, right = _folded(node.left), _folded(node.right)
        if left is _MISSING or right is _MISSING:
            return _MISSING
        try:
            if node.operator in ("*", "**", "%"):
                return bounded_binop(node.operator, left, right)
            operation = _ARITHMETIC.get(node.operator)
            return _MISSING if operation is None else operation(left, right)
        except (ArithmeticError, TypeError, ValueError):
            return _MISSING
    return _MISSING


MAX_NESTING = 64  # levels of a template's tree (an expression in parentheses in a block in a loop …)


def nesting_problem(tree: nodes.Node) -> str | None:
    """Why ``tree`` nests too deeply for compiling and rendering it safely (both recurse), or None.

    Walked without recursion; a template nested deeper than Python's own recursion limit never
    parses (``RecursionError``, which the checks report as this same problem)."""
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        if level > MAX_NESTING:
            return (
                f"the template nests more than {MAX_NESTING} levels deep (line {getattr(node, 'lineno', '?')}): "
                "write it with fewer nested expressions and blocks"
            )
        stack.extend((child, level + 1) for child in node.iter_child_nodes())
    return None


def _too_large(node: nodes.Node) -> str | None:
    """Why ``node``, an operation on constants, makes more than a letter may hold; None if it does not."""
    if isinstance(node, nodes.BinExpr) and node.operator in ("*", "**", "%"):
        try:
            left, right = _folded(node.left), _folded(node.right)
            if left is not _MISSING and right is not _MISSING:
                bounded_binop(node.operator, left, right)
        except SecurityError as exc:
            return str(exc)
        except ArithmeticError as exc:  # 2.0 ** 10000000 would fail every letter: say so now
            return f"{left!r} {node.operator} {right!r} cannot be computed ({exc}): correct the expression"
        except (TypeError, ValueError):
            return None
    elif isinstance(node, nodes.Filter | nodes.Call):
        args = _constants(list(node.args)) or []
        ranged = isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range"
        if ranged and args and len(args) == len(node.args) and all(type(a) is int for a in args):
            try:
                length = len(range(*args))
            except (TypeError, ValueError):
                return None
            if length > MAX_ITEMS:
                return f"range of {length:,} items: a letter's loop takes at most {MAX_ITEMS:,}"
        big = [a for a in args if type(a) is int and abs(a) > MAX_ARGUMENT]
        if isinstance(node, nodes.Filter) and big:
            return f"filter {node.name!r} given {big[0]:,}: a filter's number is at most {MAX_ARGUMENT:,}"
    return None


_FORMAT_NUMBERS = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")


def bounded_binop(operator: str, left: Any, right: Any, *, compute: bool = True) -> Any:
    """``left operator right`` for the intercepted ``*``, ``**`` and ``%``, refused (``SecurityError``)
    when the result would exceed the bounds above; with ``compute=False``, only the check."""
    if operator == "*":
        if type(left) is int and type(right) is int and left.bit_length() + right.bit_length() > MAX_POWER_BITS:
            bits = left.bit_length() + right.bit_length()
            raise SecurityError(
                f"a product of about {bits:,} bits: a template may compute numbers of at most {MAX_POWER_BITS:,}"
            )
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, str | list | tuple) and type(times) is int and len(sequence) * times > MAX_ITEMS:
                made = len(sequence) * times
                raise SecurityError(
                    f"{type(sequence).__name__} repeated {times:,} times would hold {made:,} items: "
                    f"a template may make at most {MAX_ITEMS:,}"
                )
    elif operator == "**":
        if type(left) is int and type(right) is int and right > 0 and abs(left) > 1:
            bits = right * abs(left).bit_length()
            if bits > MAX_POWER_BITS:
                raise SecurityError(
                    f"{left} ** {right} would be a number of about {bits:,} bits: "
                    f"a template may compute at most {MAX_POWER_BITS:,}"
                )
    elif operator == "%" and isinstance(left, str):
        found = [n for pair in _FORMAT_NUMBERS.findall(left) for n in pair if n]
        if "*" in found:
            raise SecurityError(f"format {left[:40]!r} takes its width from its values ('*'): not in letters")
        widths = [int(n) for n in found]
        if widths and max(widths) > MAX_ARGUMENT:
            raise SecurityError(f"format {left[:40]!r} asks for a width of {max(widths):,}: at most {MAX_ARGUMENT:,}")
    if not compute:
        return None
    return sandbox.ImmutableSandboxedEnvironment.default_binop_table[operator](left, right)


def bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """The filter ``name`` (``function``) refusing a text longer than a letter, an integer argument
    over ``MAX_ARGUMENT`` and a text result over ``MAX_ITEMS`` characters. The value filtered may
    be any number."""
    skipped = 2 if getattr(function, "jinja_pass_arg", None) is not None else 1  # the context, then the value

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        value = args[skipped - 1] if len(args) >= skipped else None
        if isinstance(value, str) and len(value) > MAX_LETTER:
            raise SecurityError(
                f"filter {name!r} given {len(value):,} characters: a letter holds at most {MAX_LETTER:,}"
            )
        if len(args) > skipped or kwargs:  # most filters take the value alone: no tuple built for them
            for argument in (*args[skipped:], *kwargs.values()):
                if type(argument) is int and abs(argument) > MAX_ARGUMENT:
                    raise SecurityError(
                        f"filter {name!r} given {argument:,}: a filter's number is at most {MAX_ARGUMENT:,}"
                    )
        result = function(*args, **kwargs)
        if isinstance(result, str) and len(result) > MAX_ITEMS:
            raise SecurityError(f"filter {name!r} made {len(result):,} characters: at most {MAX_ITEMS:,}")
        return result

    return bounded


def take_step() -> None:
    """Count one loop turn or call of the rendering in progress; ``SecurityError`` past ``MAX_STEPS``."""
    left = _steps.get()
    if left is not None:
        left[0] -= 1
        if left[0] < 0:
            raise SecurityError(f"the letter runs more than {MAX_STEPS:,} loop turns and calls: a loop too large")


def counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """``iterable``, each item taking a step (the letters' environment wraps every loop in it)."""
    for item in iterable:
        take_step()
        yield item


def count_loops(tree: nodes.Template) -> nodes.Template:
    """``tree`` with the iterable of each ``for`` loop passed through ``counted`` (before compiling)."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Call(nodes.Name(COUNTED, "load"), [loop.iter], [], None, None, lineno=loop.iter.lineno)
    return tree


CHECKED_PARTS = 64  # parts of a rendering taken between two checks of its size


def bounded_render(template: Template, context: Any, **names: Any) -> str:
    """``template`` rendered with ``context`` and ``names``, refused (``SecurityError``) as soon as it
    passes ``MAX_LETTER`` characters or ``MAX_STEPS`` steps: a letter that loops cannot fill the
    memory or the outbox, nor hold the process.

    The size is checked every ``CHECKED_PARTS`` parts the template yields (each bounded itself: a
    value, a filter's result, a block's part), not after each: a letter is a few dozen parts, and a
    Python turn per part cost more than the rest of the check."""
    parts: list[str] = []
    size = 0
    budget = _steps.set([MAX_STEPS])
    try:
        made = template.root_render_func(template.new_context({**context, **names}))
        while chunk := list(itertools.islice(made, CHECKED_PARTS)):
            size += sum(map(len, chunk))
            if size > MAX_LETTER:
                raise SecurityError(
                    f"the letter passes {MAX_LETTER:,} characters: a loop or a repeated value too large"
                )
            parts += chunk
    except Exception:
        template.environment.handle_exception()  # re-raised, its traceback pointing at the template's lines
    finally:
        _steps.reset(budget)
    return "".join(parts)
