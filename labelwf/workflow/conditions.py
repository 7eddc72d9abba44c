"""Transition conditions: a tiny, safe expression language over an instance's data.

A condition is one Python-like expression such as ``data.group == 3`` or
``data.score >= 12 and data.region in ['Bretagne', 'Alsace']``. It may use ``data.<field>``,
literals (numbers, strings, booleans, ``null``/``None``, lists), comparisons, ``in``/``not in``,
``and``/``or``/``not`` and parentheses, at most ``MAX_LENGTH`` characters nested at most
``MAX_DEPTH`` levels (compiling and evaluating recurse). Nothing else is accepted: no calls, no attribute access
beyond ``data.<field>``, so a workflow file can never run code. A field absent from the data reads
as ``None``. Numbers given as text on the command line (``--set group=3``) compare equal to the
number: values are normalised by the caller before evaluation.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_NAMED_CONSTANTS = {"null": None, "None": None, "true": True, "True": True, "false": False, "False": False}


MAX_LENGTH = 2_000  # characters of one condition (the longest shipped one has about 60)
MAX_DEPTH = 32  # nesting of operators and parentheses (``not``, ``and``, comparisons, lists)


class ConditionSyntaxError(ValueError):
    """Raised when a condition is not a valid expression of the condition language."""


@dataclass(frozen=True)
class Condition:
    """A compiled condition: its source text, the data fields it reads, and its predicate."""

    source: str
    fields: frozenset[str]
    predicate: Predicate

    def __call__(self, data: Mapping[str, Any]) -> bool:
        try:
            return bool(self.predicate(data))
        except TypeError:
            # Comparing values of unrelated types (None < 3) means "does not hold", not a crash.
            return False


def compile_condition(source: str) -> Condition:
    """Compile ``source`` into a ``Condition``; raise ``ConditionSyntaxError`` saying what is wrong."""
    if not isinstance(source, str) or not source.strip():
        raise ConditionSyntaxError(f"a condition must be a non-empty expression, got {source!r}")
    if len(source) > MAX_LENGTH:
        raise ConditionSyntaxError(
            f"condition {source[:40]!r}… is {len(source):,} characters long; at most {MAX_LENGTH:,} are allowed "
            "(split the decision into several transitions, or give it a data field)"
        )
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionSyntaxError(f"condition {source!r} is not a valid expression: {exc.msg}") from None
    except (RecursionError, MemoryError):  # Python's parser gives up on deep nesting this way
        raise ConditionSyntaxError(_too_deep(source)) from None
    if _depth(tree.body) > MAX_DEPTH:
        raise ConditionSyntaxError(_too_deep(source))
    fields: set[str] = set()
    predicate = _compile(tree.body, source, fields)
    return Condition(source=source.strip(), fields=frozenset(fields), predicate=predicate)


def _too_deep(source: str) -> str:
    shown = source if len(source) <= 80 else source[:60] + "…"
    return f"condition {shown!r} is nested more than {MAX_DEPTH} levels deep; write it with fewer nested operators"


def _depth(node: ast.AST) -> int:
    """How deeply ``node``'s expression nests (walked without recursion: the tree may be deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:  # past the limit, deeper levels change nothing
            stack.extend((child, level + 1) for child in ast.iter_child_nodes(current) if isinstance(child, ast.expr))
    return deepest


def _compile(node: ast.expr, source: str, fields: set[str]) -> Callable[[Mapping[str, Any]], Any]:
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda data: value
    if isinstance(node, ast.Name) and node.id in _NAMED_CONSTANTS:
        named = _NAMED_CONSTANTS[node.id]
        return lambda data: named
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "data":
        field = node.attr
        fields.add(field)
        return lambda data: data.get(field)
    if isinstance(node, ast.List | ast.Tuple):
        items = [_compile(item, source, fields) for item in node.elts]
        return lambda data: [item(data) for item in items]
    if isinstance(node, ast.BoolOp):
        parts = [_compile(value, source, fields) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda data: all(part(data) for part in parts)
        return lambda data: any(part(data) for part in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _compile(node.operand, source, fields)
        return lambda data: not inner(data)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        negative = -node.operand.value  # type: ignore[operator]
        return lambda data: negative
    if isinstance(node, ast.Compare):
        return _compile_compare(node, source, fields)
    if isinstance(node, ast.Name):
        raise ConditionSyntaxError(
            f"condition {source!r} uses the name {node.id!r}; write data.{node.id} for a data field"
        )
    raise ConditionSyntaxError(
        f"condition {source!r} uses {ast.unparse(node)!r}, which the condition language does not allow; "
        "use data.<field>, literals, comparisons, in, and, or, not"
    )


def _compile_compare(node: ast.Compare, source: str, fields: set[str]) -> Callable[[Mapping[str, Any]], Any]:
    left = _compile(node.left, source, fields)
    steps = []
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        func = _COMPARE.get(type(op))
        if func is None:
            raise ConditionSyntaxError(f"condition {source!r}: comparison {type(op).__name__} is not allowed")
        steps.append((func, _compile(comparator, source, fields)))

    def compare(data: Mapping[str, Any]) -> bool:
        current = left(data)
        for func, right in steps:
            value = right(data)
            if not func(current, value):
                return False
            current = value
        return True

    return compare
