"""YAML loading that remembers where each key and item came from, for error messages with lines.

Dates stay strings (``2010-01-01`` is parsed by the code that knows its time zone), and a key
given twice in one mapping is reported instead of silently keeping the last value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import Problem


class LineDict(dict[str, Any]):
    """A mapping from a YAML file, with the line of the mapping and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """Return the line of ``key``, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence from a YAML file, with the line of the sequence and of each item."""

    line: int = 0
    item_lines: list[int]


MAX_BYTES = 1024 * 1024  # a workflow or scenario file is a few kilobytes; this leaves room and bounds memory
MAX_DEPTH = 32  # nesting levels of mappings and sequences


class _Loader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps or aliases, bounded in depth, recording lines and duplicate keys.

    Aliases (``*name``) are refused: a few of them nested ("billion laughs") expand a small file
    into gigabytes, and no labelwf file needs them.
    """

    duplicates: list[tuple[str, int]]
    depth: int = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in labelwf files: write the value out", mark
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels; labelwf files need a handful", mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            loader.duplicates.append((str(key), line))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """Load ``path``; return the document and the problems found while reading it (never raises on content)."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, [Problem(name, None, f"file of {size:,} bytes is larger than the {MAX_BYTES:,} bytes allowed")]
        with path.open("rb") as file:  # read at most the bound: a device or a pipe says no size
            data = file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return None, [Problem(name, None, f"file is larger than the {MAX_BYTES:,} bytes allowed")]
        text = data.decode("utf-8")
    except FileNotFoundError:
        return None, [Problem(name, None, "file not found")]
    except UnicodeDecodeError as exc:
        return None, [Problem(name, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    except OSError as exc:
        return None, [Problem(name, None, f"cannot be read: {exc.strerror}")]
    loader = _Loader(text)
    loader.duplicates = []
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        return None, [Problem(name, line, f"not valid YAML: {exc.problem}")]
    except yaml.YAMLError as exc:
        return None, [Problem(name, None, f"not valid YAML: {exc}")]
    except RecursionError:
        return None, [Problem(name, None, f"nested too deeply (at most {MAX_DEPTH} levels)")]
    finally:
        loader.dispose()
    if document is None:
        return None, [Problem(name, None, "the file is empty (or holds only comments); expected a YAML mapping")]
    problems = [Problem(name, line, f"key {key!r} is given twice") for key, line in loader.duplicates]
    return document, problems
