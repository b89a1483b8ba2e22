"""Open registries: where agents, sandbox providers, forges and notification channels
are found by kind.

A plug-in is a distribution that declares an entry point in one of the groups below,
naming a class (or a zero-argument factory) that builds the plug-in, e.g. in its
``pyproject.toml``::

    [project.entry-points."taskyard.agents"]
    opencode = "taskyard_opencode:OpenCodeAgent"

taskyard's own built-ins are declared the same way in taskyard's ``pyproject.toml``,
so a third party's plug-in goes through exactly the path the built-ins do (as
datasette loads its default plug-ins through pluggy). Entry points are loaded on the
first lookup, not at import: the ground floor imports nothing of the layers above.
:meth:`Registry.register` adds one at run time (embedding applications);
:meth:`Registry.reload` sees distributions installed since the first lookup.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any, Generic, Protocol, TypeVar

from taskyard.model.errors import InvalidInput

AGENTS = "taskyard.agents"
SANDBOXES = "taskyard.sandboxes"
FORGES = "taskyard.forges"
CHANNELS = "taskyard.channels"


_REGISTRIES: dict[str, Registry[Any]] = {}  # by group: the first made, the layer's own


class Kinded(Protocol):
    @property
    def kind(self) -> str: ...


T = TypeVar("T", bound=Kinded)


class PluginError(InvalidInput):
    """A plug-in could not be loaded, or a kind has no plug-in."""


class Registry(Generic[T]):
    """Plug-ins of one group, by kind; each built once, on first use."""

    def __init__(self, group: str, what: str) -> None:
        self.group = group
        self.what = what  # "agent kind", "sandbox provider"... for messages
        self._factories: dict[str, Callable[[], T]] = {}
        self._built: dict[str, T] = {}
        self._loaded = False
        self._lock = threading.Lock()
        _REGISTRIES.setdefault(group, self)

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            for point in entry_points(group=self.group):
                # A kind registered at run time wins over an installed one of the same name.
                self._factories.setdefault(point.name, _from_entry_point(point.load, point.value))
            self._loaded = True

    def reload(self) -> None:
        """Forget the installed plug-ins and look them up again on next use.

        Kinds registered at run time are forgotten too; plug-ins already built are
        rebuilt on their next lookup.
        """
        importlib.invalidate_caches()  # new .dist-info directories on sys.path
        with self._lock:
            self._factories.clear()
            self._built.clear()
            self._loaded = False

    def register(self, kind: str, factory: Callable[[], T]) -> None:
        """Add (or replace) the plug-in for ``kind``; ``factory`` builds it once."""
        self._load()
        with self._lock:
            self._factories[kind] = factory
            self._built.pop(kind, None)

    def kinds(self) -> list[str]:
        self._load()
        return sorted(self._factories)

    def __contains__(self, kind: object) -> bool:
        self._load()
        return kind in self._factories

    def get(self, kind: str) -> T:
        self._load()
        with self._lock:
            if kind in self._built:
                return self._built[kind]
            factory = self._factories.get(kind)
            if factory is None:
                raise PluginError(
                    f"No {self.what} '{kind}'. Available: {', '.join(sorted(self._factories))}."
                )
            try:
                plugin = factory()
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(f"The {self.what} '{kind}' failed to load: {exc}") from exc
            if plugin.kind != kind:
                raise PluginError(
                    f"The {self.what} registered as '{kind}' calls itself '{plugin.kind}'."
                )
            self._built[kind] = plugin
            return plugin

    def __iter__(self) -> Iterator[T]:
        return iter([self.get(kind) for kind in self.kinds()])


def kinds_in(group: str) -> list[str]:
    """The kinds ``group`` offers: its registry's, or the installed ones before any
    layer made a registry for it (a template is checked in a process that may never
    run an agent)."""
    registry = _REGISTRIES.get(group)
    if registry is not None:
        return registry.kinds()
    return sorted({point.name for point in entry_points(group=group)})


def require_kind(group: str, what: str, kind: str) -> None:
    """``PluginError`` (listing the kinds there are) unless ``group`` offers ``kind``."""
    kinds = kinds_in(group)
    if kind not in kinds:
        raise PluginError(f"No {what} '{kind}'. Available: {', '.join(kinds)}.")


def _from_entry_point(load: Callable[[], Any], where: str) -> Callable[[], Any]:
    """Builds the plug-in an entry point names (a class or a zero-argument factory)."""

    def build() -> Any:
        target = load()
        if not callable(target):
            raise PluginError(f"Entry point '{where}' names neither a class nor a factory.")
        return target()

    return build
