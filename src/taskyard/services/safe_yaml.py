"""YAML as plain data, bounded: no aliases, a depth cap, JSON's types only.

An alias lets a few hundred bytes expand to gigabytes ("billion laughs") or refer
to itself; no template needs one, so an alias is refused where it appears. Nodes
are counted and nested at most ``MAX_DEPTH`` deep while composing, before anything
is built. Timestamps stay strings and binary or set tags are refused, so what is
loaded can be stored as JSON and read back. libyaml scans (PyYAML's own scanner
takes seconds on a few hundred kB of open brackets).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from taskyard.model.inputs import check_tree

MAX_DEPTH = 32
MAX_NODES = 10_000


class _Bounds:
    """The composer's bounds, ahead of PyYAML's composer in a loader's bases."""

    _depth = 0
    _nodes = 0

    def _refuse(self, problem: str) -> yaml.composer.ComposerError:
        mark = self.peek_event().start_mark  # type: ignore[attr-defined]
        return yaml.composer.ComposerError(None, None, problem, mark)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
            raise self._refuse("aliases (*name) are not allowed")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise self._refuse(f"more than {MAX_NODES} values")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise self._refuse(f"nested deeper than {MAX_DEPTH}")
            return yaml.composer.Composer.compose_node(self, parent, index)  # type: ignore[arg-type]
        finally:
            self._depth -= 1


if yaml.__with_libyaml__:
    # libyaml's scanner: PyYAML's own is quadratic in open brackets ('[[[[...' costs seconds).
    from yaml._yaml import CParser

    class BoundedLoader(_Bounds, yaml.composer.Composer, CParser, SafeConstructor, Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            yaml.composer.Composer.__init__(self)

else:  # pragma: no cover - PyYAML's wheels ship libyaml

    class BoundedLoader(_Bounds, yaml.SafeLoader):  # type: ignore[no-redef]
        pass


def _refuse_tag(loader: Any, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"the tag {node.tag} is not allowed", node.start_mark
    )


# Only what JSON can carry: a timestamp stays the text it was written as.
BoundedLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    yaml.SafeLoader.construct_yaml_str,  # type: ignore[type-var]
)
for _tag in ("binary", "set", "omap", "pairs"):
    BoundedLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)


def load(source: str) -> Any:
    """Parse one YAML document; ``yaml.YAMLError`` for anything refused above."""
    loader = BoundedLoader(source)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    check_tree(data, max_depth=MAX_DEPTH, what="Template")
    return data


def compose(source: str) -> yaml.Node | None:
    """The node tree (for line numbers in errors), under the same bounds."""
    loader = BoundedLoader(source)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()
