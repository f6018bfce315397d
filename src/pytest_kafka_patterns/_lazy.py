"""PEP 562 lazy exports: a package names where each public name lives, and a name's
module is imported the first time the name is used (``pkg.name`` or ``from pkg import
name``), then cached in the package's namespace.

Used by :mod:`pytest_kafka_patterns` (imported by the plugin in every run) and
:mod:`pytest_kafka_patterns.contracts` (imported by every consumer the harness starts),
so neither pays for what a run does not use.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str,
    namespace: dict[str, Any],
    exports: Mapping[str, Collection[str]],
    before: Callable[[str], None] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose module ``namespace`` is given.

    ``exports`` maps a submodule (relative, e.g. ``"backends.cluster"``) to the names it
    provides. ``before(submodule)``, when given, runs before a submodule is imported.
    An unknown name raises ``AttributeError`` as a module attribute lookup does.
    """
    module_of = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if before is not None:
            before(module)
        value = getattr(import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *module_of])

    return __getattr__, __dir__
